using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.Unicode;
using Parley.Xmpp.Stanzas;

namespace Parley.Xmpp.Xml;

/// <summary>The tree builder: turns the complete bytes of one item (found by the scanner) into elements, validating as it goes.</summary>
internal sealed partial class XmlStreamParser
{
    private const int RetainedCharBufferLength = 16 * 1024;
    private const int RetainedChildStackLength = 1024;
    private const int RecentNameBits = 6;

    private static readonly SearchValues<byte> AttributeValueSpecials = SearchValues.Create("&<\t\n\r"u8);
    private static readonly SearchValues<byte> TextSpecials = SearchValues.Create("&\r"u8);
    private static readonly SearchValues<byte> TextSpecialsOrGreaterThan = SearchValues.Create("&\r>"u8);

    // What ends a plain attribute value or text run, or makes it need a closer look; one search finds the end of the
    // usual value or run and tells that it is plain.
    private static readonly SearchValues<byte> SingleQuotedValueStops = SearchValues.Create("'&<\t\n\r"u8);
    private static readonly SearchValues<byte> DoubleQuotedValueStops = SearchValues.Create("\"&<\t\n\r"u8);
    private static readonly SearchValues<byte> TextStops = SearchValues.Create("<&\r>"u8);
    private static readonly SearchValues<char> WhitespaceChars = SearchValues.Create(" \t\r\n");

    private readonly XmlNameTable _names = new();
    private Frame[] _frames;
    private int _frameCount;
    private NamespaceBinding[] _namespaces = new NamespaceBinding[8];
    private int _namespaceCount;
    private int _streamNamespaceCount;
    private AttributeSlot[] _attributes = new AttributeSlot[8];
    private char[] _chars = new char[256];
    private int _charCount;

    // The children of the open elements, innermost last: an element's children are collected here and moved into one
    // exact-size array when it closes.
    private XmppElement[] _childStack = new XmppElement[16];
    private int _childStackCount;

    private readonly RecentName?[] _recentNames = new RecentName?[1 << RecentNameBits];
    private byte[]? _streamQName;

    /// <summary>Whether and how an attribute value is shared through the name table.</summary>
    private enum Intern : byte
    {
        /// <summary>A new string every time (ids, stamps, values that rarely repeat).</summary>
        None,
        /// <summary>Looked up among the well-known names, then in the parser's cache (types, languages, namespaces).</summary>
        WellKnown,
        /// <summary>Looked up in the parser's cache only (addresses).</summary>
        Cached,
    }

    private enum TextMode : byte
    {
        None,
        /// <summary>One run without references or CR so far, still in the input (decoded straight into the string at the end).</summary>
        Simple,
        /// <summary>Decoded into <see cref="_chars"/> from <see cref="Frame.TextStart"/>.</summary>
        Buffered,
    }

    private XmppElement ParseHeader(ReadOnlySpan<byte> data, long offset, out bool selfClosing)
    {
        ValidateCharacters(data, offset);
        _namespaceCount = 0;
        _charCount = 0;
        var pos = 0;
        var header = ParseStartTag(data, ref pos, offset, depth: 0, out selfClosing, out var nameStart, out var nameLength, out _);
        ExpectEnd(data, pos, offset);
        if (header.Name != "stream")
        {
            throw Error($"The stream root element is <{header.Name}>, expected <stream:stream>", offset, "bad-format");
        }

        if (header.Namespace != XmppNamespaces.Streams)
        {
            throw Error($"The stream element is in namespace '{header.Namespace}', expected '{XmppNamespaces.Streams}'", offset, "invalid-namespace");
        }

        // The header's declarations stay in scope for the whole stream; keep copies of their prefixes.
        for (var i = 0; i < _namespaceCount; i++)
        {
            ref var binding = ref _namespaces[i];
            binding.Prefix = data.Slice(binding.PrefixStart, binding.PrefixLength).ToArray();
        }

        _streamNamespaceCount = _namespaceCount;
        _streamQName = data.Slice(nameStart, nameLength).ToArray();
        StreamNamespace = null;
        for (var i = _namespaceCount - 1; i >= 0; i--)
        {
            if (_namespaces[i].PrefixLength == 0)
            {
                StreamNamespace = _namespaces[i].Uri;
                break;
            }
        }

        return header;
    }

    private void ParseStreamEnd(ReadOnlySpan<byte> data, long offset)
    {
        ValidateCharacters(data, offset);
        var pos = 2;
        ParseName(data, ref pos, offset);
        var name = data[2..pos];
        if (_streamQName is null || !name.SequenceEqual(_streamQName))
        {
            throw Error($"Mismatched end tag </{Encoding.UTF8.GetString(name)}> for the stream element", offset);
        }

        SkipWhitespace(data, ref pos);
        ExpectByte(data, pos, (byte)'>', offset);
        ExpectEnd(data, pos + 1, offset);
    }

    private XmppElement ParseStanza(ReadOnlySpan<byte> data, long offset)
    {
        ValidateCharacters(data, offset);
        if (data.Length > 1 && data[1] == '!')
        {
            // The scanner refuses comments, DTDs and CDATA at stream level before they get here.
            throw Error("Unexpected markup between top-level elements", offset);
        }

        var root = BuildStanza(data, offset, out var length);
        ExpectEnd(data, length, offset);
        return root;
    }

