using System.Buffers;
using Parley.Xmpp.Core;

namespace Parley.Xmpp.Xml;

/// <summary>What <see cref="XmlStreamParser.TryRead"/> found.</summary>
internal enum XmlStreamEventKind
{
    /// <summary>The stream's opening tag; the element carries its attributes, no children.</summary>
    StreamHeader,
    /// <summary>A complete top-level element (a stanza or a stream-level element such as features).</summary>
    Element,
    /// <summary>The closing <c>&lt;/stream:stream&gt;</c>.</summary>
    StreamEnd,
    /// <summary>
    /// A top-level element that broke a per-stanza limit and was skipped; <see cref="XmlStreamParser.RefusalReason"/> says
    /// which. The element is the stanza's envelope (its name, from, to, id and type, no children), or null when even that
    /// could not be read.
    /// </summary>
    Refused,
}

/// <summary>
/// Incremental, limit-enforcing XML parser for one XMPP stream. Feed it the bytes read so far; it
/// returns whole top-level elements. CONTRACT:
/// <list type="bullet">
/// <item>On <see langword="true"/>, <c>buffer</c> is sliced past the bytes consumed.</item>
/// <item>On <see langword="false"/>, more bytes are needed. <c>buffer</c> is unchanged, except that white space between
///   top-level elements (keep-alives) and a complete XML declaration are consumed. The parser remembers how far it examined,
///   so the next call must pass a buffer that starts where this one now starts (with more bytes appended).</item>
/// <item>Malformed input, DTDs, entity declarations, comments, processing instructions (other than the XML declaration at the
///   start), restricted characters, invalid UTF-8, an oversize stream header and a top-level element over
///   <see cref="XmlLimits.MaxSkippedStanzaBytes"/> throw <see cref="XmppProtocolException"/>; the parser is unusable afterwards
///   (the stream must be closed).</item>
/// <item>A well-formed top-level element that breaks a per-stanza limit of <see cref="XmlLimits"/> is consumed and reported as
///   <see cref="XmlStreamEventKind.Refused"/>; the stream goes on.</item>
/// <item>A stanza's root is made by the <see cref="IStanzaRootFactory"/> given, so message/presence/iq can become typed stanzas.</item>
/// </list>
/// </summary>
/// <remarks>
/// Two passes over each top-level item, each linear:
/// <list type="number">
/// <item>A resumable scanner (<see cref="Scan"/>, <c>XmlStreamParser.Scanner.cs</c>) finds where the current item ends. It keeps only a few fields of state
///   (lexical state, depth, bytes examined), so a stanza that trickles in over many reads is scanned once in total, never
///   from the start again; it notes a stanza over <see cref="XmlLimits.MaxStanzaBytes"/> or <see cref="XmlLimits.MaxDepth"/>
///   for refusal, closes the stream beyond <see cref="XmlLimits.MaxSkippedStanzaBytes"/> of bytes buffered so far, and
///   rejects DTDs, comments and processing instructions as soon as they appear.</item>
/// <item>Once the item is complete, the tree builder (<c>XmlStreamParser.Tree.cs</c>) validates UTF-8 and characters and
///   builds the elements from the contiguous bytes in one pass (a multi-segment item is first copied to a pooled buffer).
///   Its concerns have their own files: names and namespaces (<c>.Names.cs</c>), text, attribute values and references
///   (<c>.Text.cs</c>), character and declaration checks (<c>.Validation.cs</c>), the stream element's own tags
///   (<c>.StreamElement.cs</c>); stanzas over a per-stanza limit are refused in <c>.Refusal.cs</c>.</item>
/// </list>
/// This keeps the builder free of suspension points, which is what makes it fast, at the price of looking at the
/// markup bytes twice.
/// </remarks>
internal sealed partial class XmlStreamParser
{
    private static readonly SearchValues<byte> TagNameStops = SearchValues.Create(" \t\r\n/>"u8);

    /// <summary>Stanzas whose root has a longer name than this take the scanner's path (see <see cref="TryBuildBuffered"/>).</summary>
    private const int MaxBufferedRootNameLength = 64;

    private readonly XmlLimits _limits;
    private readonly IStanzaRootFactory? _stanzaRoots;
    private readonly int _maxSkippedBytes;

    private Phase _phase;
    private bool _declarationAllowed;
    private bool _pendingStreamEnd;
    private long _offset;

    private ItemKind _item;
    private ScanState _state;
    private int _scanned;
    private int _depth;

    // Where the last root end tag found by TryBuildBuffered's completeness test ends (a stream offset), and its name.
    private long _knownEndTagEnd;
    private readonly byte[] _knownEndTagName = new byte[MaxBufferedRootNameLength];
    private int _knownEndTagNameLength;

    /// <summary>Creates a parser for one stream.</summary>
    /// <param name="limits">The limits to enforce.</param>
    /// <param name="stanzaRoots">Makes typed stanza roots; without it every element is a plain <see cref="XmppElement"/>.</param>
    public XmlStreamParser(XmlLimits limits, IStanzaRootFactory? stanzaRoots = null)
    {
        ArgumentNullException.ThrowIfNull(limits);
        _limits = limits;
        _stanzaRoots = stanzaRoots;
        _maxSkippedBytes = Math.Max(limits.MaxStanzaBytes, limits.MaxSkippedStanzaBytes);
        _frames = new Frame[Math.Min(Math.Max(limits.MaxDepth, 1), 256) + 1];
        Reset();
    }

