using System.Text;

namespace Parley.Xmpp.Tests.Xml;

/// <summary>
/// What a peer is told when its stream is malformed: the stream error's text names the problem and the byte offset of the
/// offending byte, the same however the bytes were split between reads. In each case '^' marks that byte (and is removed).
/// </summary>
public class XmlStreamParserErrorReportUnitTests
{
    private const string Header = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.test' version='1.0'>";

    // A stanza before the bad one: its bytes count in the offset, and it takes the buffered builder's path when read whole.
    private const string Ok = "<message id='ok'><body>fine</body></message>";

    private const string Restricted = "restricted-xml";

    [Theory]
    [InlineData("^<?xmm version='1.0'?>", "Processing instructions are not allowed in XMPP", Restricted)]
    [InlineData("<?xml version='1.0' ?^ ?>", "Expected '>'", null)]
    [InlineData("<?xml version='1.0'^encoding='UTF-8'?>", "Malformed XML declaration", null)]
    [InlineData("<?xml version='1.0' ^zz='1'?>", "Malformed XML declaration", null)]
    [InlineData("<?xml version='1.0' ^foo='bar'?>", "Malformed XML declaration", null)]
    [InlineData("<?xml version='^1.0?>", "Malformed XML declaration", null)]
    [InlineData("<?xml version='1.0' ^version='1.0'?>", "Malformed XML declaration", null)]
    [InlineData("<?xml ^encoding='UTF-8'?>", "Malformed XML declaration", null)]
    [InlineData("<?xml version='1.0' standalone='yes' ^encoding='UTF-8'?>", "Malformed XML declaration", null)]
    [InlineData("<?xml version='1.0' standalone='yes' ^standalone='no'?>", "Malformed XML declaration", null)]
    [InlineData("<?xml version='1.0' standalone='^maybe'?>", "Malformed XML declaration", null)]
    [InlineData("<?xml version=^1.0?>", "Malformed XML declaration", null)]
    [InlineData("<?xml version ^'1.0'?>", "Expected '='", null)]
    [InlineData("^<?xml ?>", "The XML declaration has no version", null)]
    [InlineData("<?xml version='^'?>", "Unsupported XML version ''", null)]
    [InlineData("<?xml version='^1.'?>", "Unsupported XML version '1.'", null)]
    [InlineData("<?xml version='^2.0'?>", "Unsupported XML version '2.0'", null)]
    [InlineData("<?xml version='^1.x'?>", "Unsupported XML version '1.x'", null)]
    [InlineData("<?xml version='1.0' encoding='^latin1'?>", "Unsupported encoding 'latin1'; XMPP uses UTF-8", "unsupported-encoding")]
    [InlineData("<?xml version='1.0' encoding='^a>b'?>", "Unsupported encoding 'a>b'; XMPP uses UTF-8", "unsupported-encoding")]
    [InlineData("<?xml version='1.0' ^<", "'<' inside the XML declaration", null)]
    [InlineData("<?xml version='1.0' encoding='UTF-8^\u0001'?>", "The character U+0001 is not allowed in XML", null)]
    [InlineData("<?xml version='1.0'?> ^<?xml version='1.0'?>", "Processing instructions are not allowed in XMPP", Restricted)]
    public void A_malformed_XML_declaration_is_reported_where_it_goes_wrong(string declaration, string message, string? condition)
        => AssertError(declaration + Header, message, condition);

    [Theory]
    [InlineData("<?xml version='1.0'?>")]
    [InlineData("<?xml version=\"1.10\" encoding='utf-8' standalone='no'?>")]
    [InlineData("<?xml  version = '1.0'\tencoding='UTF-8' standalone='yes' ?>")]
    public void A_well_formed_XML_declaration_is_accepted_by_a_new_parser(string declaration)
    {
        foreach (var events in Feeds(Bytes(declaration + "\n" + Header + Ok)))
        {
            Assert.Equal([XmlStreamEventKind.StreamHeader, XmlStreamEventKind.Element], events.Select(e => e.Kind));
            Assert.Equal("ok", events[1].Element!.GetAttribute("id"));
        }
    }

    [Theory]
    [InlineData("^hello", "Expected '<' to open the stream but found byte 0x68", null)]
    [InlineData("  ^\u0001", "Expected '<' to open the stream but found byte 0x01", null)]
    [InlineData("^</stream:stream>", "An end tag before the stream header", null)]
    [InlineData(" ^<?xml version='1.0'?>" + Header, "Processing instructions are not allowed in XMPP", Restricted)]
    [InlineData("^<stream:strem xmlns:stream='http://etherx.jabber.org/streams'>", "The stream root element is <strem>, expected <stream:stream>", "bad-format")]
    [InlineData("<stream:stream xmlns:stream='http://etherx.jabber.org/streams'/>^<message/>", "Data after the end of the stream", null)]
    [InlineData("^<stream:stream xmlns:stream='urn:wrong'>", "The stream element is in namespace 'urn:wrong', expected 'http://etherx.jabber.org/streams'", "invalid-namespace")]
    [InlineData("<stream:stream xmlns:stream='http://etherx.jabber.org/streams' to='a^\u0001'>", "The character U+0001 is not allowed in XML", null)]
    [InlineData("<stream:stream xmlns:stream='http://etherx.jabber.org/streams' to='a^\uFFFF'>", "The character U+FFFF is not allowed in XML", null)]
    public void A_bad_stream_opening_is_reported_where_it_goes_wrong(string stream, string message, string? condition)
        => AssertError(stream, message, condition);