    /// <summary>
    /// Builds the top-level element that starts at the beginning of <paramref name="data"/> and returns it with its
    /// length in bytes (<paramref name="length"/>); bytes after it are not looked at. Throws when the element is malformed
    /// or <paramref name="data"/> ends before it does.
    /// </summary>
    private XmppElement BuildStanza(ReadOnlySpan<byte> data, long offset, out int length)
    {
        _namespaceCount = _streamNamespaceCount;
        _charCount = 0;
        _frameCount = 0;
        if (_childStackCount > 0)
        {
            // An earlier attempt threw halfway.
            Array.Clear(_childStack, 0, _childStackCount);
            _childStackCount = 0;
        }

        var pos = 0;
        var root = ParseStartTag(data, ref pos, offset, depth: 1, out var selfClosing, out var nameStart, out var nameLength, out var mark);
        if (selfClosing)
        {
            _namespaceCount = mark;
        }
        else
        {
            PushFrame(root, nameStart, nameLength, mark);
            while (_frameCount > 0)
            {
                var rest = data[pos..];

                // Between two tags (the usual case after an end tag or an empty element) there is nothing to search.
                var lt = rest is [(byte)'<', ..] ? 0 : rest.IndexOfAny(TextStops);
                var plain = true;
                if (lt >= 0 && rest[lt] != '<')
                {
                    plain = false;
                    var next = rest[lt..].IndexOf((byte)'<');
                    lt = next < 0 ? -1 : lt + next;
                }

                if (lt < 0)
                {
                    throw Error("Unexpected end of the element", offset + data.Length);
                }

                if (lt > 0)
                {
                    AppendTextRun(ref _frames[_frameCount - 1], data, pos, lt, offset, plain);
                    pos += lt;
                }

                if (pos + 1 >= data.Length)
                {
                    throw Error("Unexpected end of the element", offset + data.Length);
                }

                switch (data[pos + 1])
                {
                    case (byte)'/':
                        ParseEndTag(data, ref pos, offset);
                        break;
                    case (byte)'!':
                        AppendCData(ref _frames[_frameCount - 1], data, ref pos, offset);
                        break;
                    case (byte)'?':
                        throw Error("Processing instructions are not allowed in XMPP", offset + pos, "restricted-xml");
                    default:
                        var child = ParseStartTag(data, ref pos, offset, _frameCount + 1, out selfClosing, out nameStart, out nameLength, out mark);
                        if (_childStackCount == _childStack.Length)
                        {
                            Array.Resize(ref _childStack, _childStackCount * 2);
                        }

                        _childStack[_childStackCount++] = child;
                        if (selfClosing)
                        {
                            _namespaceCount = mark;
                        }
                        else
                        {
                            PushFrame(child, nameStart, nameLength, mark);
                        }

                        break;
                }
            }
        }

        if (_chars.Length > RetainedCharBufferLength)
        {
            // Do not keep a large buffer alive for the life of the connection because of one large stanza.
            _chars = new char[256];
        }

        if (_childStack.Length > RetainedChildStackLength)
        {
            _childStack = new XmppElement[16];
        }

        length = pos;
        return root;
    }

