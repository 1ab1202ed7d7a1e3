using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.Unicode;

namespace Parley.Xmpp.Xml;

/// <summary>The tree builder: turns the complete bytes of one item (found by the scanner) into elements, validating as it goes.</summary>
internal sealed partial class XmlStreamParser
{
    private const int RetainedChildStackLength = 1024;

    // What ends a plain attribute value or text run, or makes it need a closer look; one search finds the end of the
    // usual value or run and tells that it is plain.
    private static readonly SearchValues<byte> SingleQuotedValueStops = SearchValues.Create("'&<\t\n\r"u8);
    private static readonly SearchValues<byte> DoubleQuotedValueStops = SearchValues.Create("\"&<\t\n\r"u8);
    private static readonly SearchValues<byte> TextStops = SearchValues.Create("<&\r>"u8);
    private static readonly SearchValues<char> WhitespaceChars = SearchValues.Create(" \t\r\n");

    private Frame[] _frames;
    private int _frameCount;
    private AttributeSlot[] _attributes = new AttributeSlot[8];

    // The children of the open elements, innermost last: an element's children are collected here and moved into one
    // exact-size array when it closes.
    private XmppElement[] _childStack = new XmppElement[16];
    private int _childStackCount;

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

            var quote = ReadEqualsAndQuote(data, ref pos, offset, "Expected a quoted attribute value");
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
        List<(string Prefix, string Uri)>? prefixes = null;

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

            // The name keeps its prefix as written; the element remembers the prefix's namespace to write it out again.
            if (attribute.Colon >= 0 && attribute.Namespace != XmlChars.XmlNamespace)
            {
                var prefix = name[..(attribute.Colon - attribute.NameStart)];
                if (prefixes is null || !prefixes.Exists(p => p.Prefix == prefix))
                {
                    (prefixes ??= []).Add((prefix, attribute.Namespace!));
                }
            }
        }

        if (attributes is not null)
        {
            element.SetParsedAttributes(attributes);
            if (prefixes is not null)
            {
                element.SetParsedAttributePrefixes([.. prefixes]);
            }
        }

        return element;
    }

    private XmppElement CreateElement(string name, string ns, int depth)
        => (depth == 1 ? _stanzaRoots?.Create(name, ns) : null) ?? new XmppElement(name, ns, nameChecked: true);

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
