using System.Net;
using System.Security.Cryptography;
using Parley.Testing;
using Parley.Xmpp.Tests.Client;
using Parley.Xmpp.Upload;

namespace Parley.Xmpp.Tests.Upload;

/// <summary>HTTP file upload (XEP-0363) and out-of-band offers (XEP-0066) against Prosody's mod_http_file_share and ejabberd's mod_http_upload.</summary>
[Collection(ServerFixture.CollectionName)]
public sealed class HttpUploadTests(ServerFixture servers) : IDisposable
{
    private const long ServerLimit = 100 * 1024 * 1024; // both harness servers are configured with 100 MiB
    private readonly string _folder = Directory.CreateTempSubdirectory("parley-upload-").FullName;

    public static TheoryData<string> Kinds => Servers.Kinds;

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Discovers_the_upload_service_and_its_limit(string kind)
    {
        var server = await servers.GetAsync(kind);
        await using var client = await ConnectAsync(server);
        using var upload = new HttpUpload(client);
        var service = await upload.DiscoverAsync();
        Assert.NotNull(service);
        Assert.Equal(server.UploadJid, service.Jid.ToString());
        Assert.Equal(ServerLimit, service.MaxFileSize);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task An_uploaded_file_downloads_with_the_same_sha256_and_progress_reaches_its_size(string kind)
    {
        var server = await servers.GetAsync(kind);
        await using var client = await ConnectAsync(server);
        using var upload = new HttpUpload(client);
        var path = WriteRandomFile("report 1234.pdf", 700_001);
        var reports = new List<long>();
        var progress = new SynchronousProgress(reports);

        var slot = await upload.UploadAsync(path, progress: progress);

        Assert.Equal(700_001, reports[^1]);
        Assert.True(reports.Count > 1, "progress is reported while sending, not only at the end");
        Assert.Equal(Sha256(path), await DownloadSha256Async(slot.GetUrl));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task SendFile_delivers_a_message_whose_body_is_exactly_the_url_with_oob(string kind)
    {
        var server = await servers.GetAsync(kind);
        await using var sender = await ConnectAsync(server);
        await using var receiver = await ConnectAsync(server);
        var received = new TaskCompletionSource<Message>(TaskCreationOptions.RunContinuationsAsynchronously);
        receiver.OnMessage((m, _) =>
        {
            if (m.Body is not null)
            {
                received.TrySetResult(m);
            }

            return ValueTask.CompletedTask;
        });
        await receiver.SendPresenceAsync(); // a bare-JID chat message goes to available resources only
        await receiver.PingAsync();
        using var upload = new HttpUpload(sender);
        var path = WriteRandomFile("notes.txt", 4096);

        var url = await upload.SendFileAsync(receiver.Jid!.Bare, path);

        var message = await received.Task.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(url.OriginalString, message.Body);
        Assert.Equal(url, OutOfBand.GetUrl(message));
        Assert.Equal(MessageType.Chat, message.Type);
        Assert.Equal(Sha256(path), await DownloadSha256Async(new Uri(message.Body!)));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_file_over_the_limit_is_refused_before_anything_is_sent(string kind)
    {
        var server = await servers.GetAsync(kind);
        await using var client = await ConnectAsync(server);
        var handler = new CountingHandler();
        using var http = new HttpClient(handler);
        using var upload = new HttpUpload(client, httpClient: http);
        var path = Path.Combine(_folder, "huge.bin");
        using (var sparse = File.Create(path))
        {
            sparse.SetLength(ServerLimit + 1); // sparse: no disk space used
        }

        var error = await Assert.ThrowsAsync<HttpUploadException>(() => upload.UploadAsync(path));

        Assert.Equal(HttpUploadError.FileTooLarge, error.Error);
        Assert.Equal(ServerLimit, error.MaxFileSize);
        Assert.Contains("at most 100 MB", error.Message);
        Assert.Equal(0, handler.Requests);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task The_service_itself_refuses_an_oversized_slot_request_with_file_too_large(string kind)
    {
        // A configured service skips the disco#info limit check only when disco says nothing; here we ask for a
        // slot directly with a size the service must refuse, so the server's own error is what is mapped.
        var server = await servers.GetAsync(kind);
        await using var client = await ConnectAsync(server);
        using var upload = new HttpUpload(client);
        await upload.DiscoverAsync();
        var request = new XmppElement("request", HttpUpload.Namespace);
        request.SetAttribute("filename", "big.bin");
        request.SetAttribute("size", (ServerLimit + 1).ToString(System.Globalization.CultureInfo.InvariantCulture));
        var error = await Assert.ThrowsAsync<XmppStanzaException>(() => client.SendIqAsync(new Iq(IqType.Get, Jid.Parse(server.UploadJid), request)));
        Assert.Equal("not-acceptable", error.Condition);
        Assert.Equal("file-too-large", error.Error.ApplicationCondition?.Name);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task An_http_error_status_becomes_an_HttpUploadException_with_the_status(string kind)
    {
        var server = await servers.GetAsync(kind);
        await using var client = await ConnectAsync(server);
        using var http = new HttpClient(new StatusHandler(HttpStatusCode.RequestEntityTooLarge));
        using var upload = new HttpUpload(client, httpClient: http);
        var path = WriteRandomFile("a.bin", 10);

        var error = await Assert.ThrowsAsync<HttpUploadException>(() => upload.UploadAsync(path));

        Assert.Equal(HttpUploadError.HttpError, error.Error);
        Assert.Equal(413, error.StatusCode);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_put_that_hangs_ends_with_a_timeout_error(string kind)
    {
        var server = await servers.GetAsync(kind);
        await using var client = await ConnectAsync(server);
        using var http = new HttpClient(new HangingHandler());
        using var upload = new HttpUpload(client, new HttpUploadOptions { PutTimeout = TimeSpan.FromMilliseconds(300) }, http);
        var path = WriteRandomFile("a.bin", 10);

        var error = await Assert.ThrowsAsync<HttpUploadException>(() => upload.UploadAsync(path));

        Assert.Equal(HttpUploadError.Transport, error.Error);
        Assert.Contains("did not finish", error.Message);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task An_iq_oob_offer_completes_once_the_recipient_downloaded_it_and_a_refusal_is_a_stanza_error(string kind)
    {
        var server = await servers.GetAsync(kind);
        await using var sender = await ConnectAsync(server);
        await using var receiver = await ConnectAsync(server);
        string? downloadedSha = null;
        var refuse = false;
        receiver.SetIqHandler("query", OutOfBand.IqNamespace, async (request, ct) =>
        {
            if (refuse || !OutOfBand.TryParseOffer(request, out var offered, out _))
            {
                throw new XmppStanzaException(StanzaError.NotAcceptable("declined"));
            }

            downloadedSha = await DownloadSha256Async(offered);
            return null;
        });
        using var upload = new HttpUpload(sender);
        var path = WriteRandomFile("offer.pdf", 50_000);
        var slot = await upload.UploadAsync(path);

        await OutOfBand.OfferAsync(sender, receiver.Jid!, slot.GetUrl, "the report");
        Assert.Equal(Sha256(path), downloadedSha);

        refuse = true;
        var error = await Assert.ThrowsAsync<XmppStanzaException>(() => OutOfBand.OfferAsync(sender, receiver.Jid!, slot.GetUrl));
        Assert.Equal("not-acceptable", error.Condition);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static async Task<XmppClient> ConnectAsync(XmppTestServer server)
    {
        var account = await server.CreateAccountAsync();
        var client = new XmppClient(server.ClientOptions(account, resource: "up"));
        await client.ConnectAsync();
        return client;
    }

    private string WriteRandomFile(string name, int size)
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllBytes(path, RandomNumberGenerator.GetBytes(size));
        return path;
    }

    private static string Sha256(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));

    private static async Task<string> DownloadSha256Async(Uri url)
    {
        using var http = new HttpClient();
        var bytes = await http.GetByteArrayAsync(url);
        return Convert.ToHexStringLower(SHA256.HashData(bytes));
    }

    private sealed class SynchronousProgress(List<long> reports) : IProgress<long>
    {
        public void Report(long value)
        {
            lock (reports)
            {
                reports.Add(value);
            }
        }
    }

    private sealed class CountingHandler : HttpMessageHandler
    {
        public int Requests;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Requests);
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.Created));
        }
    }

    private sealed class StatusHandler(HttpStatusCode status) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(status));
    }

    private sealed class HangingHandler : HttpMessageHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            throw new InvalidOperationException("unreachable");
        }
    }
}
