using System.Buffers;

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
/// <item>message/presence/iq in <c>jabber:client</c> or <c>jabber:component:accept</c> become <see cref="Stanzas.Message"/>,
///   <see cref="Stanzas.Presence"/> and <see cref="Stanzas.Iq"/>.</item>
/// </list>
/// </summary>
/// <remarks>
/// Two passes over each top-level item, each linear:
/// <list type="number">
/// <item>A resumable scanner (<see cref="Scan"/>) finds where the current item ends. It keeps only a few fields of state
///   (lexical state, depth, bytes examined), so a stanza that trickles in over many reads is scanned once in total, never
///   from the start again; it notes a stanza over <see cref="XmlLimits.MaxStanzaBytes"/> or <see cref="XmlLimits.MaxDepth"/>
///   for refusal, closes the stream beyond <see cref="XmlLimits.MaxSkippedStanzaBytes"/> of bytes buffered so far, and
///   rejects DTDs, comments and processing instructions as soon as they appear.</item>
/// <item>Once the item is complete, the tree builder (<c>XmlStreamParser.Tree.cs</c>) validates UTF-8 and characters and
///   builds the elements from the contiguous bytes in one pass (a multi-segment item is first copied to a pooled buffer).</item>
/// </list>
/// This keeps the builder free of suspension points, which is what makes it fast, at the price of looking at the
/// markup bytes twice.
/// </remarks>
internal sealed partial class XmlStreamParser
{
    private static readonly SearchValues<byte> StartTagStops = SearchValues.Create("\"'/<>"u8);
    private static readonly SearchValues<byte> TagNameStops = SearchValues.Create(" \t\r\n/>"u8);
    private static ReadOnlySpan<byte> CDataOpen => "[CDATA["u8;

    /// <summary>Stanzas whose root has a longer name than this take the scanner's path (see <see cref="TryBuildBuffered"/>).</summary>
    private const int MaxBufferedRootNameLength = 64;

    private readonly XmlLimits _limits;
    private readonly int _maxSkippedBytes;

    private Phase _phase;
    private bool _declarationAllowed;
    private bool _pendingStreamEnd;
    private long _offset;

    private ItemKind _item;
    private ScanState _state;
    private int _scanned;
    private int _depth;
    private byte _quote;
    private int _matched;

    // Where the last root end tag found by TryBuildBuffered's completeness test ends (a stream offset), and its name.
    private long _knownEndTagEnd;
    private readonly byte[] _knownEndTagName = new byte[MaxBufferedRootNameLength];
    private int _knownEndTagNameLength;

