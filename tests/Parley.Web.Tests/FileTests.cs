using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using Microsoft.Playwright;
using Parley.Testing;
using Parley.Web.Api;
using Parley.Web.Chat;
using Parley.Web.Storage;
using Parley.Web.Text;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Upload;

namespace Parley.Web.Tests;

/// <summary>Files both ways: a visitor's upload reaches the owner as a link with jabber:x:oob; the owner's files show as downloads.</summary>
[Collection(ServerFixture.CollectionName)]
public sealed class FileTests(ServerFixture servers)
{
    private const string XssName = "<img src=x onerror=\"document.title='pwned'\">.txt";

    [Theory]
    [MemberData(nameof(Servers.Kinds), MemberType = typeof(Servers))]
    public async Task A_visitors_file_reaches_the_owner_as_a_download_link_with_oob(string kind)
    {
        var server = await servers.GetAsync(kind);
        await using var owner = await Owner.ConnectAsync(server);
        var folder = NewFolder();
        await using var gateway = await GatewayHost.StartAsync(server, owner.Account.Jid.ToString(), null, $"--Parley:Files:Directory={folder}");
        await gateway.WaitConnectedAsync();
        using var visitor = gateway.NewVisitor();
        await visitor.SignInAsGuestAsync("Uploader");
        var content = Encoding.UTF8.GetBytes("<html><script>alert(1)</script></html>");

        using var response = await UploadAsync(visitor, "../../etc/report <1>.html", content, "text/html");
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var sent = (await response.Content.ReadFromJsonAsync<JsonElement>())!;
        var file = sent.GetProperty("file");
        Assert.Equal("report <1>.html", file.GetProperty("name").GetString());
        Assert.Equal(content.Length, file.GetProperty("size").GetInt64());
        var url = file.GetProperty("url").GetString()!;
        Assert.Equal(url, sent.GetProperty("text").GetString());

        // The owner: body exactly the URL, the same URL in jabber:x:oob, from the visitor's JID.
        var atOwner = await owner.NextMessageAsync();
        Assert.Equal(url, atOwner.Body);
        Assert.Equal(new Uri(url), OutOfBand.GetUrl(atOwner));
        Assert.Equal("report <1>.html", atOwner.Element("x", OutOfBand.DataNamespace)!.ElementText("desc", OutOfBand.DataNamespace));
        Assert.Equal(Jid.Create(visitor.Conversation!, server.ComponentDomain), atOwner.From!.Bare);

        // Stored under a random name in the files folder, never under the visitor's name.
        var stored = Assert.Single(Directory.GetFiles(folder));
        var key = Path.GetFileName(stored);
        Assert.Equal(43, key.Length);
        Assert.Contains("/files/" + key + "/", url, StringComparison.Ordinal);
        Assert.Equal(content, await File.ReadAllBytesAsync(stored));

        // The download (what the owner's client fetches, without a cookie): the bytes, as an opaque attachment.
        using var anonymous = new HttpClient();
        using var download = await anonymous.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        Assert.Equal(content, await download.Content.ReadAsByteArrayAsync());
        Assert.Equal("application/octet-stream", download.Content.Headers.ContentType?.MediaType);
        Assert.Equal("attachment", download.Content.Headers.ContentDisposition?.DispositionType);
        Assert.Equal("nosniff", download.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Contains("sandbox", download.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        using var guessed = await anonymous.GetAsync(new Uri(gateway.BaseAddress, "/files/" + new string('A', 43) + "/x.txt"));
        Assert.Equal(HttpStatusCode.NotFound, guessed.StatusCode);
        using var traversal = await anonymous.GetAsync(new Uri(gateway.BaseAddress, "/files/..%2F..%2Fparley.db/x"));
        Assert.Equal(HttpStatusCode.NotFound, traversal.StatusCode);

        var history = await visitor.HistoryAsync();
        Assert.Equal([url], history.Messages.Select(m => m.Text));
        Assert.Equal("report <1>.html", history.Messages[0].File!.Name);
    }

    [Fact]
    public async Task Uploads_are_limited_in_size_need_the_antiforgery_token_and_a_name_and_can_be_switched_off()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        var folder = NewFolder();
        await using var gateway = await GatewayHost.StartAsync(server, "owner@" + server.Domain, null, "--Parley:Files:MaxBytes=1000", "--Parley:MessagesPerMinute=100", $"--Parley:Files:Directory={folder}");
        using var visitor = gateway.NewVisitor();
        await visitor.SignInAsGuestAsync("Limits");

        using (var exact = await UploadAsync(visitor, "ok.bin", new byte[1000]))
        {
            Assert.Equal(HttpStatusCode.Accepted, exact.StatusCode);
        }

        using (var tooLarge = await UploadAsync(visitor, "big.bin", new byte[1001]))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.StatusCode);
        }

