using System.Buffers;
using System.Text;

namespace Parley.Xmpp.Tests.Xml;

public class XmlStreamParserUnitTests
{
    private const string Header = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.test' version='1.0'>";

    // The Prosody session restarts the stream after SASL success, as a client would.
    private static readonly Func<ParsedEvent, bool> RestartAfterSuccess = e => e.Element?.Name == "success";

    [Fact]
    public void Prosody_session_yields_every_stanza_with_its_content()
    {
        var events = ParserDriver.FeedAll(ParserDriver.Fixture("prosody-session.xml"), resetAfter: RestartAfterSuccess);

        Assert.Equal(
            ["StreamHeader", "Element", "Element", "StreamHeader", "Element", "Element", "Element", "Element", "Element", "Element",
             "Element", "Element", "Element", "Element", "StreamEnd"],
            events.Select(e => e.Kind.ToString()));

        var header = events[0].Element!;
        Assert.Equal("stream", header.Name);
        Assert.Equal(XmppNamespaces.Streams, header.Namespace);
        Assert.Equal("example.test", header.GetAttribute("from"));
        Assert.Equal("1.0", header.GetAttribute("version"));
        Assert.Equal("en", header.GetAttribute("xml:lang"));
        Assert.Equal("f3a75337-37d2-4f20-a12d-e35cd962c2bf", header.GetAttribute("id"));
        Assert.Null(header.GetAttribute("xmlns"));
        Assert.Null(header.GetAttribute("xmlns:stream"));
        Assert.Empty(header.Children);

        var features = events[1].Element!;
        Assert.Equal(("features", XmppNamespaces.Streams), (features.Name, features.Namespace));
        Assert.Equal(["starttls", "register", "mechanisms"], features.Children.Select(c => c.Name));
        Assert.Equal(["SCRAM-SHA-1", "PLAIN"], features.Element("mechanisms", XmppNamespaces.Sasl)!.Elements("mechanism").Select(m => m.Text));
        Assert.Equal(XmppNamespaces.Sasl, events[2].Element!.Namespace);

        var bind = Assert.IsType<Iq>(events[5].Element);
        Assert.Equal(IqType.Result, bind.Type);
        Assert.Equal(XmppNamespaces.Client, bind.Namespace);
        Assert.Equal("alice@example.test/rec", bind.Element("bind", XmppNamespaces.Bind)!.ElementText("jid"));

        var disco = Assert.IsType<Iq>(events[7].Element);
        Assert.Equal(15, disco.Payload!.Elements("feature").Count());
        Assert.Equal("Prosody", disco.Payload.Element("identity")!.GetAttribute("name"));

        var presence = Assert.IsType<Presence>(events[8].Element);
        Assert.Equal("Testing the parser & friends", presence.ElementText("status"));
        Assert.Equal(XmppNamespaces.Client, presence.Element("show")!.Namespace);
        Assert.Equal("vcard-temp:x:update", presence.Element("x", "vcard-temp:x:update")!.Namespace);

        var message = Assert.IsType<Message>(events[10].Element);
        Assert.Equal(MessageType.Chat, message.Type);
        Assert.Equal("m1", message.Id);
        Assert.Equal("bob@example.test/rec", message.From!.ToString());
        Assert.Equal("Hello Alice! 5 < 6 && \"quoted\" 'single' ünïcödé 😀", message.Body);
        Assert.NotNull(message.Element("active", XmppNamespaces.ChatStates));
        Assert.NotNull(message.Element("request", XmppNamespaces.Receipts));
        Assert.Null(message.Text);

        Assert.Equal("<not markup> & raw after cdata", ((Message)events[12].Element!).Body);
        var normal = (Message)events[13].Element!;
        Assert.Equal(MessageType.Normal, normal.Type);
        Assert.Equal("Multi\nline", normal.Subject);
        Assert.Equal("line one\nline two\n\ttabbed", normal.Body);
        Assert.Null(events[14].Element);
    }

    [Fact]
    public void Prosody_session_gives_the_same_events_split_at_every_byte_boundary()
    {
        var data = ParserDriver.Fixture("prosody-session.xml");
        var expected = Describe(ParserDriver.FeedAll(data, resetAfter: RestartAfterSuccess));

        for (var split = 1; split < data.Length; split++)
        {
            Assert.Equal(expected, Describe(ParserDriver.FeedSegmented(data, [split, data.Length], resetAfter: RestartAfterSuccess)));
            Assert.Equal(expected, Describe(ParserDriver.FeedContiguous(data, [split, data.Length], resetAfter: RestartAfterSuccess)));
        }
    }

