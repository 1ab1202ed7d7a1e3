using System.Buffers;
using System.Text;
using System.Text.RegularExpressions;

namespace Parley.Xmpp.Tests.Xml;

public class XmlSerializerUnitTests
{
    private const string Header = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";

    [Theory]
    [InlineData(@"nul\0here", "nul\uFFFDhere")]
    [InlineData(@"bell\u0007 esc\u001B", "bell\uFFFD esc\uFFFD")]
    [InlineData(@"vt\u000Bff\u000C", "vt\uFFFDff\uFFFD")]
    [InlineData(@"nonchars \uFFFE\uFFFF", "nonchars \uFFFD\uFFFD")]
    [InlineData(@"lone high \uD83D end", "lone high \uFFFD end")]
    [InlineData(@"lone low \uDE00 end", "lone low \uFFFD end")]
    [InlineData(@"reversed \uDE00\uD83D", "reversed \uFFFD\uFFFD")]
    [InlineData(@"pair \uD83D\uDE00 kept", "pair \uD83D\uDE00 kept")]
    [InlineData(@"tab\tlf\ncr\rcrlf\r\n", "tab\tlf\ncr\rcrlf\r\n")]
    [InlineData("markup <&> \"'", "markup <&> \"'")]
    [InlineData(@"]]> and &amp;", "]]> and &amp;")]
    public void Text_and_attribute_values_survive_or_are_replaced_with_U_FFFD(string escapedValue, string escapedExpected)
    {
        // Escaped in the attribute: the compiler cannot store lone surrogates in attribute metadata.
        var value = Regex.Unescape(escapedValue);
        var expected = Regex.Unescape(escapedExpected);
        var element = new XmppElement("body", XmppNamespaces.Client) { Text = value };
        element.SetAttribute("note", value);

        var bytes = Serialize(element);
        var parsed = ParseOne(bytes);

        Assert.Equal(expected, parsed.Text);
        Assert.Equal(expected, parsed.GetAttribute("note"));
    }

    [Fact]
    public void Forbidden_characters_never_reach_the_wire()
    {
        var all = new StringBuilder();
        for (var c = 0; c < 0x10000; c++)
        {
            all.Append((char)c);
        }

        var element = new XmppElement("body", XmppNamespaces.Client) { Text = all.ToString() };
        element.SetAttribute("a", all.ToString(0, 0x3000));
        var bytes = Serialize(element);

        Assert.True(System.Text.Unicode.Utf8.IsValid(bytes));
        foreach (var rune in Encoding.UTF8.GetString(bytes).EnumerateRunes())
        {
            Assert.True(rune.Value is 0x9 or 0xA or 0xD or >= 0x20 and not (0xFFFE or 0xFFFF), $"U+{rune.Value:X4} was written");
        }

        var parsed = ParseOne(bytes);
        Assert.Equal(0x10000, parsed.Text!.Length);
    }

    [Theory]
    [InlineData("bad name")]
    [InlineData("1st")]
    [InlineData("a>b")]
    [InlineData("-x")]
    public void Invalid_element_names_are_refused(string name)
    {
        var element = new XmppElement(name, "urn:x");
        Assert.Throws<ArgumentException>(() => Serialize(element));
    }

    [Theory]
    [InlineData("bad name")]
    [InlineData("a='x' b")]
    [InlineData(":x")]
    [InlineData("x:")]
    [InlineData("a:b:c")]
    public void Invalid_attribute_names_are_refused(string name)
    {
        var element = new XmppElement("x", "urn:x");
        element.SetAttribute(name, "v");
        Assert.Throws<ArgumentException>(() => Serialize(element));
    }

    [Fact]
    public void Namespace_declarations_smuggled_in_as_attributes_are_refused()
    {
        var element = new XmppElement("x", "urn:x");
        element.SetParsedAttributes([new XmlAttribute("xmlns", "urn:y")]);
        Assert.Throws<ArgumentException>(() => Serialize(element));
    }

    [Fact]
    public void Open_tag_writes_a_header_the_parser_reads_back()
    {
        var output = new ArrayBufferWriter<byte>();
        XmlSerializer.WriteOpenTag(
            output,
            "stream:stream",
            [("", XmppNamespaces.Client), ("stream", XmppNamespaces.Streams)],
            [("to", "example.test"), ("from", null), ("version", "1.0"), ("xml:lang", "en")]);

        var parser = new XmlStreamParser(XmlLimits.Default, StanzaRootFactory.Instance);
        var buffer = new ReadOnlySequence<byte>(output.WrittenMemory);
        Assert.True(parser.TryRead(ref buffer, out var kind, out var header));
        Assert.Equal(XmlStreamEventKind.StreamHeader, kind);
        Assert.Equal([new XmlAttribute("to", "example.test"), new XmlAttribute("version", "1.0"), new XmlAttribute("xml:lang", "en")], header!.Attributes);
        Assert.Equal(XmppNamespaces.Client, parser.StreamNamespace);

        Assert.Throws<ArgumentException>(() => XmlSerializer.WriteOpenTag(output, "stream stream", [], []));
        Assert.Throws<ArgumentException>(() => XmlSerializer.WriteOpenTag(output, "stream:stream", [("bad prefix", "urn:x")], []));
        Assert.Throws<ArgumentException>(() => XmlSerializer.WriteOpenTag(output, "stream:stream", [], [("a b", "v")]));
    }

