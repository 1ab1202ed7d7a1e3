using System.Buffers;
using System.Text;

namespace Parley.Xmpp.Tests.Xml;

/// <summary>
/// A stanza that is whole in the first segment is built without being scanned first; otherwise the scanner finds its end.
/// Both paths must give the same elements and the same errors, however the bytes are split.
/// </summary>
public sealed class XmlStreamParserBufferedPathUnitTests
{
    private const string Header = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.test' version='1.0'>";

    // A carbon: the root's end tag "</message>" first appears as the end of the nested message.
    private const string Carbon =
        "<message from='b@example.test' to='b@example.test/r'><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>" +
        "<message from='b@example.test/x' to='a@example.test' type='chat'><body>inner</body></message></forwarded></sent></message>";

    public static TheoryData<string> Stanzas() =>
    [
        "<message from='a@example.test/r' to='b@example.test' type='chat' id='m1'><body>hi &amp; bye</body><active xmlns='http://jabber.org/protocol/chatstates'/></message>",

        Carbon,

        // The end tag's name text inside CDATA, and in an attribute value with '>'.
        "<message id='c1'><body><![CDATA[</message> and <message>]]></body></message>",
        "<message id='q&gt;1' to='x>y@example.test'><body>a</body></message>",

        // Self-closing root, white space in the end tag, a prefixed root, character references, line ends.
        "<presence/>",
        "<presence from='a@example.test/r'><show>away</show></presence >",
        "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>",
        "<message from='a&amp;b@example.test' id='&#x41;&#66;'><body>line\r\nend\rthere</body></message>",
        "<message xml:lang='fr' from='café@example.test/r' id='ü'><body>Grüße 😀</body></message>",
        "<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>",
    ];

    [Theory]
    [MemberData(nameof(Stanzas))]
    public void Whole_and_split_at_every_byte_give_the_same_elements(string stanza)
    {
        // Two copies, so the second starts in the middle of a read in most splits.
        var data = Bytes(Header + stanza + stanza);
        var expected = Describe(ParserDriver.FeedSegmented(data, [1]));
        Assert.Equal(3, expected.Count);
        Assert.Equal(expected, Describe(ParserDriver.FeedAll(data)));

        for (var split = 1; split < data.Length; split++)
        {
            Assert.Equal(expected, Describe(ParserDriver.FeedSegmented(data, [split, data.Length])));
            Assert.Equal(expected, Describe(ParserDriver.FeedContiguous(data, [split, data.Length])));
        }
    }

    [Fact]
    public void Stanzas_whole_in_the_buffer_are_not_scanned()
    {
        var stanzas = string.Concat(Enumerable.Repeat("<message from='a@example.test/r' id='x'><body>hello</body></message>", 100));
        var parser = new XmlStreamParser(XmlLimits.Default, StanzaRootFactory.Instance);
        var buffer = new ReadOnlySequence<byte>(Bytes(Header + stanzas));
        var count = 0;
        while (parser.TryRead(ref buffer, out var kind, out _))
        {
            count += kind == XmlStreamEventKind.Element ? 1 : 0;
        }

        Assert.Equal(100, count);
        Assert.True(buffer.IsEmpty);

        // Only the stream header went through the scanner.
        Assert.InRange(parser.BytesScanned, 1, Header.Length);
    }

    [Fact]
    public void The_nested_end_tag_of_an_incomplete_stanza_does_not_end_it()
    {
        var stanza = Carbon;
        var inner = stanza.IndexOf("</message>", StringComparison.Ordinal) + "</message>".Length;
        var parser = new XmlStreamParser(XmlLimits.Default, StanzaRootFactory.Instance);
        var buffer = new ReadOnlySequence<byte>(Bytes(Header));
        Assert.True(parser.TryRead(ref buffer, out _, out _));

        buffer = new ReadOnlySequence<byte>(Bytes(stanza[..inner]));
        Assert.False(parser.TryRead(ref buffer, out _, out _));
        Assert.Equal(inner, buffer.Length);

        buffer = new ReadOnlySequence<byte>(Bytes(stanza));
        Assert.True(parser.TryRead(ref buffer, out _, out var element));
        Assert.True(buffer.IsEmpty);
        var forwarded = element!.Element("sent", "urn:xmpp:carbons:2")!.Element("forwarded", "urn:xmpp:forward:0")!;
        Assert.Equal("inner", forwarded.Element("message")!.ElementText("body"));
    }