    private enum Phase : byte
    {
        BeforeHeader,
        InStream,
        Closed,
    }

    private enum ItemKind : byte
    {
        None,
        Unclassified,
        Declaration,
        Header,
        Element,
        StreamEnd,
    }

    private enum ScanState : byte
    {
        Content,
        TagOpen,
        StartTag,
        TagSlash,
        AttributeValue,
        EndTag,
        Bang,
        CData,
        Declaration,
    }

    /// <summary>How many bytes the scanner has examined since construction (a diagnostic: it must grow linearly with the input).</summary>
    internal long BytesScanned { get; private set; }

    /// <summary>The default namespace declared on the stream header (e.g. <c>jabber:client</c>), once the header was read.</summary>
    public string? StreamNamespace { get; private set; }

    /// <summary>Reads the next stream event from <paramref name="buffer"/>.</summary>
    /// <param name="buffer">The bytes received and not yet consumed; sliced past what was consumed.</param>
    /// <param name="kind">What was read.</param>
    /// <param name="element">The stream header or the top-level element; <see langword="null"/> for the stream end.</param>
    /// <returns><see langword="true"/> when an event was read; <see langword="false"/> when more bytes are needed.</returns>
    /// <exception cref="XmppProtocolException">The peer sent malformed or forbidden XML, or exceeded a limit.</exception>
    public bool TryRead(ref ReadOnlySequence<byte> buffer, out XmlStreamEventKind kind, out XmppElement? element)
    {
        element = null;
        kind = default;
        if (_pendingStreamEnd)
        {
            // The header was self-closing (<stream:stream .../>): the stream ends right after it.
            _pendingStreamEnd = false;
            _phase = Phase.Closed;
            kind = XmlStreamEventKind.StreamEnd;
            return true;
        }

        while (true)
        {
            if (_item == ItemKind.None)
            {
                if (!TryBeginItem(ref buffer))
                {
                    return false;
                }

                if (TryBuildBuffered(ref buffer, out element))
                {
                    kind = XmlStreamEventKind.Element;
                    return true;
                }
            }

            if (!Scan(buffer))
            {
                return false;
            }

            var length = _scanned;
            var item = _item;
            var itemOffset = _offset;
            _item = ItemKind.None;
            _scanned = 0;

            byte[]? rented = null;
            try
            {
                ReadOnlySpan<byte> data;
                if (buffer.FirstSpan.Length >= length)
                {
                    data = buffer.FirstSpan[..length];
                }
                else
                {
                    rented = ArrayPool<byte>.Shared.Rent(length);
                    buffer.Slice(0, length).CopyTo(rented);
                    data = rented.AsSpan(0, length);
                }

                switch (item)
                {
                    case ItemKind.Declaration:
                        ParseDeclaration(data, itemOffset);
                        break;
                    case ItemKind.Header:
                        element = ParseHeader(data, itemOffset, out _pendingStreamEnd);
                        kind = XmlStreamEventKind.StreamHeader;
                        _phase = Phase.InStream;
                        break;
                    case ItemKind.Element:
                        element = ReadStanza(data, itemOffset, out kind);
                        break;
                    default:
                        ParseStreamEnd(data, itemOffset);
                        kind = XmlStreamEventKind.StreamEnd;
                        _phase = Phase.Closed;
                        break;
                }
            }
            finally
            {
                if (rented is not null)
                {
                    ArrayPool<byte>.Shared.Return(rented);
                }
            }

            buffer = buffer.Slice(length);
            _offset += length;
            if (item != ItemKind.Declaration)
            {
                return true;
            }
        }
    }

    /// <summary>Forgets all state: a new stream starts (after STARTTLS or SASL success).</summary>
    public void Reset()
    {
        StreamNamespace = null;
        _phase = Phase.BeforeHeader;
        _declarationAllowed = true;
        _pendingStreamEnd = false;
        _offset = 0;
        _item = ItemKind.None;
        _scanned = 0;
        _depth = 0;
        _streamNamespaceCount = 0;
        _namespaceCount = 0;
        _streamQName = null;
        _knownEndTagEnd = 0;
        _knownEndTagNameLength = 0;
        _refusal = null;
    }