    /// <summary>Parses a start tag at <paramref name="pos"/> (on its '&lt;'), declares its namespaces and creates its element.</summary>
    private XmppElement ParseStartTag(ReadOnlySpan<byte> data, ref int pos, long offset, int depth, out bool selfClosing, out int nameStart, out int nameLength, out int namespaceMark)
    {
        if (depth > _limits.MaxDepth)
        {
            throw LimitError($"Elements are nested deeper than the limit of {_limits.MaxDepth}", offset + pos);
        }

        pos++;
        nameStart = pos;
        int colon;
        string? localName = null;
        if (TryRecentName(data, pos, out var recent))
        {
            pos += recent.Length;
            colon = recent.Colon < 0 ? -1 : nameStart + recent.Colon;
            localName = recent.LocalName;
        }
        else
        {
            colon = ParseName(data, ref pos, offset);
        }

        nameLength = pos - nameStart;

        var count = 0;
        while (true)
        {
            var whitespace = SkipWhitespace(data, ref pos);
            if (pos >= data.Length)
            {
                throw Error("Unexpected end of a start tag", offset + pos);
            }

            var b = data[pos];
            if (b == '>')
            {
                pos++;
                selfClosing = false;
                break;
            }

            if (b == '/')
            {
                ExpectByte(data, pos + 1, (byte)'>', offset);
                pos += 2;
                selfClosing = true;
                break;
            }

            if (whitespace == 0)
            {
                throw Error("Expected white space before an attribute", offset + pos);
            }

            if (count >= _limits.MaxAttributes)
            {
                throw LimitError($"An element has more than the limit of {_limits.MaxAttributes} attributes", offset + pos);
            }

            if (count == _attributes.Length)
            {
                Array.Resize(ref _attributes, count * 2);
            }

            ref var attribute = ref _attributes[count];
            attribute.NameStart = pos;
            if (TryRecentName(data, pos, out recent))
            {
                pos += recent.Length;
                attribute.Colon = recent.Colon < 0 ? -1 : attribute.NameStart + recent.Colon;
                attribute.Name = recent.QName;
            }
            else
            {
                attribute.Colon = ParseName(data, ref pos, offset);
                attribute.Name = null;
            }

            attribute.NameLength = pos - attribute.NameStart;
            var name = data.Slice(attribute.NameStart, attribute.NameLength);
            for (var i = 0; i < count; i++)
            {
                ref var other = ref _attributes[i];
                if (other.NameLength == attribute.NameLength && data[other.NameStart] == data[attribute.NameStart]
                    && data.Slice(other.NameStart, other.NameLength).SequenceEqual(name))
                {
                    throw Error($"Duplicate attribute '{Encoding.UTF8.GetString(name)}'", offset + attribute.NameStart);
                }
            }

            SkipWhitespace(data, ref pos);
            ExpectByte(data, pos, (byte)'=', offset);
            pos++;
            SkipWhitespace(data, ref pos);
            if (pos >= data.Length || data[pos] is not ((byte)'"' or (byte)'\''))
            {
                throw Error("Expected a quoted attribute value", offset + pos);
            }

            var quote = data[pos++];
            var rest = data[pos..];
            var length = rest.IndexOfAny(quote == '"' ? DoubleQuotedValueStops : SingleQuotedValueStops);
            attribute.IsPlain = true;
            if (length >= 0 && rest[length] != quote)
            {
                attribute.IsPlain = false;
                var close = rest[length..].IndexOf(quote);
                length = close < 0 ? -1 : length + close;
            }

            if (length < 0)
            {
                throw Error("Unterminated attribute value", offset + pos);
            }

            attribute.ValueStart = pos;
            attribute.ValueLength = length;
            pos += length + 1;
            attribute.IsDeclaration = attribute.Colon < 0
                ? name.SequenceEqual("xmlns"u8)
                : attribute.Colon - attribute.NameStart == 5 && name.StartsWith("xmlns"u8);
            count++;
        }

        namespaceMark = _namespaceCount;
        var declarations = 0;
        for (var i = 0; i < count; i++)
        {
            if (_attributes[i].IsDeclaration)
            {
                Declare(data, ref _attributes[i], offset);
                declarations++;
            }
        }

        var localStart = colon < 0 ? nameStart : colon + 1;
        var ns = ResolvePrefix(data, nameStart, colon < 0 ? 0 : colon - nameStart, offset);
        if (localName is null)
        {
            localName = _names.Get(data[localStart..(nameStart + nameLength)]);
            RememberName(data, nameStart, nameLength, colon, localName);
        }

        var element = CreateElement(localName, ns, depth);
        var attributes = count > declarations ? new XmlAttribute[count - declarations] : null;
        var added = 0;

        for (var i = 0; i < count; i++)
        {
            ref var attribute = ref _attributes[i];
            if (attribute.IsDeclaration)
            {
                continue;
            }

            if (attribute.Colon >= 0)
            {
                // Two prefixed attributes with the same local name must not resolve to the same namespace.
                attribute.Namespace = ResolvePrefix(data, attribute.NameStart, attribute.Colon - attribute.NameStart, offset);
                var local = data[(attribute.Colon + 1)..(attribute.NameStart + attribute.NameLength)];
                for (var j = 0; j < i; j++)
                {
                    ref var other = ref _attributes[j];
                    if (!other.IsDeclaration && other.Colon >= 0 && other.Namespace == attribute.Namespace
                        && data[(other.Colon + 1)..(other.NameStart + other.NameLength)].SequenceEqual(local))
                    {
                        throw Error("Two attributes with the same namespace and local name", offset + attribute.NameStart);
                    }
                }
            }

            var name = attribute.Name;
            if (name is null)
            {
                name = _names.Get(data.Slice(attribute.NameStart, attribute.NameLength));
                RememberName(data, attribute.NameStart, attribute.NameLength, attribute.Colon, name);
            }

            var value = DecodeAttributeValue(
                data.Slice(attribute.ValueStart, attribute.ValueLength),
                offset + attribute.ValueStart,
                InternedValueKind(name),
                attribute.IsPlain);
            attributes![added++] = new XmlAttribute(name, value);
        }

        if (attributes is not null)
        {
            element.SetParsedAttributes(attributes);
        }

        return element;
    }

    /// <summary>
    /// Whether the name at <paramref name="pos"/> is one of the short names parsed recently, recognized by its bytes and
    /// the byte after it in one 8-byte comparison, which then need neither parsing nor a name-table lookup.
    /// </summary>
    private bool TryRecentName(ReadOnlySpan<byte> data, int pos, [NotNullWhen(true)] out RecentName? recent)
    {
        if (data.Length - pos >= sizeof(ulong))
        {
            var bytes = BinaryPrimitives.ReadUInt64LittleEndian(data[pos..]);
            recent = _recentNames[RecentNameIndex(bytes)];
            if (recent is not null && (bytes & recent.Mask) == recent.Key)
            {
                return true;
            }
        }

        recent = null;
        return false;
    }