    /// <summary>Creates a parser for one stream.</summary>
    /// <param name="limits">The limits to enforce.</param>
    public XmlStreamParser(XmlLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        _limits = limits;
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
        RefusalReason = null;
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
    /// in any way; the scanner then takes the item from its first byte as before, and so reports every error exactly
    /// as it always did. Runs once per item, so a stanza that trickles in is still examined a bounded number of times.
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

    /// <summary>
    /// Advances the scanner over the bytes of the current item not examined yet. Returns true when the item is complete
    /// (its length is then <see cref="_scanned"/>), false when more bytes are needed.
    /// </summary>
    private bool Scan(in ReadOnlySequence<byte> buffer)
    {
        if (buffer.IsSingleSegment)
        {
            return ScanSpan(buffer.FirstSpan[_scanned..]);
        }

        foreach (var memory in buffer.Slice(_scanned))
        {
            if (ScanSpan(memory.Span))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Scans the next bytes of the item; the hot states keep their state in locals and write it back on exit.</summary>
    private bool ScanSpan(ReadOnlySpan<byte> span)
    {
        var spanStart = _scanned;
        var state = _state;
        var depth = _depth;
        var i = 0;
        while (i < span.Length)
        {
            int index;
            var complete = false;
            switch (state)
            {
                case ScanState.Content:
                    index = span[i..].IndexOf((byte)'<');
                    if (index < 0)
                    {
                        i = span.Length;
                        break;
                    }

                    i += index + 1;
                    state = ScanState.TagOpen;
                    break;

                case ScanState.TagOpen:
                    var next = span[i];
                    if (_item == ItemKind.Element && next == '/')
                    {
                        i++;
                        state = ScanState.EndTag;
                    }
                    else if (_item == ItemKind.Element && next != '!' && next != '?')
                    {
                        if (depth >= _limits.MaxDepth)
                        {
                            RefuseTooDeep();
                        }

                        i++;
                        state = ScanState.StartTag;
                    }
                    else
                    {
                        _depth = depth;
                        i = ScanTagOpen(next, i + 1, spanStart);
                        state = _state;
                    }

                    break;

                case ScanState.StartTag:
                    index = span[i..].IndexOfAny(StartTagStops);
                    if (index < 0)
                    {
                        i = span.Length;
                        break;
                    }

                    i += index + 1;
                    switch (span[i - 1])
                    {
                        case (byte)'"' or (byte)'\'':
                            _quote = span[i - 1];
                            state = ScanState.AttributeValue;
                            break;
                        case (byte)'/':
                            state = ScanState.TagSlash;
                            break;
                        case (byte)'<':
                            throw Error("'<' inside a tag", _offset + spanStart + i - 1);
                        default:
                            if (_item == ItemKind.Header)
                            {
                                complete = true;
                            }
                            else
                            {
                                depth++;
                                state = ScanState.Content;
                            }

                            break;
                    }

                    break;

                case ScanState.TagSlash:
                    if (span[i++] != '>')
                    {
                        throw Error("Expected '>' after '/' in a tag", _offset + spanStart + i - 1);
                    }

                    complete = _item == ItemKind.Header || depth == 0;
                    state = ScanState.Content;
                    break;

                case ScanState.AttributeValue:
                    index = span[i..].IndexOfAny(_quote, (byte)'<');
                    if (index < 0)
                    {
                        i = span.Length;
                        break;
                    }

                    i += index + 1;
                    if (span[i - 1] == '<')
                    {
                        throw Error("'<' in an attribute value", _offset + spanStart + i - 1);
                    }

                    state = ScanState.StartTag;
                    break;

                case ScanState.EndTag:
                    index = span[i..].IndexOfAny((byte)'>', (byte)'<');
                    if (index < 0)
                    {
                        i = span.Length;
                        break;
                    }

                    i += index + 1;
                    if (span[i - 1] == '<')
                    {
                        throw Error("'<' inside an end tag", _offset + spanStart + i - 1);
                    }

                    complete = _item == ItemKind.StreamEnd || --depth == 0;
                    state = ScanState.Content;
                    break;

                default:
                    _state = state;
                    _depth = depth;
                    i = ScanRare(span, i, spanStart);
                    if (i < 0)
                    {
                        i = ~i;
                        complete = true;
                    }

                    state = _state;
                    break;
            }

            if (complete)
            {
                _state = state;
                _depth = depth;
                return Complete(spanStart + i);
            }
        }

        _state = state;
        _depth = depth;
        BytesScanned += span.Length;
        _scanned = spanStart + span.Length;
        CheckSize(_scanned);
        return false;
    }

    /// <summary>One step in a CDATA section, after "&lt;!" or in the XML declaration; returns the next index, or its complement when the item is complete.</summary>
    private int ScanRare(ReadOnlySpan<byte> span, int i, int spanStart)
    {
        switch (_state)
        {
            case ScanState.Bang:
                ScanBang(span[i], _offset + spanStart + i);
                return i + 1;

            case ScanState.CData:
                if (_matched == 0)
                {
                    var index = span[i..].IndexOf((byte)']');
                    if (index < 0)
                    {
                        return span.Length;
                    }

                    _matched = 1;
                    return i + index + 1;
                }

                var b = span[i];
                if (b == ']')
                {
                    _matched = 2;
                }
                else if (b == '>' && _matched == 2)
                {
                    _state = ScanState.Content;
                    _matched = 0;
                }
                else
                {
                    _matched = 0;
                }

                return i + 1;

            default:
                // XML declaration: ends at "?>"; _matched remembers a '?' seen at the end of the previous read.
                var c = span[i];
                if (c == '>' && _matched == 1)
                {
                    return ~(i + 1);
                }

                if (c == '<')
                {
                    throw Error("'<' inside the XML declaration", _offset + spanStart + i);
                }

                _matched = c == '?' ? 1 : 0;
                return i + 1;
        }
    }

    private bool Complete(int length)
    {
        BytesScanned += length - _scanned;
        _scanned = length;
        CheckSize(length);
        return true;
    }

    /// <summary>Handles the byte after a '&lt;'; returns the index to continue at.</summary>
    private int ScanTagOpen(byte b, int next, int spanStart)
    {
        var offset = _offset + spanStart + next - 1;
        if (_item == ItemKind.Unclassified)
        {
            _item = b switch
            {
                (byte)'/' when _phase == Phase.InStream => ItemKind.StreamEnd,
                (byte)'/' => throw Error("An end tag before the stream header", offset),
                (byte)'?' when _declarationAllowed => ItemKind.Declaration,
                (byte)'?' => throw Error("Processing instructions are not allowed in XMPP", offset, "restricted-xml"),
                (byte)'!' => ItemKind.Element,
                _ when _phase == Phase.InStream => ItemKind.Element,
                _ => ItemKind.Header,
            };
            _declarationAllowed = false;
        }

        switch (b)
        {
            case (byte)'/':
                _state = ScanState.EndTag;
                break;
            case (byte)'!':
                _state = ScanState.Bang;
                _matched = 0;
                break;
            case (byte)'?':
                if (_item != ItemKind.Declaration)
                {
                    throw Error("Processing instructions are not allowed in XMPP", offset, "restricted-xml");
                }

                _state = ScanState.Declaration;
                _matched = 0;
                break;
            default:
                if (_item == ItemKind.Element && _depth >= _limits.MaxDepth)
                {
                    RefuseTooDeep();
                }

                _state = ScanState.StartTag;
                break;
        }

        return next;
    }

    /// <summary>Matches "&lt;![CDATA[" one byte at a time (it may be split between reads); everything else after "&lt;!" is refused.</summary>
    private void ScanBang(byte b, long offset)
    {
        if (_matched == 0)
        {
            if (b == '-')
            {
                throw Error("Comments are not allowed in XMPP", offset - 2, "restricted-xml");
            }

            if (b is >= (byte)'A' and <= (byte)'Z')
            {
                throw Error("Document type and entity declarations (<!DOCTYPE, <!ENTITY) are not allowed in XMPP", offset - 2, "restricted-xml");
            }

            if (_depth == 0)
            {
                throw Error("A CDATA section is not allowed between top-level elements", offset - 2);
            }
        }

        if (b != CDataOpen[_matched])
        {
            throw Error("Malformed markup after '<!'", offset - 2 - _matched);
        }

        if (++_matched == CDataOpen.Length)
        {
            _state = ScanState.CData;
            _matched = 0;
        }
    }

    private static XmppProtocolException Error(string message, long offset, string condition = "not-well-formed")
        => new($"{message} (at byte {offset} of the stream).", condition);
}