    /// <summary>Skips white space at stream level and starts scanning the item at the first <c>&lt;</c>.</summary>
    private bool TryBeginItem(ref ReadOnlySequence<byte> buffer)
    {
        if (_declarationAllowed && _offset == 0 && !buffer.IsEmpty && !TrySkipByteOrderMark(ref buffer))
        {
            return false;
        }

        if (buffer.FirstSpan is [(byte)'<', ..] && _phase != Phase.Closed)
        {
            // The common case: the next item starts right away.
            StartItem();
            return true;
        }

        long whitespace = 0;
        var next = -1;
        foreach (var memory in buffer)
        {
            var span = memory.Span;
            var i = span.IndexOfAnyExcept(XmlChars.WhitespaceBytes);
            if (i < 0)
            {
                whitespace += span.Length;
                continue;
            }

            whitespace += i;
            next = span[i];
            break;
        }

        if (whitespace > 0)
        {
            buffer = buffer.Slice(whitespace);
            _offset += whitespace;
            _declarationAllowed = false;
        }

        if (next < 0)
        {
            return false;
        }

        if (next != '<')
        {
            throw _phase switch
            {
                Phase.InStream => Error("Character data is not allowed between top-level elements", _offset, "bad-format"),
                Phase.Closed => Error("Data after the end of the stream", _offset),
                _ => Error($"Expected '<' to open the stream but found byte 0x{next:X2}", _offset),
            };
        }

        if (_phase == Phase.Closed)
        {
            throw Error("Data after the end of the stream", _offset);
        }

        StartItem();
        return true;
    }

    private void StartItem()
    {
        _item = ItemKind.Unclassified;
        _state = ScanState.TagOpen;
        _scanned = 1;
        _depth = 0;
        _refusal = null;
    }

    /// <summary>
    /// The fast path for a stanza that is already whole in the first segment (the usual case when one read delivers
    /// several stanzas): the tree builder runs straight away and finds the stanza's end itself, so its bytes are not
    /// scanned first. Returns false, having consumed nothing, when the stanza is or may be incomplete, or is malformed
    /// in any way; the scanner then takes the item from its first byte, so every error is the one the scanner
    /// reports. Runs once per item, so a stanza that trickles in is still examined a bounded number of times.
    /// </summary>
    private bool TryBuildBuffered(ref ReadOnlySequence<byte> buffer, out XmppElement? element)
    {
        element = null;
        var span = buffer.FirstSpan;
        if (_phase != Phase.InStream || span.Length < 2 || span[1] is (byte)'/' or (byte)'!' or (byte)'?')
        {
            return false;
        }

        if (span.Length > _limits.MaxStanzaBytes)
        {
            span = span[.._limits.MaxStanzaBytes];
        }

        // A cheap test for completeness: the root's end tag, "</name>" as the start tag spells the name, must be in the
        // span. A self-closing root and "</name >" are left to the scanner. A match can still be the end tag of a nested
        // element of the same name, or of a later stanza when this one is malformed; the builder then throws, and the
        // scanner decides. The search finds the last such end tag in the span and remembers where it is, so the stanzas
        // before it pass the test without searching again: one search per read, not one per stanza.
        var nameLength = span[1..].IndexOfAny(TagNameStops);
        if (nameLength <= 0 || nameLength > MaxBufferedRootNameLength)
        {
            return false;
        }

        var name = span.Slice(1, nameLength);
        if (_knownEndTagEnd - _offset <= nameLength + 3
            || _knownEndTagEnd - _offset > span.Length
            || !name.SequenceEqual(_knownEndTagName.AsSpan(0, _knownEndTagNameLength)))
        {
            Span<byte> endTag = stackalloc byte[MaxBufferedRootNameLength + 3];
            endTag[0] = (byte)'<';
            endTag[1] = (byte)'/';
            name.CopyTo(endTag[2..]);
            endTag[nameLength + 2] = (byte)'>';
            var last = span.LastIndexOf(endTag[..(nameLength + 3)]);
            if (last < 0)
            {
                return false;
            }

            _knownEndTagEnd = _offset + last + nameLength + 3;
            name.CopyTo(_knownEndTagName);
            _knownEndTagNameLength = nameLength;
        }

        XmppElement root;
        int length;
        try
        {
            root = BuildStanza(span, _offset, out length);
        }
        catch (XmppProtocolException)
        {
            // Incomplete (the end tag found was a nested one), malformed or over a limit: the scanner's path decides
            // which, and throws or refuses as it would have without this path.
            _refusal = null;
            return false;
        }

        // The regular path validates the whole item before building it and would throw this same error.
        ValidateCharacters(span[..length], _offset);
        buffer = buffer.Slice(length);
        _offset += length;
        _item = ItemKind.None;
        _scanned = 0;
        element = root;
        return true;
    }

    /// <summary>Skips a UTF-8 byte order mark at the very start of the stream; false when more bytes are needed to tell.</summary>
    private bool TrySkipByteOrderMark(ref ReadOnlySequence<byte> buffer)
    {
        if (buffer.FirstSpan is [var first, ..] && first != 0xEF)
        {
            return true;
        }

        Span<byte> head = stackalloc byte[3];
        var available = (int)Math.Min(buffer.Length, 3);
        buffer.Slice(0, available).CopyTo(head);
        if (head[0] != 0xEF)
        {
            return true;
        }

        if ((available >= 2 && head[1] != 0xBB) || (available == 3 && head[2] != 0xBF))
        {
            throw Error("The stream does not start with '<'", 0);
        }

        if (available < 3)
        {
            return false;
        }

        buffer = buffer.Slice(3);
        _offset = 3;
        return true;
    }

    private static XmppProtocolException Error(string message, long offset, string condition = "not-well-formed")
        => new($"{message} (at byte {offset} of the stream).", condition);
}