    /// <summary>
    /// Remembers a name of up to 7 bytes that <see cref="ParseName"/> accepted, with the ASCII byte after it (which ended
    /// it, so it is not a name character): the same bytes followed by the same byte are the same valid name again.
    /// </summary>
    private void RememberName(ReadOnlySpan<byte> data, int start, int length, int colon, string knownName)
    {
        // A non-ASCII byte after the name may start a character that is a name character in other bytes' company.
        if (length >= sizeof(ulong) || data.Length - start < sizeof(ulong) || data[start + length] >= 0x80)
        {
            return;
        }

        // The name and the byte after it: 2 to 8 bytes (a shift by 64 would be a shift by 0).
        var mask = length == sizeof(ulong) - 1 ? ulong.MaxValue : (1UL << ((length + 1) * 8)) - 1;
        var bytes = BinaryPrimitives.ReadUInt64LittleEndian(data[start..]);
        var name = data.Slice(start, length);
        string qname, localName;
        if (colon < 0)
        {
            qname = localName = knownName;
        }
        else
        {
            qname = _names.Get(name);
            localName = _names.Get(data[(colon + 1)..(start + length)]);
        }

        _recentNames[RecentNameIndex(bytes)] = new RecentName(bytes & mask, mask, length, colon < 0 ? -1 : colon - start, qname, localName);
    }

    /// <summary>
    /// The slot for a name, from the first four bytes at its start (for a shorter name they include the byte after it and
    /// what follows, usually the same again: '="' or "='").
    /// </summary>
    private static int RecentNameIndex(ulong bytes) => (int)((uint)bytes * 0x9E3779B1u >> (32 - RecentNameBits));

    /// <summary>
    /// Attributes whose values repeat from stanza to stanza: the type, the language, and the addresses (a client hears
    /// from a handful of peers and is always addressed the same way). Their strings are shared through the name table's
    /// cache instead of being allocated for every stanza; a value not cached costs what it did before.
    /// </summary>
    private static Intern InternedValueKind(string name)
        => ReferenceEquals(name, "from") || ReferenceEquals(name, "to") ? Intern.Cached
            : ReferenceEquals(name, "type") || ReferenceEquals(name, "xml:lang") ? Intern.WellKnown
            : Intern.None;

    private static XmppElement CreateElement(string name, string ns, int depth)
    {
        if (depth == 1 && (ns == XmppNamespaces.Client || ns == XmppNamespaces.Component))
        {
            switch (name)
            {
                case "message":
                    return new Message(ns);
                case "presence":
                    return new Presence(ns);
                case "iq":
                    return new Iq(ns);
            }
        }

        return new XmppElement(name, ns, nameChecked: true);
    }

    private void Declare(ReadOnlySpan<byte> data, ref AttributeSlot attribute, long offset)
    {
        var uri = DecodeAttributeValue(data.Slice(attribute.ValueStart, attribute.ValueLength), offset + attribute.ValueStart, Intern.WellKnown, attribute.IsPlain);
        int prefixStart = 0, prefixLength = 0;
        if (attribute.Colon >= 0)
        {
            prefixStart = attribute.Colon + 1;
            prefixLength = attribute.NameStart + attribute.NameLength - prefixStart;
            var prefix = data.Slice(prefixStart, prefixLength);
            if (prefix.SequenceEqual("xmlns"u8))
            {
                throw Error("The prefix 'xmlns' must not be declared", offset + attribute.NameStart);
            }

            if (prefix.SequenceEqual("xml"u8))
            {
                if (uri != XmlChars.XmlNamespace)
                {
                    throw Error("The prefix 'xml' must not be bound to another namespace", offset + attribute.NameStart);
                }

                return;
            }

            if (uri.Length == 0)
            {
                throw Error($"The prefix '{Encoding.UTF8.GetString(prefix)}' is declared with an empty namespace", offset + attribute.NameStart);
            }
        }

        if (uri is XmlChars.XmlNamespace or "http://www.w3.org/2000/xmlns/")
        {
            throw Error($"The namespace '{uri}' must not be declared", offset + attribute.NameStart);
        }

        if (_namespaceCount == _namespaces.Length)
        {
            Array.Resize(ref _namespaces, _namespaceCount * 2);
        }

        _namespaces[_namespaceCount++] = new NamespaceBinding { PrefixStart = prefixStart, PrefixLength = prefixLength, Uri = uri };
    }

    private string ResolvePrefix(ReadOnlySpan<byte> data, int prefixStart, int prefixLength, long offset)
    {
        if (prefixLength == 0)
        {
            for (var i = _namespaceCount - 1; i >= 0; i--)
            {
                if (_namespaces[i].PrefixLength == 0)
                {
                    return _namespaces[i].Uri;
                }
            }

            return string.Empty;
        }

        var prefix = data.Slice(prefixStart, prefixLength);
        if (prefix.SequenceEqual("xml"u8))
        {
            return XmlChars.XmlNamespace;
        }

        for (var i = _namespaceCount - 1; i >= 0; i--)
        {
            ref var binding = ref _namespaces[i];
            if (binding.PrefixLength == prefixLength
                && (binding.Prefix is { } owned ? owned.AsSpan() : data.Slice(binding.PrefixStart, binding.PrefixLength)).SequenceEqual(prefix))
            {
                return binding.Uri;
            }
        }

        throw Error($"The namespace prefix '{Encoding.UTF8.GetString(prefix)}' is not declared", offset + prefixStart);
    }