    public static TheoryData<string, string> Malformed() => new()
    {
        { "<message><body>a</bod></message>", "not-well-formed" },
        { "<message to='a' to='b'><body>a</body></message>", "not-well-formed" },
        { "<message><body>a &foo; b</body></message>", "restricted-xml" },
        { "<message><body>a & b</body></message>", "not-well-formed" },
        { "<message><body>]]></body></message>", "not-well-formed" },
        { "<message><body><?pi x?></body></message>", "restricted-xml" },
        { "<message><!-- c --><body/></message>", "restricted-xml" },
        { "<message><x:body>a</x:body></message>", "not-well-formed" },
        { "<message id='a<b'><body/></message>", "not-well-formed" },
        { "<message><body>\u0001</body></message>", "not-well-formed" },
        { "<message><body>\uFFFE</body></message>", "not-well-formed" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Errors_are_the_same_whole_and_byte_by_byte(string stanza, string condition)
    {
        var data = Bytes(Header + stanza);
        var whole = Assert.Throws<XmppProtocolException>(() => ParserDriver.FeedAll(data));
        var split = Assert.Throws<XmppProtocolException>(() => ParserDriver.FeedSegmented(data, [1]));
        Assert.Equal(condition, whole.StreamErrorCondition);
        Assert.Equal(split.StreamErrorCondition, whole.StreamErrorCondition);
        Assert.Equal(split.Message, whole.Message);
    }

    [Fact]
    public void Invalid_UTF8_is_reported_before_a_later_markup_error_on_both_paths()
    {
        // The builder would trip over the mismatched tag; the scanner's path validates the whole stanza first.
        byte[] invalidThenMismatch = [.. Bytes(Header + "<message><body>"), 0xC0, 0xAF, .. "</body></x></message>"u8];
        byte[] invalidOnly = [.. Bytes(Header + "<message><body>"), 0xED, 0xA0, 0x80, .. "</body></message>"u8];
        foreach (var data in new[] { invalidThenMismatch, invalidOnly })
        {
            var whole = Assert.Throws<XmppProtocolException>(() => ParserDriver.FeedAll(data));
            var split = Assert.Throws<XmppProtocolException>(() => ParserDriver.FeedSegmented(data, [1]));
            Assert.Contains("UTF-8", whole.Message, StringComparison.Ordinal);
            Assert.Equal(split.Message, whole.Message);
        }
    }

    [Fact]
    public void Addresses_repeated_across_stanzas_share_one_string_and_escaped_ones_are_decoded()
    {
        var events = ParserDriver.FeedAll(Bytes(Header +
            "<message from='a@example.test/r' to='me@example.test' id='1'/>" +
            "<message from='a@example.test/r' to='me@example.test' id='1'/>" +
            "<message from='o&apos;brien@example.test' to='me@example.test' id='2'/>" +
            "<message from='o&apos;brien@example.test' id='3'/>"));
        var messages = events.Skip(1).Select(e => (Message)e.Element!).ToArray();

        Assert.Same(messages[0].GetAttribute("from"), messages[1].GetAttribute("from"));
        Assert.Same(messages[0].GetAttribute("to"), messages[2].GetAttribute("to"));
        Assert.Equal("a@example.test/r", messages[1].From!.ToString());
        Assert.Equal("o'brien@example.test", messages[2].GetAttribute("from"));
        Assert.Equal("o'brien@example.test", messages[3].GetAttribute("from"));

        // Ids are not shared: they do not repeat.
        Assert.Equal(messages[0].Id, messages[1].Id);
        Assert.NotSame(messages[0].Id, messages[1].Id);
    }

    [Fact]
    public void Attributes_read_back_in_document_order_and_can_be_changed_after_parsing()
    {
        var events = ParserDriver.FeedAll(Bytes(Header + "<message xmlns:x='urn:x' to='b@example.test' x:a='1' type='chat' id='i'/>"));
        var message = (Message)events[1].Element!;
        Assert.Equal(["to", "x:a", "type", "id"], message.Attributes.Select(a => a.Name));

        message.SetAttribute("type", "normal");
        message.SetAttribute("x:a", null);
        message.SetAttribute("from", "a@example.test");
        Assert.Equal([("to", "b@example.test"), ("type", "normal"), ("id", "i"), ("from", "a@example.test")], message.Attributes.Select(a => (a.Name, a.Value)));

        var clone = (Message)message.Clone();
        message.SetAttribute("id", "changed");
        Assert.Equal("i", clone.Id);
        message.SetAttribute("to", null);
        message.SetAttribute("type", null);
        message.SetAttribute("id", null);
        message.SetAttribute("from", null);
        Assert.Empty(message.Attributes);
        Assert.Equal(4, clone.Attributes.Count);
    }

    private static List<string> Describe(List<ParsedEvent> events) => events.Select(e => e.Describe()).ToList();

    private static byte[] Bytes(string s) => Encoding.UTF8.GetBytes(s);
}
