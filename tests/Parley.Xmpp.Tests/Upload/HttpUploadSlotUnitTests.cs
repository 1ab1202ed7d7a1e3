using Parley.Xmpp.Upload;

namespace Parley.Xmpp.Tests.Upload;

public sealed class HttpUploadSlotUnitTests
{
    private static readonly Jid Service = Jid.Parse("upload.example.org");

    private static Iq Answer(string slotXml)
    {
        var iq = new Iq(IqType.Result);
        iq.Add(Accounts.TestXml.Parse(slotXml));
        return iq;
    }

    [Fact]
    public void Only_the_allowed_headers_are_kept_in_order_with_newlines_stripped()
    {
        var slot = HttpUpload.ParseSlot(Answer("""
            <slot xmlns='urn:xmpp:http:upload:0'>
              <put url='https://upload.example.org/put/abc/x.pdf'>
                <header name='authorization'>Basic Zm9v&#10;YmFy</header>
                <header name='X-Evil'>1</header>
                <header name='Cookie'>a=1</header>
                <header name='Host'>attacker.example</header>
                <header name='Cookie'>b=2</header>
                <header name='Expires'>Tue, 01 Jan 2030 00:00:00 GMT</header>
              </put>
              <get url='https://download.example.org/abc/x.pdf'/>
            </slot>
            """), Service);

        Assert.Equal(new Uri("https://upload.example.org/put/abc/x.pdf"), slot.PutUrl);
        Assert.Equal("https://download.example.org/abc/x.pdf", slot.GetUrl.OriginalString);
        Assert.Equal(
            [new("Authorization", "Basic Zm9vYmFy"), new("Cookie", "a=1"), new("Cookie", "b=2"), new("Expires", "Tue, 01 Jan 2030 00:00:00 GMT")],
            slot.PutHeaders);
    }

    [Theory]
    [InlineData("<slot xmlns='urn:xmpp:http:upload:0'><get url='https://a.example/x'/></slot>")]
    [InlineData("<slot xmlns='urn:xmpp:http:upload:0'><put url='https://a.example/x'/></slot>")]
    [InlineData("<slot xmlns='urn:xmpp:http:upload:0'><put url='ftp://a.example/x'/><get url='https://a.example/x'/></slot>")]
    [InlineData("<slot xmlns='urn:xmpp:http:upload:0'><put url='/relative'/><get url='https://a.example/x'/></slot>")]
    [InlineData("<other xmlns='urn:xmpp:http:upload:0'/>")]
    public void A_slot_without_usable_urls_is_an_invalid_slot(string xml)
    {
        var error = Assert.Throws<HttpUploadException>(() => HttpUpload.ParseSlot(Answer(xml), Service));
        Assert.Equal(HttpUploadError.InvalidSlot, error.Error);
    }

    [Fact]
    public void The_link_message_body_is_exactly_the_url_and_carries_oob()
    {
        var url = new Uri("https://download.example.org/a%20b/r%C3%A9port.pdf");
        var message = OutOfBand.CreateLinkMessage(Jid.Parse("juliet@example.org"), url);
        Assert.Equal("https://download.example.org/a%20b/r%C3%A9port.pdf", message.Body);
        Assert.Equal(message.Body, message.Element("x", "jabber:x:oob")?.ElementText("url", "jabber:x:oob"));
        Assert.Equal(MessageType.Chat, message.Type);
    }

    [Theory]
    [InlineData(999, "999 bytes")]
    [InlineData(2_411_725, "2.3 MB")]
    [InlineData(1536, "1.5 KB")]
    public void Sizes_are_formatted_for_people(long bytes, string text) => Assert.Equal(text, HttpUpload.FormatSize(bytes));
}