    private void ParseEndTag(ReadOnlySpan<byte> data, ref int pos, long offset)
    {
        ref var frame = ref _frames[_frameCount - 1];
        var start = pos;
        var nameStart = pos + 2;
        var expected = data.Slice(frame.NameStart, frame.NameLength);
        var close = nameStart + frame.NameLength;
        if (close < data.Length && data[close] == '>' && data.Slice(nameStart, frame.NameLength).SequenceEqual(expected))
        {
            // The usual "</name>": the start tag's name was already checked, so the bytes need no parsing.
            pos = close + 1;
        }
        else
        {
            pos = nameStart;
            ParseName(data, ref pos, offset);
            if (!data[nameStart..pos].SequenceEqual(expected))
            {
                throw Error(
                    $"Mismatched end tag </{Encoding.UTF8.GetString(data[nameStart..pos])}> for <{Encoding.UTF8.GetString(expected)}>",
                    offset + start);
            }

            SkipWhitespace(data, ref pos);
            ExpectByte(data, pos, (byte)'>', offset);
            pos++;
        }

        string? text = null;
        var element = frame.Element;
        var childCount = _childStackCount - frame.ChildStart;
        if (childCount > 0)
        {
            element.SetParsedChildren(_childStack.AsSpan(frame.ChildStart, childCount).ToArray());
            Array.Clear(_childStack, frame.ChildStart, childCount);
            _childStackCount = frame.ChildStart;
        }

        if (frame.Mode == TextMode.Simple)
        {
            var run = data.Slice(frame.RunStart, frame.RunLength);
            if (childCount == 0 || run.IndexOfAnyExcept(XmlChars.WhitespaceBytes) >= 0)
            {
                text = DecodeString(run);
            }
        }
        else if (frame.Mode == TextMode.Buffered)
        {
            var chars = _chars.AsSpan(frame.TextStart, _charCount - frame.TextStart);
            if (!chars.IsEmpty && (childCount == 0 || chars.IndexOfAnyExcept(WhitespaceChars) >= 0))
            {
                text = new string(chars);
            }

            _charCount = frame.TextStart;
        }

        if (text is not null)
        {
            element.Text = text;
        }

        _namespaceCount = frame.NamespaceMark;
        frame = default;
        _frameCount--;
    }

    private void PushFrame(XmppElement element, int nameStart, int nameLength, int namespaceMark)
    {
        if (_frameCount == _frames.Length)
        {
            Array.Resize(ref _frames, _frameCount * 2);
        }

        _frames[_frameCount++] = new Frame
        {
            Element = element,
            NameStart = nameStart,
            NameLength = nameLength,
            NamespaceMark = namespaceMark,
            TextStart = _charCount,
            ChildStart = _childStackCount,
        };
    }

    /// <summary>Adds a run of character data; <paramref name="plain"/> says it holds no '&amp;', CR or '&gt;'.</summary>
    private void AppendTextRun(ref Frame frame, ReadOnlySpan<byte> data, int start, int length, long offset, bool plain)
    {
        var run = data.Slice(start, length);
        if (!plain && run.Contains((byte)'>'))
        {
            var bad = run.IndexOf("]]>"u8);
            if (bad >= 0)
            {
                throw Error("']]>' is not allowed in character data", offset + start + bad);
            }
        }

        if (frame.Mode == TextMode.None && (plain || !run.ContainsAny(TextSpecials)))
        {
            frame.Mode = TextMode.Simple;
            frame.RunStart = start;
            frame.RunLength = length;
            return;
        }

        BufferText(ref frame, data);
        AppendDecoded(run, offset + start, attribute: false);
    }

    private void AppendCData(ref Frame frame, ReadOnlySpan<byte> data, ref int pos, long offset)
    {
        if (!data[pos..].StartsWith("<![CDATA["u8))
        {
            throw Error("Comments and markup declarations are not allowed in XMPP", offset + pos, "restricted-xml");
        }

        var contentStart = pos + 9;
        var length = data[contentStart..].IndexOf("]]>"u8);
        if (length < 0)
        {
            throw Error("Unterminated CDATA section", offset + pos);
        }

        BufferText(ref frame, data);
        var content = data.Slice(contentStart, length);
        while (!content.IsEmpty)
        {
            // CDATA is literal except for line-end normalization (CR LF and lone CR become LF).
            var cr = content.IndexOf((byte)'\r');
            AppendUtf8(cr < 0 ? content : content[..cr]);
            if (cr < 0)
            {
                break;
            }

            AppendChar('\n');
            content = content[(cr + 1)..];
            if (content is [(byte)'\n', ..])
            {
                content = content[1..];
            }
        }

        pos = contentStart + length + 3;
    }

    /// <summary>Moves the element's text so far into the char buffer, so that more can be appended.</summary>
    private void BufferText(ref Frame frame, ReadOnlySpan<byte> data)
    {
        if (frame.Mode == TextMode.Simple)
        {
            AppendUtf8(data.Slice(frame.RunStart, frame.RunLength));
        }

        frame.Mode = TextMode.Buffered;
    }

    /// <summary>Decodes an attribute value; <paramref name="plain"/> says it is known to hold no reference, '&lt;', tab or line end.</summary>
    private string DecodeAttributeValue(ReadOnlySpan<byte> raw, long offset, Intern intern, bool plain)
    {
        if (plain || !raw.ContainsAny(AttributeValueSpecials))
        {
            // Characters never outnumber bytes, so the count is needed only when the bytes exceed the limit.
            if (raw.Length > _limits.MaxAttributeLength && Encoding.UTF8.GetCharCount(raw) > _limits.MaxAttributeLength)
            {
                throw AttributeTooLong(offset);
            }

            return intern != Intern.None ? _names.Get(raw, wellKnown: intern == Intern.WellKnown)
                : raw.IsEmpty ? string.Empty : DecodeString(raw);
        }

        var start = _charCount;
        AppendDecoded(raw, offset, attribute: true);
        var length = _charCount - start;
        _charCount = start;
        return length > _limits.MaxAttributeLength ? throw AttributeTooLong(offset) : new string(_chars, start, length);
    }