    [Fact]
    public void Parsed_prefixed_attributes_are_written_with_their_prefix_declared()
    {
        // Without the declarations, echoing or forwarding such a stanza would write XML that no peer accepts.
        var received = "<message xmlns:p='urn:example:p' xmlns:q='urn:example:q' p:a='1' xml:lang='en'><x xmlns='urn:example:x' q:b='2' p:c='3'/></message>"u8.ToArray();
        var parsed = ParseOne(received);
        Assert.Equal("1", parsed.GetAttribute("p:a"));

        var written = Serialize(parsed);
        var again = ParseOne(written);
        Assert.Equal(Encoding.UTF8.GetString(written), Encoding.UTF8.GetString(Serialize(again)));
        Assert.Equal("2", again.Children[0].GetAttribute("q:b"));
        Assert.Equal(Encoding.UTF8.GetString(written), Encoding.UTF8.GetString(Serialize(parsed.Clone())));
    }

    [Fact]
    public void Typical_message_round_trips()
    {
        var message = new Message(Jid.Parse("juliet@example.com/balcony"), "Wherefore art thou, Romeo? <3 & \"more\"")
        {
            Id = "abc-123",
            Thread = "t1",
        };
        message.AddChild("active", XmppNamespaces.ChatStates);
        message.Add(new Delay(new DateTimeOffset(2024, 1, 2, 3, 4, 5, TimeSpan.Zero), Jid.Parse("example.com"), "Offline storage").ToElement());

        var parsed = Assert.IsType<Message>(ParseOne(Serialize(message)));
        AssertSameTree(message, parsed);
        Assert.Equal(message.Body, parsed.Body);
        Assert.Equal(new DateTimeOffset(2024, 1, 2, 3, 4, 5, TimeSpan.Zero), parsed.Delay!.Stamp);
    }

    [Fact]
    public void Random_trees_round_trip_with_forbidden_characters_replaced()
    {
        var random = new Random(42);
        for (var i = 0; i < 500; i++)
        {
            var tree = RandomElement(random, depth: 1);
            var parsed = ParseOne(Serialize(tree));
            AssertSameTree(Sanitized(tree), parsed);
        }
    }

    [Fact]
    public void Text_split_across_small_buffers_is_encoded_as_in_one_piece()
    {
        // A writer that hands out 4 to 9 bytes at a time: multi-byte characters and surrogate pairs land on every boundary.
        var random = new Random(7);
        for (var i = 0; i < 300; i++)
        {
            var tree = RandomElement(random, depth: 1);
            tree.Text = string.Concat(Enumerable.Repeat(RandomText(random), 20));
            var stingy = new SegmentWriter(random, largest: 9);
            XmlSerializer.WriteElement(stingy, tree, XmppNamespaces.Client);

            Assert.Equal(Serialize(tree), stingy.ToArray());
        }
    }

    [Fact]
    public void Large_texts_fill_the_writers_buffers()
    {
        // Three in-band file blocks (4096 bytes as base64) into 16 KiB buffers, as a connection's pipe hands them out:
        // each buffer but the last is full, so a flush writes the fewest TLS records.
        var writer = new SegmentWriter(random: null, largest: 16 * 1024);
        for (var seq = 0; seq < 3; seq++)
        {
            var data = new XmppElement("data", "http://jabber.org/protocol/ibb") { Text = Convert.ToBase64String(new byte[4096]) };
            data.SetAttribute("seq", seq.ToString(System.Globalization.CultureInfo.InvariantCulture));
            var iq = new XmppElement("iq", XmppNamespaces.Client);
            iq.SetAttribute("type", "set");
            iq.Add(data);
            XmlSerializer.WriteElement(writer, iq, XmppNamespaces.Client);
        }

        Assert.True(writer.Segments.Count > 1);
        Assert.All(writer.Segments.SkipLast(1), segment => Assert.Equal(16 * 1024, segment.Count));
        Assert.Equal(3, ParserDriver.FeedAll([.. Encoding.UTF8.GetBytes(Header), .. writer.ToArray()]).Count - 1);
    }