    [Theory]
    [InlineData("^x", "Character data is not allowed between top-level elements", "bad-format")]
    [InlineData(" \n ^x", "Character data is not allowed between top-level elements", "bad-format")]
    [InlineData("^\0", "Character data is not allowed between top-level elements", "bad-format")]
    [InlineData("^\uFEFF<message/>", "Character data is not allowed between top-level elements", "bad-format")]
    [InlineData("<message ^<body>", "'<' inside a tag", null)]
    [InlineData("<message/^ >", "Expected '>' after '/' in a tag", null)]
    [InlineData("<message id='a^<b'/>", "'<' in an attribute value", null)]
    [InlineData("<message><body></body ^<x/></message>", "'<' inside an end tag", null)]
    [InlineData("<message>^<!-- note --></message>", "Comments are not allowed in XMPP", Restricted)]
    [InlineData("<message>^<!ATTLIST message id CDATA #IMPLIED></message>", "Document type and entity declarations (<!DOCTYPE, <!ENTITY) are not allowed in XMPP", Restricted)]
    [InlineData("<message>^<!ZZ></message>", "Document type and entity declarations (<!DOCTYPE, <!ENTITY) are not allowed in XMPP", Restricted)]
    [InlineData("^<![CDATA[x]]>", "A CDATA section is not allowed between top-level elements", null)]
    [InlineData("<message>^<![CDATX[x]]></message>", "Malformed markup after '<!'", null)]
    [InlineData("<message>^<!x></message>", "Malformed markup after '<!'", null)]
    [InlineData("<message>^<?pi x?></message>", "Processing instructions are not allowed in XMPP", Restricted)]
    [InlineData("<message><body>é ^\u0001</body></message>", "The character U+0001 is not allowed in XML", null)]
    [InlineData("<message><body>a^\uFFFE</body></message>", "The character U+FFFE is not allowed in XML", null)]
    [InlineData("<message><body>a\uFFFD^\uFFFF</body></message>", "The character U+FFFF is not allowed in XML", null)]
    [InlineData("^</stream:streem>", "Mismatched end tag </stream:streem> for the stream element", null)]
    [InlineData("^</stream>", "Mismatched end tag </stream> for the stream element", null)]
    [InlineData("</stream:stream ^x>", "Expected '>'", null)]
    [InlineData("</stream:stream^\u0001>", "The character U+0001 is not allowed in XML", null)]
    [InlineData("</stream:stream>^<message/>", "Data after the end of the stream", null)]
    [InlineData("</stream:stream> \r\n^x", "Data after the end of the stream", null)]
    public void A_malformed_stream_is_reported_where_it_goes_wrong(string afterHeader, string message, string? condition)
    {
        AssertError(Header + afterHeader, message, condition);
        AssertError(Header + Ok + afterHeader, message, condition);
    }

    [Fact]
    public void Characters_past_the_quick_check_are_still_checked()
    {
        // Many non-ASCII characters take the vectorized check; the forbidden one is found there, at its own offset.
        var text = string.Concat(Enumerable.Repeat("é\uFFFD", 40));
        AssertError(Header + Ok + $"<message><body>{text}^\uFFFE</body></message>", "The character U+FFFE is not allowed in XML", null);
        AssertError(Header + Ok + $"<message><body>{text}^\u0002</body></message>", "The character U+0002 is not allowed in XML", null);

        // U+FFFD, the last character before U+FFFE, is allowed there too.
        foreach (var events in Feeds(Bytes(Header + $"<message><body>{text}</body></message>")))
        {
            Assert.Equal(text, Assert.IsType<Message>(events[1].Element).Body);
        }
    }

    [Fact]
    public void Invalid_UTF8_after_valid_characters_is_reported_at_its_first_byte()
    {
        var prefix = Bytes(Header + Ok + "<message><body>é ü ");
        byte[] data = [.. prefix, 0xC0, 0xAF, .. Bytes("</body></message>")];
        AssertErrorAt(data, prefix.Length, "Invalid UTF-8", null);
    }

    [Theory]
    [InlineData(new byte[] { 0xEF, 0x3C })]
    [InlineData(new byte[] { 0xEF, 0xBB, 0x3C })]
    [InlineData(new byte[] { 0xEF, 0x3C, 0xBF })]
    public void A_broken_byte_order_mark_is_refused_as_soon_as_it_is_seen(byte[] start)
        => AssertErrorAt(start, 0, "The stream does not start with '<'", null);

    [Fact]
    public void A_byte_order_mark_split_over_reads_is_skipped()
    {
        foreach (var events in Feeds([0xEF, 0xBB, 0xBF, .. Bytes(Header + Ok)]))
        {
            Assert.Equal([XmlStreamEventKind.StreamHeader, XmlStreamEventKind.Element], events.Select(e => e.Kind));
        }
    }

    private static void AssertError(string marked, string message, string? condition)
    {
        var at = marked.IndexOf('^', StringComparison.Ordinal);
        Assert.True(at >= 0, "The case marks the offending byte with '^'.");
        var text = marked.Remove(at, 1);
        AssertErrorAt(Bytes(text), Encoding.UTF8.GetByteCount(text[..at]), message, condition);
    }

    private static void AssertErrorAt(byte[] data, long offset, string message, string? condition)
        => ParserDriver.AssertFails(data, offset, message, condition ?? "not-well-formed");

    private static IEnumerable<List<ParsedEvent>> Feeds(byte[] data) => ParserDriver.EveryWay(data).Select(feed => feed());

    private static byte[] Bytes(string s) => Encoding.UTF8.GetBytes(s);
}