    private XmppProtocolException AttributeTooLong(long offset)
        => LimitError($"An attribute value is longer than the limit of {_limits.MaxAttributeLength} characters", offset);

    /// <summary>Appends text or an attribute value with references resolved and line ends (and, in attributes, white space) normalized.</summary>
    private void AppendDecoded(ReadOnlySpan<byte> raw, long offset, bool attribute)
    {
        var specials = attribute ? AttributeValueSpecials : TextSpecials;
        var consumed = 0;
        while (consumed < raw.Length)
        {
            var rest = raw[consumed..];
            var index = rest.IndexOfAny(specials);
            if (index != 0)
            {
                AppendUtf8(index < 0 ? rest : rest[..index]);
                if (index < 0)
                {
                    return;
                }

                consumed += index;
            }

            switch (raw[consumed])
            {
                case (byte)'&':
                    consumed += AppendReference(raw[consumed..], offset + consumed);
                    break;
                case (byte)'\r':
                    AppendChar(attribute ? ' ' : '\n');
                    consumed++;
                    if (consumed < raw.Length && raw[consumed] == '\n')
                    {
                        consumed++;
                    }

                    break;
                case (byte)'<':
                    throw Error("'<' in an attribute value", offset + consumed);
                default:
                    // Tab or LF in an attribute value (attribute-value normalization).
                    AppendChar(' ');
                    consumed++;
                    break;
            }
        }
    }

    /// <summary>Resolves a reference starting at '&amp;'; returns its length in bytes.</summary>
    private int AppendReference(ReadOnlySpan<byte> s, long offset)
    {
        // The references text usually has, recognized without looking for the semicolon first.
        if (s.StartsWith("&lt;"u8) || s.StartsWith("&gt;"u8))
        {
            AppendChar(s[1] == 'l' ? '<' : '>');
            return 4;
        }

        if (s.StartsWith("&amp;"u8))
        {
            AppendChar('&');
            return 5;
        }

        if (s.StartsWith("&quot;"u8) || s.StartsWith("&apos;"u8))
        {
            AppendChar(s[1] == 'q' ? '"' : '\'');
            return 6;
        }

        var semicolon = s[..Math.Min(s.Length, 64)].IndexOf((byte)';');
        if (semicolon < 2)
        {
            throw Error("'&' that does not start a reference (write it as &amp;)", offset);
        }

        var body = s[1..semicolon];
        if (body[0] == '#')
        {
            var value = ParseCharacterReference(body[1..]);
            if (value < 0)
            {
                throw Error($"Malformed character reference '{Encoding.UTF8.GetString(s[..(semicolon + 1)])}'", offset);
            }

            if (!XmlChars.IsXmlChar(value))
            {
                throw Error($"Character reference to U+{value:X4}, which is not allowed in XML", offset);
            }

            if (value < 0x10000)
            {
                AppendChar((char)value);
            }
            else
            {
                EnsureChars(2);
                _charCount += new Rune(value).EncodeToUtf16(_chars.AsSpan(_charCount));
            }

            return semicolon + 1;
        }

        var c = body switch
        {
            _ when body.SequenceEqual("amp"u8) => '&',
            _ when body.SequenceEqual("lt"u8) => '<',
            _ when body.SequenceEqual("gt"u8) => '>',
            _ when body.SequenceEqual("quot"u8) => '"',
            _ when body.SequenceEqual("apos"u8) => '\'',
            _ => '\0',
        };
        if (c == '\0')
        {
            throw XmlChars.IsAsciiNameStart(body[0]) || body[0] >= 0x80
                ? Error($"Entity reference '&{Encoding.UTF8.GetString(body)};' is not allowed in XMPP (only the five predefined entities are)", offset, "restricted-xml")
                : Error("'&' that does not start a reference (write it as &amp;)", offset);
        }

        AppendChar(c);
        return semicolon + 1;
    }

    /// <summary>Parses the digits of <c>&amp;#...;</c>; -1 when malformed, 0x110000 when too large.</summary>
    private static int ParseCharacterReference(ReadOnlySpan<byte> digits)
    {
        var hex = digits is [(byte)'x', ..];
        if (hex)
        {
            digits = digits[1..];
        }

        if (digits.IsEmpty)
        {
            return -1;
        }

        var value = 0;
        foreach (var d in digits)
        {
            int digit;
            if (d is >= (byte)'0' and <= (byte)'9')
            {
                digit = d - '0';
            }
            else if (hex && (d | 0x20) is >= (byte)'a' and <= (byte)'f')
            {
                digit = (d | 0x20) - 'a' + 10;
            }
            else
            {
                return -1;
            }

            value = Math.Min((value * (hex ? 16 : 10)) + digit, 0x110000);
        }

        return value;
    }

