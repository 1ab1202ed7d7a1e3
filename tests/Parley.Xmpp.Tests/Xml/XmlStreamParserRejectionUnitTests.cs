using System.Buffers;
using System.Text;

namespace Parley.Xmpp.Tests.Xml;

/// <summary>What the parser refuses. Fixture files under Fixtures/xml/rejected are named <c>condition.what.xml</c>.</summary>
public class XmlStreamParserRejectionUnitTests
{
    private const string Header = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.test' version='1.0'>";

    public static TheoryData<string> RejectedFixtures()
    {
        var data = new TheoryData<string>();
        foreach (var path in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Fixtures", "xml", "rejected")).Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(path));
        }

        return data;
    }

    [Fact]
    public void There_are_rejection_fixtures()
        => Assert.True(RejectedFixtures().Count >= 50);

    [Theory]
    [MemberData(nameof(RejectedFixtures))]
    public void Rejected_fixture_fails_with_its_stream_error_condition_whole_and_byte_by_byte(string fixture)
    {
        var data = ParserDriver.Fixture(Path.Combine("rejected", fixture));
        var condition = fixture[..fixture.IndexOf('.', StringComparison.Ordinal)];

        var whole = Assert.Throws<XmppProtocolException>(() => ParserDriver.FeedAll(data));
        Assert.Equal(condition, whole.StreamErrorCondition);
        Assert.Contains("at byte ", whole.Message, StringComparison.Ordinal);

        var split = Assert.Throws<XmppProtocolException>(() => ParserDriver.FeedSegmented(data, [1]));
        Assert.Equal(condition, split.StreamErrorCondition);
    }