    /// <summary>An <see cref="IBufferWriter{T}"/> of separate segments, like a pipe's: a new one when the rest of the last is smaller than asked.</summary>
    private sealed class SegmentWriter(Random? random, int largest) : IBufferWriter<byte>
    {
        private byte[] _current = [];
        private int _used;

        public List<ArraySegment<byte>> Segments { get; } = [];

        public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

        public Memory<byte> GetMemory(int sizeHint = 0)
        {
            sizeHint = Math.Max(sizeHint, 1);
            if (_current.Length - _used < sizeHint)
            {
                _current = new byte[Math.Max(sizeHint, random?.Next(4, largest + 1) ?? largest)];
                _used = 0;
                Segments.Add(new ArraySegment<byte>(_current, 0, 0));
            }

            return _current.AsMemory(_used);
        }

        public void Advance(int count)
        {
            _used += count;
            Segments[^1] = new ArraySegment<byte>(_current, 0, _used);
        }

        public byte[] ToArray() => [.. Segments.SelectMany(segment => segment)];
    }

    private static readonly string[] Namespaces = [XmppNamespaces.Client, "urn:example:a", "urn:example:b?x=1&y='2'", ""];
    private static readonly string[] Names = ["message", "body", "x", "item", "données", "a-b.c_d", "ns1"];
    private static readonly string[] AttributeNames = ["to", "from", "id", "type", "xml:lang", "v", "clé"];
    private const string Alphabet = "abc XYZ 0123 <>&\"' ]]> \t\n\r\0\u0001\u001F\uFFFE\uFFFF\uD800\uDC00é中😀\u00A0\u2028";

    private static XmppElement RandomElement(Random random, int depth)
    {
        var element = new XmppElement(Names[random.Next(Names.Length)], Namespaces[random.Next(Namespaces.Length)]);
        foreach (var name in AttributeNames.Where(_ => random.Next(3) == 0))
        {
            element.SetAttribute(name, RandomText(random));
        }

        var children = depth < 4 ? random.Next(4) : 0;
        for (var i = 0; i < children; i++)
        {
            element.Add(RandomElement(random, depth + 1));
        }

        if (random.Next(2) == 0)
        {
            // The parser drops white space that only formats children, so give such text something else.
            element.Text = RandomText(random) + (children > 0 ? "!" : "");
        }

        return element;
    }

    private static string RandomText(Random random)
    {
        var chars = new char[random.Next(1, 12)];
        for (var i = 0; i < chars.Length; i++)
        {
            chars[i] = Alphabet[random.Next(Alphabet.Length)];
        }

        return new string(chars);
    }

    private static XmppElement Sanitized(XmppElement element)
    {
        var copy = new XmppElement(element.Name, element.Namespace) { Text = Sanitize(element.Text) };
        foreach (var attribute in element.Attributes)
        {
            copy.SetAttribute(attribute.Name, Sanitize(attribute.Value));
        }

        foreach (var child in element.Children)
        {
            copy.Add(Sanitized(child));
        }

        return copy;
    }

    private static string? Sanitize(string? s)
    {
        if (s is null)
        {
            return null;
        }

        var result = new StringBuilder();
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                result.Append(c).Append(s[++i]);
            }
            else if (char.IsSurrogate(c) || c is '\uFFFE' or '\uFFFF' || (c < ' ' && c is not ('\t' or '\n' or '\r')))
            {
                result.Append('\uFFFD');
            }
            else
            {
                result.Append(c);
            }
        }

        return result.ToString();
    }

    private static void AssertSameTree(XmppElement expected, XmppElement actual)
    {
        Assert.Equal(expected.Name, actual.Name);
        Assert.Equal(expected.Namespace, actual.Namespace);
        Assert.Equal(string.IsNullOrEmpty(expected.Text) ? null : expected.Text, actual.Text);
        Assert.Equal(expected.Attributes, actual.Attributes);
        Assert.Equal(expected.Children.Count, actual.Children.Count);
        for (var i = 0; i < expected.Children.Count; i++)
        {
            AssertSameTree(expected.Children[i], actual.Children[i]);
        }
    }

    private static byte[] Serialize(XmppElement element)
    {
        var output = new ArrayBufferWriter<byte>();
        XmlSerializer.WriteElement(output, element, XmppNamespaces.Client);
        return output.WrittenSpan.ToArray();
    }

    private static XmppElement ParseOne(byte[] stanza)
    {
        var events = ParserDriver.FeedAll([.. Encoding.UTF8.GetBytes(Header), .. stanza]);
        Assert.Equal(2, events.Count);
        return events[1].Element!;
    }
}