    /// <summary>Parses an XML name (QName); returns the index of its colon, or -1.</summary>
    private int ParseName(ReadOnlySpan<byte> data, ref int pos, long offset)
    {
        var classes = XmlChars.ByteNameClasses;
        var start = pos;
        var colon = -1;
        if (pos < data.Length && (classes[data[pos]] & XmlChars.ByteNameStart) != 0)
        {
            pos++;
        }
        else if (!TryNameChar(data, ref pos, start: true))
        {
            throw pos >= data.Length
                ? Error("Unexpected end of input where a name was expected", offset + pos)
                : Error($"Invalid character in a name (byte 0x{data[pos]:X2})", offset + pos);
        }

        while (pos < data.Length)
        {
            var b = data[pos];
            var kind = classes[b];
            if ((kind & XmlChars.ByteNameChar) != 0)
            {
                pos++;
            }
            else if (b == ':')
            {
                if (colon >= 0)
                {
                    throw Error("A name contains more than one colon", offset + pos);
                }

                colon = pos++;
                if (!TryNameChar(data, ref pos, start: true))
                {
                    throw Error("Invalid local name after a colon", offset + pos);
                }
            }
            else if (kind != XmlChars.ByteNonAscii || !TryNameChar(data, ref pos, start: false))
            {
                break;
            }
        }

        if (pos - start > _limits.MaxNameLength)
        {
            throw LimitError($"A name is longer than the limit of {_limits.MaxNameLength} bytes", offset + start);
        }

        return colon;
    }

    private static bool TryNameChar(ReadOnlySpan<byte> data, ref int pos, bool start)
    {
        if (pos >= data.Length)
        {
            return false;
        }

        var b = data[pos];
        if (b < 0x80)
        {
            if (start ? XmlChars.IsAsciiNameStart(b) : XmlChars.IsAsciiNameChar(b))
            {
                pos++;
                return true;
            }

            return false;
        }

        // The item was validated as UTF-8 before parsing, so decoding cannot fail here.
        Rune.DecodeFromUtf8(data[pos..], out var rune, out var length);
        if (start ? XmlChars.IsNameStartChar(rune.Value) : XmlChars.IsNameChar(rune.Value))
        {
            pos += length;
            return true;
        }

        return false;
    }

    private void ParseDeclaration(ReadOnlySpan<byte> data, long offset)
    {
        ValidateCharacters(data, offset);
        if (data.Length < 6 || !data.StartsWith("<?xml"u8) || !XmlChars.IsWhitespace(data[5]))
        {
            throw Error("Processing instructions are not allowed in XMPP", offset, "restricted-xml");
        }

        var pos = 5;
        var stage = 0;
        while (true)
        {
            var whitespace = SkipWhitespace(data, ref pos);
            if (pos < data.Length && data[pos] == '?')
            {
                ExpectByte(data, pos + 1, (byte)'>', offset);
                ExpectEnd(data, pos + 2, offset);
                break;
            }

            if (whitespace == 0)
            {
                throw Error("Malformed XML declaration", offset + pos);
            }

            var nameStart = pos;
            while (pos < data.Length && data[pos] is >= (byte)'a' and <= (byte)'z')
            {
                pos++;
            }

            var name = data[nameStart..pos];
            SkipWhitespace(data, ref pos);
            ExpectByte(data, pos, (byte)'=', offset);
            pos++;
            SkipWhitespace(data, ref pos);
            if (pos >= data.Length || data[pos] is not ((byte)'"' or (byte)'\''))
            {
                throw Error("Malformed XML declaration", offset + pos);
            }

            var quote = data[pos++];
            var length = data[pos..].IndexOf(quote);
            if (length < 0)
            {
                throw Error("Malformed XML declaration", offset + pos);
            }

            var value = data.Slice(pos, length);
            pos += length + 1;
            if (stage == 0 && name.SequenceEqual("version"u8))
            {
                if (value.Length < 3 || !value.StartsWith("1."u8) || value[2..].ContainsAnyExceptInRange((byte)'0', (byte)'9'))
                {
                    throw Error($"Unsupported XML version '{Encoding.UTF8.GetString(value)}'", offset + pos);
                }

                stage = 1;
            }
            else if (stage == 1 && name.SequenceEqual("encoding"u8))
            {
                if (!Ascii.EqualsIgnoreCase(value, "UTF-8"u8))
                {
                    throw Error($"Unsupported encoding '{Encoding.UTF8.GetString(value)}'; XMPP uses UTF-8", offset + pos, "unsupported-encoding");
                }

                stage = 2;
            }
            else if (stage is 1 or 2 && name.SequenceEqual("standalone"u8))
            {
                if (!value.SequenceEqual("yes"u8) && !value.SequenceEqual("no"u8))
                {
                    throw Error("Malformed XML declaration", offset + pos);
                }

                stage = 3;
            }
            else
            {
                throw Error("Malformed XML declaration", offset + nameStart);
            }
        }

        if (stage == 0)
        {
            throw Error("The XML declaration has no version", offset);
        }
    }