    [Fact]
    public void Entity_bomb_dies_at_the_DOCTYPE_before_any_entity_is_read()
    {
        var data = ParserDriver.Fixture(Path.Combine("rejected", "restricted-xml.entity-bomb.xml"));
        var doctype = Encoding.UTF8.GetString(data).IndexOf("<!DOCTYPE", StringComparison.Ordinal);

        // Only the first bytes of the DOCTYPE are needed to refuse it.
        var error = Assert.Throws<XmppProtocolException>(() => ParserDriver.FeedAll(data[..(doctype + 3)]));
        Assert.Equal("restricted-xml", error.StreamErrorCondition);
        Assert.Contains($"at byte {doctype} ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Error_message_names_the_byte_offset_of_invalid_UTF8()
    {
        var prefix = Header + "<message><body>ok ";
        byte[] data = [.. Encoding.UTF8.GetBytes(prefix), 0xC0, 0xAF, .. "</body></message>"u8];
        var error = Assert.Throws<XmppProtocolException>(() => ParserDriver.FeedAll(data));
        Assert.Equal("not-well-formed", error.StreamErrorCondition);
        Assert.Contains("UTF-8", error.Message, StringComparison.Ordinal);
        Assert.Contains($"at byte {prefix.Length} ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Error_message_names_both_tags_of_a_mismatch()
    {
        var error = Assert.Throws<XmppProtocolException>(() => ParserDriver.FeedAll(Bytes(Header + "<message><body>hi</subject></message>")));
        Assert.Contains("</subject>", error.Message, StringComparison.Ordinal);
        Assert.Contains("<body>", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Oversize_stanza_closes_the_stream_as_soon_as_the_buffered_bytes_exceed_the_hard_cap()
    {
        var limits = new XmlLimits { MaxStanzaBytes = 256, MaxSkippedStanzaBytes = 1024 };
        var parser = new XmlStreamParser(limits, StanzaRootFactory.Instance);
        var buffer = new ReadOnlySequence<byte>(Bytes(Header));
        Assert.True(parser.TryRead(ref buffer, out _, out _));

        // The peer never closes the element; it keeps sending text.
        var stanza = Bytes("<message><body>" + new string('a', 1000));
        buffer = new ReadOnlySequence<byte>(stanza);
        Assert.False(parser.TryRead(ref buffer, out _, out _));

        var more = new ReadOnlySequence<byte>([.. stanza, .. Bytes(new string('b', 100))]);
        var error = Assert.Throws<XmppProtocolException>(() => parser.TryRead(ref more, out _, out _));
        Assert.Equal("policy-violation", error.StreamErrorCondition);
        Assert.Contains("1024", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Complete_stanza_over_the_limit_is_refused_one_at_the_limit_accepted_and_one_over_the_hard_cap_closes_the_stream()
    {
        var open = "<message from='a@example.test/r' id='big'><body>";
        var close = "</body></message>";
        var exact = open + new string('a', 1024 - open.Length - close.Length) + close;
        var limits = new XmlLimits { MaxStanzaBytes = 1024, MaxSkippedStanzaBytes = 2048 };

        Assert.Equal(2, ParserDriver.FeedAll(Bytes(Header + exact), limits).Count);

        var over = exact.Replace("<body>", "<body>a", StringComparison.Ordinal);
        var refused = AssertRefusedThenNext(Header + over, limits, "larger than the limit of 1024 bytes");
        Assert.Equal("big", refused.GetAttribute("id"));
        Assert.Equal("a@example.test/r", refused.GetAttribute("from"));

        var error = Assert.Throws<XmppProtocolException>(() => ParserDriver.FeedAll(Bytes(Header + over.Replace("<body>", "<body>" + new string('a', 1024), StringComparison.Ordinal)), limits));
        Assert.Equal("policy-violation", error.StreamErrorCondition);
        Assert.Contains("2048", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Oversize_stream_header_is_refused()
    {
        var limits = new XmlLimits { MaxStanzaBytes = 256 };
        var header = Header.Replace("version='1.0'", $"version='1.0' junk='{new string('j', 300)}'");
        var error = Assert.Throws<XmppProtocolException>(() => ParserDriver.FeedSegmented(Bytes(header), [16], limits));
        Assert.Equal("policy-violation", error.StreamErrorCondition);
    }

    [Fact]
    public void An_oversize_stream_end_tag_closes_the_stream_at_the_stanza_limit()
    {
        var limits = new XmlLimits { MaxStanzaBytes = 256, MaxSkippedStanzaBytes = 4096 };
        var end = "</stream:stream" + new string(' ', 300) + ">";
        var error = Assert.Throws<XmppProtocolException>(() => ParserDriver.FeedAll(Bytes(Header + end), limits));
        Assert.Equal("policy-violation", error.StreamErrorCondition);
        Assert.Contains("limit of 256 bytes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_stream_header_over_a_per_stanza_limit_closes_the_stream()
    {
        var header = Header.Replace("version='1.0'", "version='1.0'" + string.Concat(Enumerable.Range(0, 9).Select(i => $" a{i}='{i}'")));
        var error = Assert.Throws<XmppProtocolException>(() => ParserDriver.FeedAll(Bytes(header), new XmlLimits { MaxAttributes = 8 }));
        Assert.Equal("policy-violation", error.StreamErrorCondition);
    }

    [Theory]
    [InlineData(4, true)]
    [InlineData(5, false)]
    [InlineData(10_000, false)]
    public void Nesting_deeper_than_the_limit_is_refused(int depth, bool accepted)
    {
        var limits = new XmlLimits { MaxDepth = 4 };
        var stanza = string.Concat(Enumerable.Repeat("<a>", depth)) + string.Concat(Enumerable.Repeat("</a>", depth));
        if (accepted)
        {
            Assert.Equal(2, ParserDriver.FeedAll(Bytes(Header + stanza), limits).Count);
            return;
        }

        AssertRefusedThenNext(Header + "<message id='deep'>" + stanza + "</message>", limits, "nested deeper than the limit of 4");

        // Self-closing elements count too.
        var selfClosing = string.Concat(Enumerable.Repeat("<a>", depth - 1)) + "<a/>" + string.Concat(Enumerable.Repeat("</a>", depth - 1));
        AssertRefusedThenNext(Header + "<message>" + selfClosing + "</message>", limits, "nested deeper");
    }

    [Theory]
    [InlineData(8, true)]
    [InlineData(9, false)]
    public void More_attributes_than_the_limit_are_refused(int count, bool accepted)
    {
        var limits = new XmlLimits { MaxAttributes = 8 };
        var stanza = "<message" + string.Concat(Enumerable.Range(0, count).Select(i => $" a{i}='{i}'")) + "/>";
        AssertLimit(Header + stanza, limits, accepted);
    }

    [Theory]
    [InlineData("a", 40, true)]
    [InlineData("a", 41, false)]
    [InlineData("é", 40, true)] // forty characters, eighty bytes: the limit counts characters
    [InlineData("&amp;", 40, true)]
    [InlineData("&amp;", 41, false)]
    [InlineData("&#x1F600;", 20, true)] // twenty characters outside the BMP are forty UTF-16 chars
    [InlineData("&#x1F600;", 21, false)]
    public void Attribute_values_longer_than_the_limit_are_refused(string unit, int repeat, bool accepted)
    {
        // The header's namespace declarations (up to 32 characters) are attribute values too.
        var value = string.Concat(Enumerable.Repeat(unit, repeat));
        AssertLimit(Header + $"<message id='{value}'/>", new XmlLimits { MaxAttributeLength = 40 }, accepted);
    }

    [Theory]
    [InlineData("<abcdefghijklmnop/>", true)]
    [InlineData("<abcdefghijklmnopq/>", false)]
    [InlineData("<m abcdefghijklmnopq='1'/>", false)]
    [InlineData("<p:abcdefghijklmn xmlns:p='urn:p'/>", true)] // the limit counts the name as written, prefix included
    [InlineData("<p:abcdefghijklmno xmlns:p='urn:p'/>", false)]
    public void Names_longer_than_the_limit_are_refused(string stanza, bool accepted)
        => AssertLimit(Header + stanza, new XmlLimits { MaxNameLength = 16 }, accepted);

    [Fact]
    public void The_envelope_of_a_refused_stanza_keeps_only_its_addressing()
    {
        var attributes = string.Concat(Enumerable.Range(0, 80).Select(i => $" a{i}='{i}'"));
        var stanza = $"<message to='x@chat.example.test' from='mallory@example.test/r' id='m&amp;1' type='chat' xml:lang='en'{attributes}><body>hi</body></message>";
        var refused = AssertRefusedThenNext(Header + stanza, XmlLimits.Default, "more than the limit of 64 attributes");

        var message = Assert.IsType<Message>(refused);
        Assert.Equal("m&1", message.Id);
        Assert.Equal("mallory@example.test/r", message.GetAttribute("from"));
        Assert.Equal("x@chat.example.test", message.GetAttribute("to"));
        Assert.Equal("chat", message.TypeName);
        Assert.Equal(5, message.Attributes.Count());
        Assert.Empty(message.Children);
    }

    [Fact]
    public void An_overlong_address_is_left_out_of_a_refused_stanzas_envelope()
    {
        var longFrom = new string('f', 4000);
        var events = ParserDriver.FeedAll(Bytes(Header + $"<message from='{longFrom}' id='1'>{Nest(40)}</message><message id='next'/>"));
        Assert.Equal(XmlStreamEventKind.Refused, events[1].Kind);
        Assert.Null(events[1].Element!.GetAttribute("from"));
        Assert.Equal("1", events[1].Element!.GetAttribute("id"));
        Assert.Equal("next", events[2].Element!.GetAttribute("id"));
    }

    [Fact]
    public void Invalid_UTF8_in_a_refused_stanza_still_closes_the_stream()
    {
        byte[] data = [.. Bytes(Header + "<message>" + Nest(40) + "<body>"), 0xC0, 0xAF, .. Bytes("</body></message>")];
        Assert.Throws<XmppProtocolException>(() => ParserDriver.FeedAll(data));
    }

    [Fact]
    public void Apostrophes_escaped_by_the_server_grow_past_the_stanza_limit_and_are_refused_not_fatal()
    {
        // 100 KB of ' as a server re-serializes them: 600 KB on the wire.
        var body = string.Concat(Enumerable.Repeat("&apos;", 100_000));
        AssertRefusedThenNext(Header + $"<message from='m@example.test/r' id='q'><body>{body}</body></message>", XmlLimits.Default, "larger than the limit");
    }

    private static string Nest(int depth) => string.Concat(Enumerable.Repeat("<a>", depth)) + string.Concat(Enumerable.Repeat("</a>", depth));

    /// <summary>
    /// Feeds <paramref name="xml"/> and an ordinary message after it, whole and byte by byte: the first element is refused
    /// with <paramref name="reason"/>, the message still arrives. Returns the refused element's envelope.
    /// </summary>
    private static XmppElement AssertRefusedThenNext(string xml, XmlLimits limits, string reason)
    {
        var data = Bytes(xml + "<message id='after'><body>still here</body></message>");
        XmppElement? envelope = null;
        // Byte by byte only while that stays cheap: a sequence of a million one-byte segments is slow to slice.
        var smallest = data.Length < 64 * 1024 ? 1 : 1000;
        foreach (var events in new[] { ParserDriver.FeedAll(data, limits), ParserDriver.FeedSegmented(data, [smallest], limits), ParserDriver.FeedSegmented(data, [7, 4096], limits) })
        {
            Assert.Equal(3, events.Count);
            Assert.Equal(XmlStreamEventKind.Refused, events[1].Kind);
            Assert.Contains(reason, events[1].Reason, StringComparison.Ordinal);
            Assert.Equal("still here", Assert.IsType<Message>(events[2].Element).Body);
            envelope = events[1].Element;
        }

        return envelope!;
    }

    [Fact]
    public void Parser_can_be_used_again_after_reset_following_an_error()
    {
        var parser = new XmlStreamParser(XmlLimits.Default, StanzaRootFactory.Instance);
        var bad = new ReadOnlySequence<byte>(Bytes(Header + "<message><!-- no --></message>"));
        Assert.True(parser.TryRead(ref bad, out _, out _));
        Assert.Throws<XmppProtocolException>(() => parser.TryRead(ref bad, out _, out _));

        parser.Reset();
        var good = new ReadOnlySequence<byte>(Bytes(Header + "<message><body>ok</body></message>"));
        Assert.True(parser.TryRead(ref good, out _, out _));
        Assert.True(parser.TryRead(ref good, out _, out var message));
        Assert.Equal("ok", ((Message)message!).Body);
    }

    private static void AssertLimit(string xml, XmlLimits limits, bool accepted)
    {
        if (accepted)
        {
            Assert.Equal(2, ParserDriver.FeedAll(Bytes(xml), limits).Count);
        }
        else
        {
            AssertRefusedThenNext(xml, limits, "limit");
        }
    }

    private static byte[] Bytes(string s) => Encoding.UTF8.GetBytes(s);
}