    [Theory]
    [InlineData("prosody-session.xml")]
    [InlineData("prefixes.xml")]
    [InlineData("component-session.xml")]
    [InlineData("text-and-entities.xml")]
    public void Fixture_gives_the_same_events_in_one_byte_reads_and_in_random_reads(string fixture)
    {
        var data = ParserDriver.Fixture(fixture);
        var expected = Describe(ParserDriver.FeedAll(data, resetAfter: RestartAfterSuccess));
        Assert.NotEmpty(expected);

        // One byte per read puts every multi-byte UTF-8 character, reference and tag across segment boundaries.
        Assert.Equal(expected, Describe(ParserDriver.FeedSegmented(data, [1], resetAfter: RestartAfterSuccess)));
        Assert.Equal(expected, Describe(ParserDriver.FeedContiguous(data, [1], resetAfter: RestartAfterSuccess)));

        var random = new Random(1234);
        for (var run = 0; run < 50; run++)
        {
            var sizes = Enumerable.Range(0, data.Length).Select(_ => random.Next(1, 40)).ToArray();
            Assert.Equal(expected, Describe(ParserDriver.FeedSegmented(data, sizes, resetAfter: RestartAfterSuccess)));
        }
    }

    [Fact]
    public void Prefixes_resolve_to_namespaces_in_scope()
    {
        var events = ParserDriver.FeedAll(ParserDriver.Fixture("prefixes.xml"));
        Assert.Equal(XmlStreamEventKind.StreamEnd, events[^1].Kind);

        var result = events[1].Element!;
        Assert.Equal(("result", "jabber:server:dialback"), (result.Name, result.Namespace));
        Assert.Equal("valid", result.GetAttribute("type"));

        // Not jabber:client, so not a Message.
        var message = events[2].Element!;
        Assert.IsNotType<Message>(message);
        Assert.Equal(("message", "jabber:server"), (message.Name, message.Namespace));
        Assert.Equal("de", message.GetAttribute("xml:lang"));

        var item = events[3].Element!;
        Assert.Equal(("item", "urn:example:x"), (item.Name, item.Namespace));
        Assert.Equal([new XmlAttribute("x:attr", "1"), new XmlAttribute("plain", "2")], item.Attributes);
        Assert.Equal(
            [("child", "urn:example:x"), ("child2", ""), ("deep", "urn:example:y"), ("other", "urn:example:x2")],
            item.Children.Select(c => (c.Name, c.Namespace)));
        Assert.Equal("none", item.Children[1].Text);
        var deep = item.Children[2];
        Assert.Equal("3", deep.GetAttribute("y:a"));
        Assert.Equal(("inner", "jabber:server"), (deep.Children[0].Name, deep.Children[0].Namespace));
        Assert.Same(item, deep.Parent);

        var features = events[4].Element!;
        Assert.Equal(("features", XmppNamespaces.Streams), (features.Name, features.Namespace));
        Assert.Equal(XmppNamespaces.Bind, features.Children[0].Namespace);
    }

    [Fact]
    public void Component_stream_yields_stanzas_in_the_component_namespace()
    {
        var parser = new XmlStreamParser(XmlLimits.Default, StanzaRootFactory.Instance);
        var buffer = new ReadOnlySequence<byte>(ParserDriver.Fixture("component-session.xml"));
        Assert.True(parser.TryRead(ref buffer, out var kind, out _));
        Assert.Equal(XmlStreamEventKind.StreamHeader, kind);
        Assert.Equal(XmppNamespaces.Component, parser.StreamNamespace);

        Assert.True(parser.TryRead(ref buffer, out _, out var handshake));
        Assert.Equal(("handshake", XmppNamespaces.Component), (handshake!.Name, handshake.Namespace));

        Assert.True(parser.TryRead(ref buffer, out _, out var message));
        Assert.Equal(XmppNamespaces.Component, Assert.IsType<Message>(message).Namespace);
        Assert.Equal("hi component", ((Message)message).Body);

        Assert.True(parser.TryRead(ref buffer, out _, out var iq));
        Assert.True(Assert.IsType<Iq>(iq).IsRequest);
        Assert.True(parser.TryRead(ref buffer, out _, out var presence));
        Assert.Equal(PresenceType.Unavailable, Assert.IsType<Presence>(presence).Type);
        Assert.True(parser.TryRead(ref buffer, out kind, out _));
        Assert.Equal(XmlStreamEventKind.StreamEnd, kind);
        Assert.True(buffer.IsEmpty);
    }