    /// <summary>Rejects invalid UTF-8 and characters that XML 1.0 does not allow, over the whole item at once.</summary>
    private static void ValidateCharacters(ReadOnlySpan<byte> data, long offset)
    {
        // Printable ASCII (the common case) needs no further look, and neither does a printable ASCII prefix.
        var first = data.IndexOfAnyExceptInRange((byte)0x20, (byte)0x7F);
        if (first < 0)
        {
            return;
        }

        data = data[first..];
        offset += first;
        if (IsValidSparse(data))
        {
            return;
        }

        if (!Utf8.IsValid(data))
        {
            for (var i = 0; i < data.Length;)
            {
                if (Rune.DecodeFromUtf8(data[i..], out _, out var length) != OperationStatus.Done)
                {
                    throw Error("Invalid UTF-8", offset + i);
                }

                i += length;
            }
        }

        var control = data.IndexOfAny(XmlChars.RestrictedControlBytes);
        if (control >= 0)
        {
            throw Error($"The character U+{data[control]:X4} is not allowed in XML", offset + control);
        }

        // U+FFFE and U+FFFF are EF BF BE and EF BF BF.
        ReadOnlySpan<byte> lead = [0xEF, 0xBF];
        for (var from = 0; ;)
        {
            var index = data[from..].IndexOf(lead);
            if (index < 0)
            {
                return;
            }

            index += from;
            if (index + 2 < data.Length && data[index + 2] >= 0xBE)
            {
                throw Error($"The character U+{(data[index + 2] == 0xBE ? "FFFE" : "FFFF")} is not allowed in XML", offset + index);
            }

            from = index + 2;
        }
    }

    /// <summary>
    /// One pass for the usual text, printable ASCII with a few other characters: jumps from one byte outside printable
    /// ASCII to the next and decodes only those characters. False when a character is not allowed, or when there are so
    /// many that the vectorized passes of <see cref="ValidateCharacters"/> are faster; that then decides (and reports the
    /// error as it always did).
    /// </summary>
    private static bool IsValidSparse(ReadOnlySpan<byte> data)
    {
        const int MaxCharacters = 32;
        var i = 0;
        for (var seen = 0; seen < MaxCharacters; seen++)
        {
            var next = data[i..].IndexOfAnyExceptInRange((byte)0x20, (byte)0x7F);
            if (next < 0)
            {
                return true;
            }

            i += next;
            var b = data[i];
            if (b < 0x80)
            {
                if (b is not ((byte)'\t' or (byte)'\n' or (byte)'\r'))
                {
                    return false;
                }

                i++;
                continue;
            }

            // A run of non-ASCII characters (a word in another script) is decoded without searching between them.
            do
            {
                // Rejects overlong forms, surrogates and truncated sequences, as Utf8.IsValid does.
                if (Rune.DecodeFromUtf8(data[i..], out var rune, out var length) != OperationStatus.Done || rune.Value is 0xFFFE or 0xFFFF)
                {
                    return false;
                }

                i += length;
            }
            while (i < data.Length && data[i] >= 0x80 && ++seen < MaxCharacters);
        }

        return false;
    }

    private static int SkipWhitespace(ReadOnlySpan<byte> data, ref int pos)
    {
        var start = pos;
        while (pos < data.Length && XmlChars.IsWhitespace(data[pos]))
        {
            pos++;
        }

        return pos - start;
    }

    private static void ExpectByte(ReadOnlySpan<byte> data, int pos, byte expected, long offset)
    {
        if (pos >= data.Length || data[pos] != expected)
        {
            throw Error($"Expected '{(char)expected}'", offset + pos);
        }
    }

    private static void ExpectEnd(ReadOnlySpan<byte> data, int pos, long offset)
    {
        if (pos != data.Length)
        {
            throw Error("Unexpected data after the end of the element", offset + pos);
        }
    }

    /// <summary>
    /// Decodes UTF-8 into a new string in one pass, through the free end of the char buffer (Encoding.GetString would
    /// count the characters in a first pass).
    /// </summary>
    private string DecodeString(ReadOnlySpan<byte> utf8)
    {
        EnsureChars(utf8.Length);
        var length = Encoding.UTF8.GetChars(utf8, _chars.AsSpan(_charCount));
        return new string(_chars, _charCount, length);
    }

    private void AppendUtf8(ReadOnlySpan<byte> utf8)
    {
        EnsureChars(utf8.Length);
        _charCount += Encoding.UTF8.GetChars(utf8, _chars.AsSpan(_charCount));
    }

    private void AppendChar(char c)
    {
        EnsureChars(1);
        _chars[_charCount++] = c;
    }

    private void EnsureChars(int count)
    {
        if (_chars.Length - _charCount < count)
        {
            Array.Resize(ref _chars, Math.Max(_chars.Length * 2, _charCount + count));
        }
    }

    private struct Frame
    {
        public XmppElement Element;
        public int NameStart;
        public int NameLength;
        public int NamespaceMark;
        public int TextStart;
        public int ChildStart;
        public TextMode Mode;
        public int RunStart;
        public int RunLength;
    }

    private struct NamespaceBinding
    {
        /// <summary>For stream-level bindings: a copy of the prefix. Otherwise <see langword="null"/> and the prefix is in the item.</summary>
        public byte[]? Prefix;
        public int PrefixStart;
        public int PrefixLength;
        public string Uri;
    }

    /// <summary>A short name seen recently: its bytes and the byte after it (<see cref="Key"/> under <see cref="Mask"/>).</summary>
    private sealed record RecentName(ulong Key, ulong Mask, int Length, int Colon, string QName, string LocalName);

    private struct AttributeSlot
    {
        public string? Name;
        public int NameStart;
        public int NameLength;
        public int Colon;
        public int ValueStart;
        public int ValueLength;
        public bool IsDeclaration;
        public bool IsPlain;
        public string? Namespace;
    }
}