        // Without a declared length (chunked), the count while copying stops it.
        using (var chunked = await UploadAsync(visitor, "big.bin", new byte[5000], chunked: true))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, chunked.StatusCode);
        }

        using (var empty = await UploadAsync(visitor, "empty.bin", []))
        {
            Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);
        }

        using (var nameless = await UploadAsync(visitor, "/", [1, 2, 3]))
        {
            Assert.Equal(HttpStatusCode.BadRequest, nameless.StatusCode);
        }

        using (var forged = await UploadAsync(visitor, "forged.bin", [1, 2, 3], withToken: false))
        {
            Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        }

        using var other = gateway.NewVisitor();
        await other.SignInAsGuestAsync("Other");
        using (var foreign = await other.Http.SendAsync(UploadRequest(other, $"/api/conversations/{visitor.Conversation}/files", "x.bin", [1], withToken: true, chunked: false)))
        {
            Assert.Equal(HttpStatusCode.NotFound, foreign.StatusCode);
        }

        Assert.Single(Directory.GetFiles(folder));
        Assert.Equal(["ok.bin"], (await visitor.HistoryAsync()).Messages.Select(m => m.File!.Name));

        await using var off = await GatewayHost.StartAsync(server, "owner@" + server.Domain, null, "--Parley:Files:Enabled=false");
        using var blocked = off.NewVisitor();
        await blocked.SignInAsGuestAsync("Blocked");
        using var refused = await UploadAsync(blocked, "x.bin", [1]);
        Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
    }

    [Theory]
    [MemberData(nameof(Servers.Kinds), MemberType = typeof(Servers))]
    public async Task The_owners_files_show_as_downloads_and_plain_links_stay_text(string kind)
    {
        var server = await servers.GetAsync(kind);
        await using var owner = await Owner.ConnectAsync(server);
        await using var gateway = await GatewayHost.StartAsync(server, owner.Account.Jid.ToString());
        await gateway.WaitConnectedAsync();
        using var visitor = gateway.NewVisitor();
        await visitor.SignInAsGuestAsync("Receiver");
        var jid = Jid.Create(visitor.Conversation!, server.ComponentDomain);
        await using var tab = await visitor.OpenTabAsync();

        var upload = new Uri("https://upload.example.org/slot/a1b2/price%20list%20%3Cb%3E.pdf");
        await owner.Client.SendAsync(OutOfBand.CreateLinkMessage(jid, upload));
        await owner.Client.SendAsync(new Message(jid, "https://upload.example.org/slot/c3d4/photo.jpg"));
        await owner.Client.SendAsync(new Message(jid, "https://example.org/"));
        await owner.Client.SendAsync(new Message(jid, "see https://upload.example.org/x/notes.txt"));
        var javascript = new Message(jid, "javascript:alert(1)//x.js");
        javascript.Add(new Parley.Xmpp.Xml.XmppElement("x", OutOfBand.DataNamespace)).AddChild("url", text: "javascript:alert(1)//x.js");
        await owner.Client.SendAsync(javascript);
        await owner.Client.SendAsync(new Message(jid, "end"));
        await tab.NextMessageAsync(m => m.Text == "end");

        var messages = (await visitor.HistoryAsync()).Messages;
        Assert.Equal(6, messages.Count);
        Assert.Equal(("https://upload.example.org/slot/a1b2/price%20list%20%3Cb%3E.pdf", "price list <b>.pdf"), (messages[0].File!.Url, messages[0].File!.Name));
        Assert.Equal("photo.jpg", messages[1].File!.Name);
        Assert.All(messages.Skip(2), m => Assert.Null(m.File));
    }

    [Fact]
    public async Task In_the_page_files_go_both_ways_and_their_names_are_text()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        await using var owner = await Owner.ConnectAsync(server);
        await using var gateway = await GatewayHost.StartAsync(server, owner.Account.Jid.ToString());
        await gateway.WaitConnectedAsync();
        await using var chromium = await Chromium.LaunchAsync();
        var page = await PageFeatureTests.SignInAsync(chromium, gateway, "Filer");

        await page.Locator("#file").SetInputFilesAsync(new FilePayload { Name = XssName, MimeType = "image/png", Buffer = Encoding.UTF8.GetBytes("not really a png") });
        var atOwner = await owner.NextMessageAsync();
        Assert.Equal(XssName, atOwner.Element("x", OutOfBand.DataNamespace)!.ElementText("desc", OutOfBand.DataNamespace));
        var mine = page.Locator("#messages li.visitor .text a.file");
        await Assertions.Expect(mine).ToHaveTextAsync(XssName);
        Assert.Equal(atOwner.Body, await mine.GetAttributeAsync("href"));
        using (var anonymous = new HttpClient())
        {
            Assert.Equal("not really a png", await anonymous.GetStringAsync(atOwner.Body));
        }

        await owner.Client.SendAsync(OutOfBand.CreateLinkMessage(atOwner.From!.Bare, new Uri("https://upload.example.org/s/k/" + Uri.EscapeDataString(XssName))));
        var theirs = page.Locator("#messages li.owner .text a.file");
        await Assertions.Expect(theirs).ToHaveTextAsync(XssName);
        Assert.Equal("noopener noreferrer nofollow", await theirs.GetAttributeAsync("rel"));
        Assert.Equal(0, await page.Locator("#messages img").CountAsync());
        Assert.NotEqual("pwned", await page.TitleAsync());

        // Words that come with the owner's file stay above it, as text.
        var invoice = new Message(atOwner.From!.Bare, "Here is the <b>invoice</b>");
        invoice.Add(new Parley.Xmpp.Xml.XmppElement("x", OutOfBand.DataNamespace)).AddChild("url", text: "https://upload.example.org/s/k2/invoice.pdf");
        await owner.Client.SendAsync(invoice);
        var last = page.Locator("#messages li.owner .text").Last;
        await Assertions.Expect(last).ToHaveTextAsync("Here is the <b>invoice</b>invoice.pdf");
        await Assertions.Expect(last.Locator("a.file")).ToHaveAttributeAsync("href", "https://upload.example.org/s/k2/invoice.pdf");

        // A reload shows them again from the history.
        await page.ReloadAsync();
        await Assertions.Expect(page.Locator("#messages li .text a.file")).ToHaveTextAsync([XssName, XssName, "invoice.pdf"]);
        Assert.True(chromium.Errors.Count == 0, string.Join("\n", chromium.Errors));
    }

    [Fact]
    public async Task A_database_from_before_files_gets_the_attachment_columns_and_keeps_its_rows()
    {
        var path = StoreUnderTest.NewSqlitePath();
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await using (var old = new SqliteConnection($"Data Source={path}"))
        {
            await old.OpenAsync();
            await using var create = old.CreateCommand();
            create.CommandText = """
                CREATE TABLE visitors (id TEXT PRIMARY KEY, issuer TEXT NOT NULL, subject TEXT NOT NULL, display_name TEXT NOT NULL,
                    created_at INTEGER NOT NULL, subscription_requested INTEGER NOT NULL DEFAULT 0, UNIQUE (issuer, subject));
                CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, visitor_id TEXT NOT NULL REFERENCES visitors(id),
                    direction TEXT NOT NULL CHECK (direction IN ('visitor', 'owner')), text TEXT NOT NULL, created_at INTEGER NOT NULL,
                    state TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'delivered')), stanza_id TEXT NOT NULL, seq INTEGER NOT NULL);
                INSERT INTO visitors VALUES ('v1', 'guest', 's1', 'Old Timer', 0, 0);
                INSERT INTO messages (visitor_id, direction, text, created_at, state, stanza_id, seq) VALUES ('v1', 'visitor', 'from before', 0, 'sent', 'w-1', 1);
                """;
            await create.ExecuteNonQueryAsync();
        }

        SqliteConnection.ClearAllPools();
        await using var store = await StoreUnderTest.OpenAsync(StoreUnderTest.Sqlite, path);
        await store.Migrator.InitializeAsync(CancellationToken.None); // a second start finds the columns there
        var file = await store.Messages.AddVisitorFileAsync("v1", new Attachment("https://chat.example/files/k/a.txt", "a.txt", 3, "text/plain"), CancellationToken.None);
        var history = await store.Messages.GetHistoryAsync("v1", null, 10, CancellationToken.None);
        Assert.Equal(["from before", "https://chat.example/files/k/a.txt"], history.Select(m => m.Text));
        Assert.Null(history[0].Attachment);
        Assert.Equal(new Attachment("https://chat.example/files/k/a.txt", "a.txt", 3, "text/plain"), history[1].Attachment);
        Assert.Equal(file.Attachment, (await store.Messages.GetPendingAsync(10, CancellationToken.None)).Single().Attachment);
        SqliteConnection.ClearAllPools();
    }

    [Theory]
    [InlineData("report.pdf", "report.pdf")]
    [InlineData("../../etc/passwd", "passwd")]
    [InlineData("C:\\Users\\me\\photo.jpg", "photo.jpg")]
    [InlineData("a\u0000b\u0007c.txt", "abc.txt")]
    [InlineData("evil\u202Etxt.exe", "eviltxt.exe")]
    [InlineData("..", null)]
    [InlineData("/", null)]
    [InlineData("  ", null)]
    public void File_names_keep_only_the_last_segment_and_printable_text(string given, string? expected) => Assert.Equal(expected, FileNames.Clean(given));

    private static string NewFolder() => Path.Combine(Path.GetTempPath(), "parley-web-tests", "files-" + Guid.NewGuid().ToString("N"));

    private static Task<HttpResponseMessage> UploadAsync(Visitor visitor, string name, byte[] content, string type = "application/octet-stream", bool withToken = true, bool chunked = false)
        => visitor.Http.SendAsync(UploadRequest(visitor, $"/api/conversations/{visitor.Conversation}/files", name, content, withToken, chunked, type));

    private static HttpRequestMessage UploadRequest(Visitor visitor, string path, string name, byte[] content, bool withToken, bool chunked, string type = "application/octet-stream")
    {
        HttpContent body = chunked ? new StreamContent(new MemoryStream(content)) : new ByteArrayContent(content);
        body.Headers.ContentType = new MediaTypeHeaderValue(type);
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = body };
        if (chunked)
        {
            request.Headers.TransferEncodingChunked = true;
        }

        request.Headers.Add(FileApi.NameHeader, Uri.EscapeDataString(name));
        if (withToken && visitor.Csrf is not null)
        {
            request.Headers.Add("X-CSRF-TOKEN", visitor.Csrf);
        }

        return request;
    }
}