    [Fact]
    public void Entities_character_references_and_CDATA_become_text()
    {
        var events = ParserDriver.FeedAll(ParserDriver.Fixture("text-and-entities.xml"));
        var first = (Message)events[1].Element!;
        Assert.Equal("a < b && c > d \"q\" 's' AB😀 é中", first.Body);
        Assert.Equal("<b>bold</b> & ]] ]>", first.Subject);

        // Text split by child elements is concatenated; CDATA counts as text.
        var mixed = first.Element("x", "urn:example:mixed")!;
        Assert.Equal("onetwothreefour", mixed.Text);
        Assert.Equal(2, mixed.Children.Count);

        // White space is kept in a leaf, dropped as formatting between child elements.
        Assert.Equal("  ", first.Thread);
        var pretty = first.Element("y", "urn:example:pretty")!;
        Assert.Null(pretty.Text);
        Assert.Equal("inner", pretty.ElementText("z"));

        var second = (Message)events[2].Element!;
        var body = second.Element("body")!;
        Assert.Equal("tab\tnew\nline", body.Text);
        Assert.Equal("x\ty\nz\rw", body.GetAttribute("a"));
        Assert.Equal("p q r  s", body.GetAttribute("b"));
    }

    [Fact]
    public void Line_ends_are_normalized_in_text_and_attributes()
    {
        var events = ParserDriver.FeedAll(Bytes(Header + "<message id='a\r\nb\rc'><body>one\r\ntwo\rthree<![CDATA[\r\nfour\r]]></body></message>"));
        var message = (Message)events[1].Element!;
        Assert.Equal("one\ntwo\nthree\nfour\n", message.Body);
        Assert.Equal("a b c", message.Id);
    }

    [Fact]
    public void Stream_closed_mid_stanza_returns_false_and_leaves_the_buffer_unchanged()
    {
        var parser = new XmlStreamParser(XmlLimits.Default, StanzaRootFactory.Instance);
        var data = Bytes(Header + "<message to='a@b'><body>half a mess");
        var buffer = new ReadOnlySequence<byte>(data);
        Assert.True(parser.TryRead(ref buffer, out _, out _));

        var before = buffer;
        Assert.False(parser.TryRead(ref buffer, out _, out var element));
        Assert.Null(element);
        Assert.Equal(before.Start, buffer.Start);
        Assert.Equal(before.Length, buffer.Length);

        // Asking again with no new bytes changes nothing either.
        Assert.False(parser.TryRead(ref buffer, out _, out _));
        Assert.Equal(before.Start, buffer.Start);

        // When the rest arrives, the stanza completes from where the scanner stopped.
        var rest = Bytes("age</body></message>");
        var whole = new ReadOnlySequence<byte>([.. before.ToArray(), .. rest]);
        Assert.True(parser.TryRead(ref whole, out _, out var message));
        Assert.Equal("half a message", ((Message)message!).Body);
        Assert.True(whole.IsEmpty);
    }

    [Fact]
    public void Keepalive_white_space_is_consumed_without_an_event()
    {
        var parser = new XmlStreamParser(XmlLimits.Default, StanzaRootFactory.Instance);
        var buffer = new ReadOnlySequence<byte>(Bytes(Header + " \n\t \r\n "));
        Assert.True(parser.TryRead(ref buffer, out _, out _));
        Assert.False(parser.TryRead(ref buffer, out _, out _));
        Assert.True(buffer.IsEmpty);

        buffer = new ReadOnlySequence<byte>(Bytes("  <presence/>  "));
        Assert.True(parser.TryRead(ref buffer, out _, out var presence));
        Assert.IsType<Presence>(presence);
        Assert.False(parser.TryRead(ref buffer, out _, out _));
        Assert.True(buffer.IsEmpty);
    }

    [Fact]
    public void A_large_stanza_arriving_in_small_reads_is_scanned_once()
    {
        var body = new string('x', 200_000);
        var data = Bytes(Header + $"<message><body>{body}</body></message>");
        var parser = new XmlStreamParser(XmlLimits.Default, StanzaRootFactory.Instance);
        var events = ParserDriver.FeedSegmented(data, [7], parser: parser);
        Assert.Equal(body, ((Message)events[^1].Element!).Body);

        // Each byte is examined by the scanner once, not once per read (which would be about three billion bytes here).
        Assert.InRange(parser.BytesScanned, data.Length - 2, data.Length);
    }

