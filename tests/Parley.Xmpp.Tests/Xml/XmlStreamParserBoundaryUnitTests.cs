using System.Buffers;
using System.Text;

namespace Parley.Xmpp.Tests.Xml;

/// <summary>
/// Limits at their exact edge, the envelope kept from a refused stanza, and stream-level details (the stream's end tag,
/// restarts, items split over many segments), each fed every way <see cref="ParserDriver.EveryWay"/> knows.
/// </summary>
public class XmlStreamParserBoundaryUnitTests
{
    private const string Header = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.test' version='1.0'>";
    private const string After = "<message id='after'><body>still here</body></message>";

    [Theory]
    [InlineData(0, false)]
    [InlineData(1, true)]
    [InlineData(1024, true)]
    public void A_stanza_at_the_size_limit_passes_and_one_byte_more_is_refused_up_to_the_hard_cap(int over, bool refused)
    {
        var expected = refused ? XmlStreamEventKind.Refused : XmlStreamEventKind.Element;
        var limits = new XmlLimits { MaxStanzaBytes = 1024, MaxSkippedStanzaBytes = 2048 };
        var stanza = Stanza(1024 + over);
        foreach (var feed in ParserDriver.EveryWay(Bytes(Header + stanza + After), limits))
        {
            var events = feed();
            Assert.Equal([XmlStreamEventKind.StreamHeader, expected, XmlStreamEventKind.Element], events.Select(e => e.Kind));
            Assert.Equal("big", events[1].Element!.GetAttribute("id"));
            Assert.Equal(expected == XmlStreamEventKind.Refused ? "The stanza is larger than the limit of 1024 bytes" : null, events[1].Reason);
            Assert.Equal("after", events[2].Element!.GetAttribute("id"));
        }
    }

    [Fact]
    public void One_byte_over_the_hard_cap_closes_the_stream_at_the_stanzas_first_byte()
    {
        var limits = new XmlLimits { MaxStanzaBytes = 1024, MaxSkippedStanzaBytes = 2048 };
        ParserDriver.AssertFails(Bytes(Header + Stanza(2049) + After), Header.Length, "A top-level element is larger than the limit of 2048 bytes", "policy-violation", limits);
    }

    [Fact]
    public void A_stream_header_at_the_size_limit_passes_and_one_byte_more_closes_the_stream()
    {
        var limits = new XmlLimits { MaxStanzaBytes = Header.Length };
        foreach (var feed in ParserDriver.EveryWay(Bytes(Header + "<a/>"), limits))
        {
            Assert.Equal([XmlStreamEventKind.StreamHeader, XmlStreamEventKind.Element], feed().Select(e => e.Kind));
        }

        var longer = Header.Replace("version='1.0'", "version='1.0' ", StringComparison.Ordinal);
        ParserDriver.AssertFails(Bytes("<?xml version='1.0'?>" + longer), 21, $"The stream header is larger than the limit of {Header.Length} bytes", "policy-violation", limits);
    }

    [Fact]
    public void A_stanza_both_too_deep_and_too_large_is_refused_for_the_limit_it_broke_first()
    {
        var limits = new XmlLimits { MaxStanzaBytes = 1024, MaxDepth = 4 };
        var deep = string.Concat(Enumerable.Repeat("<a>", 5)) + string.Concat(Enumerable.Repeat("</a>", 5));
        var stanza = $"<message id='both'>{deep}<body>{new string('x', 2000)}</body></message>";
        foreach (var feed in ParserDriver.EveryWay(Bytes(Header + stanza + After), limits))
        {
            var events = feed();
            Assert.Equal(XmlStreamEventKind.Refused, events[1].Kind);
            Assert.Equal("Elements are nested deeper than the limit of 4", events[1].Reason);
            Assert.Equal("after", events[2].Element!.GetAttribute("id"));
        }
    }

    [Theory]
    [InlineData(64, true)]
    [InlineData(65, false)]
    public void A_refused_stanza_keeps_its_envelope_only_while_the_root_name_is_short(int nameLength, bool kept)
    {
        var name = new string('r', nameLength);
        var envelope = Refused($"<{name} id='n'>{Nest(40)}</{name}>");
        Assert.Equal(kept, envelope is not null);
        if (kept)
        {
            Assert.Equal((name, "n"), (envelope!.Name, envelope.GetAttribute("id")));
        }
    }

    [Theory]
    [InlineData(15, true)]
    [InlineData(16, false)]
    public void The_envelope_keeps_at_most_sixteen_attributes(int declarations, bool idKept)
    {
        // Namespace declarations count as kept attributes; the id after them is the seventeenth when there are sixteen.
        var xmlns = string.Concat(Enumerable.Range(0, declarations).Select(i => $" xmlns:p{i}='urn:p{i}'"));
        var envelope = Refused($"<message{xmlns} id='many'>{Nest(40)}</message>")!;
        Assert.Equal(idKept ? "many" : null, envelope.GetAttribute("id"));
    }

    [Theory]
    [InlineData(3072, true)]
    [InlineData(3073, false)]
    public void The_envelope_keeps_an_address_up_to_the_longest_JID(int length, bool kept)
    {
        var from = new string('f', length);
        var envelope = Refused($"<message from='{from}' id='j'>{Nest(40)}</message>")!;
        Assert.Equal(kept ? from : null, envelope.GetAttribute("from"));
        Assert.Equal("j", envelope.GetAttribute("id"));
    }

    [Fact]
    public void The_envelope_reads_white_space_around_the_equals_sign_and_empty_values()
    {
        var envelope = Refused($"<message from \t= \n'a@example.test/r' id=\"\" type='chat'>{Nest(40)}</message>")!;
        Assert.Equal("a@example.test/r", envelope.GetAttribute("from"));
        Assert.Equal(string.Empty, envelope.GetAttribute("id"));
        Assert.Equal("chat", envelope.GetAttribute("type"));
    }

    [Theory]
    [InlineData("<message ='x'>")]
    [InlineData("<message from 'a'>")]
    [InlineData("<message from=a>")]
    [InlineData("<message from='a&bogus;'>")]
    public void A_refused_stanza_with_a_malformed_start_tag_has_no_envelope(string startTag)
        => Assert.Null(Refused(startTag + Nest(40) + "</message>"));

    [Fact]
    public void The_stream_end_tag_may_have_white_space_before_its_bracket()
    {
        foreach (var feed in ParserDriver.EveryWay(Bytes(Header + After + "</stream:stream \r\n>")))
        {
            Assert.Equal([XmlStreamEventKind.StreamHeader, XmlStreamEventKind.Element, XmlStreamEventKind.StreamEnd], feed().Select(e => e.Kind));
        }
    }

    [Fact]
    public void A_stream_restarted_after_a_stanza_with_late_namespace_declarations_reads_the_new_header()
    {
        // The stanza's declarations sit far into it, further than the new header is long.
        var stanza = $"<message id='{new string('i', 300)}' xmlns:a='urn:a' xmlns:b='urn:b'><a:x/><b:y/></message>";
        var events = ParserDriver.FeedAll(Bytes(Header + stanza + Header + After), resetAfter: e => e.Element?.GetAttribute("id")?.Length == 300);
        Assert.Equal(
            [XmlStreamEventKind.StreamHeader, XmlStreamEventKind.Element, XmlStreamEventKind.StreamHeader, XmlStreamEventKind.Element],
            events.Select(e => e.Kind));
        Assert.Equal("jabber:client", events[3].Element!.Namespace);
    }

    [Fact]
    public void A_CDATA_section_with_brackets_not_followed_by_its_end_keeps_scanning_to_the_real_end()
    {
        foreach (var feed in ParserDriver.EveryWay(Bytes(Header + "<message><body><![CDATA[a]]b]]]<c>]]></body></message>" + After)))
        {
            var events = feed();
            Assert.Equal(3, events.Count);
            Assert.Equal("a]]b]]]<c>", Assert.IsType<Message>(events[1].Element).Body);
        }
    }

    [Fact]
    public void Keep_alives_before_an_item_in_one_of_many_segments_are_skipped_exactly()
    {
        // All segments are there at once, as when a pipe holds several reads: the white space ends in the first one.
        string[] pieces = [Header, "  <message id='1'/>", " \n<message id='2'/>", "\t<message id='3'/>"];
        ParserDriver.Segment first = new(Bytes(pieces[0]), 0), last = first;
        foreach (var piece in pieces.Skip(1))
        {
            last = last.Append(Bytes(piece));
        }

        var buffer = new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
        var parser = new XmlStreamParser(XmlLimits.Default, StanzaRootFactory.Instance);
        var read = new List<string>();
        while (parser.TryRead(ref buffer, out var kind, out var element))
        {
            read.Add(kind == XmlStreamEventKind.StreamHeader ? "header" : $"{element!.Name} {element.GetAttribute("id")}");
        }

        Assert.Equal(["header", "message 1", "message 2", "message 3"], read);
        Assert.Equal(0, buffer.Length);
    }

    /// <summary>A message of exactly <paramref name="bytes"/> bytes with id 'big'.</summary>
    private static string Stanza(int bytes)
    {
        const string Open = "<message from='a@example.test/r' id='big'><body>", Close = "</body></message>";
        return Open + new string('a', bytes - Open.Length - Close.Length) + Close;
    }

    private static string Nest(int depth) => string.Concat(Enumerable.Repeat("<a>", depth)) + string.Concat(Enumerable.Repeat("</a>", depth));

    /// <summary>Feeds a stanza that is refused (too deep) every way and returns its envelope, the same every way.</summary>
    private static XmppElement? Refused(string stanza)
    {
        var described = new HashSet<string>();
        XmppElement? envelope = null;
        foreach (var feed in ParserDriver.EveryWay(Bytes(Header + stanza + After)))
        {
            var events = feed();
            Assert.Equal([XmlStreamEventKind.StreamHeader, XmlStreamEventKind.Refused, XmlStreamEventKind.Element], events.Select(e => e.Kind));
            Assert.Equal("Elements are nested deeper than the limit of 32", events[1].Reason);
            Assert.Equal("after", events[2].Element!.GetAttribute("id"));
            described.Add(events[1].Describe());
            envelope = events[1].Element;
        }

        Assert.Single(described);
        return envelope;
    }

    private static byte[] Bytes(string s) => Encoding.UTF8.GetBytes(s);
}