    [Fact]
    public void Self_closing_stream_header_is_followed_by_the_stream_end()
    {
        var parser = new XmlStreamParser(XmlLimits.Default, StanzaRootFactory.Instance);
        var buffer = new ReadOnlySequence<byte>(Bytes("<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client'/>"));
        Assert.True(parser.TryRead(ref buffer, out var kind, out _));
        Assert.Equal(XmlStreamEventKind.StreamHeader, kind);
        Assert.True(parser.TryRead(ref buffer, out kind, out var element));
        Assert.Equal(XmlStreamEventKind.StreamEnd, kind);
        Assert.Null(element);
        Assert.True(buffer.IsEmpty);
    }

    [Fact]
    public void XML_declaration_and_byte_order_mark_are_accepted_at_the_start_and_again_after_reset()
    {
        var parser = new XmlStreamParser(XmlLimits.Default, StanzaRootFactory.Instance);
        var buffer = new ReadOnlySequence<byte>([0xEF, 0xBB, 0xBF, .. Bytes("<?xml version='1.0' encoding='utf-8' standalone='yes'?>\n" + Header)]);
        Assert.True(parser.TryRead(ref buffer, out var kind, out _));
        Assert.Equal(XmlStreamEventKind.StreamHeader, kind);
        Assert.Equal(XmppNamespaces.Client, parser.StreamNamespace);

        parser.Reset();
        Assert.Null(parser.StreamNamespace);
        buffer = new ReadOnlySequence<byte>(Bytes("<?xml version=\"1.0\"?>" + Header.Replace("jabber:client", "jabber:component:accept")));
        Assert.True(parser.TryRead(ref buffer, out kind, out _));
        Assert.Equal(XmlStreamEventKind.StreamHeader, kind);
        Assert.Equal(XmppNamespaces.Component, parser.StreamNamespace);
    }

    [Fact]
    public void A_complete_declaration_is_consumed_while_the_header_is_incomplete()
    {
        var parser = new XmlStreamParser(XmlLimits.Default, StanzaRootFactory.Instance);
        var declaration = "<?xml version='1.0'?>";
        var buffer = new ReadOnlySequence<byte>(Bytes(declaration + "<stream:str"));
        Assert.False(parser.TryRead(ref buffer, out _, out _));
        Assert.Equal("<stream:str", Encoding.UTF8.GetString(buffer));
    }

    [Fact]
    public void Names_and_frequent_values_are_shared_between_stanzas()
    {
        var stanza = "<message type='chat' to='a@b'><body>x</body><custom-extension xmlns='urn:example:custom' kind='k'/></message>";
        var events = ParserDriver.FeedAll(Bytes(Header + stanza + stanza));
        var first = events[1].Element!;
        var second = events[2].Element!;
        Assert.Same(first.Name, second.Name);
        Assert.Same(first.Attributes[0].Name, second.Attributes[0].Name);
        Assert.Same(first.Attributes[0].Value, second.Attributes[0].Value);
        Assert.Same(first.Children[1].Name, second.Children[1].Name);
        Assert.Same(first.Children[1].Namespace, second.Children[1].Namespace);
        Assert.Same(first.Children[1].Attributes[0].Name, second.Children[1].Attributes[0].Name);
    }

    [Fact]
    public void Empty_and_self_closing_elements_have_no_text()
    {
        var events = ParserDriver.FeedAll(Bytes(Header + "<message><body></body><subject/><thread><![CDATA[]]></thread></message>"));
        var message = (Message)events[1].Element!;
        Assert.All(message.Children, c => Assert.Null(c.Text));
    }

    [Fact]
    public void Attribute_values_may_use_either_quote_and_contain_the_other()
    {
        var events = ParserDriver.FeedAll(Bytes(Header + "<message a=\"it's\" b='say \"hi\"' c = 'spaced' />"));
        var message = events[1].Element!;
        Assert.Equal("it's", message.GetAttribute("a"));
        Assert.Equal("say \"hi\"", message.GetAttribute("b"));
        Assert.Equal("spaced", message.GetAttribute("c"));
    }

    [Fact]
    public void Non_ASCII_names_are_accepted()
    {
        var events = ParserDriver.FeedAll(Bytes(Header + "<données xmlns='urn:example:fr' clé='v'><élément/></données>"));
        var element = events[1].Element!;
        Assert.Equal("données", element.Name);
        Assert.Equal("v", element.GetAttribute("clé"));
        Assert.Equal("élément", element.Children[0].Name);
    }

    private static List<string> Describe(List<ParsedEvent> events) => events.Select(e => e.Describe()).ToList();

    private static byte[] Bytes(string s) => Encoding.UTF8.GetBytes(s);
}
