using System.Diagnostics;
using Parley.Testing;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Upload;
using Xunit.Abstractions;

namespace Parley.Xmpp.FileTransfer.Tests.Interop;

/// <summary>
/// Parley against the real Dino 0.4.2 (GTK 4, under Xvfb) through both servers. Dino accepts Jingle offers under 5 MB
/// from roster contacts and downloads HTTP upload links by itself; completion is read from its database
/// (<c>file_transfer</c>) and the file on its disk is checked with SHA-256.
/// </summary>
[Collection(ServerFixture.CollectionName)]
public sealed class DinoInteropTests(ServerFixture servers, ITestOutputHelper output) : IDisposable
{
    // Dino asks the user for files of 5,000,000 bytes or more.
    private const long Size = 3_000_000;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(40);
    private readonly string _root = Directory.CreateTempSubdirectory("parley-ft-dino-").FullName;

    public static TheoryData<string> Kinds => Servers.Kinds;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Parley_sends_to_dino_over_jingle_socks5(string kind)
    {
        await using var peers = await Peers.ConnectAsync(await servers.GetAsync(kind), output);
        var (path, sha) = TestFiles.Create(_root, "jingle-s5b.bin", Size, seed: 21);

        var stopwatch = Stopwatch.StartNew();
        FileTransferResult result;
        try
        {
            result = await peers.Ft.SendFileAsync(peers.Dino.Jid, path).WaitAsync(Patience);
        }
        catch (Exception e) when (e is FileTransferException or TimeoutException)
        {
            throw new InvalidOperationException($"The send failed after {stopwatch.Elapsed.TotalSeconds:0.0} s: {e.Message}\n{peers.Dino.Diagnostics()}", e);
        }

        var sent = stopwatch.Elapsed;
        var received = await peers.Dino.WaitForIncomingFileAsync("jingle-s5b.bin", Patience);

        Assert.Equal(FileTransferMethod.Jingle, result.Method);
        Assert.Equal(FileTransferMethod.Socks5Bytestreams, result.Transport);
        Assert.Null(result.FallbackReason);
        Assert.Equal(sha, result.Sha256);
        Assert.True(received.State == DinoFileState.Complete, $"{received}\n{peers.Dino.Diagnostics()}");
        Assert.Equal(DinoFileProvider.Jingle, received.Provider);
        Assert.Equal(sha, TestFiles.Sha256Of(received.Path!));
        output.WriteLine($"{kind}: Parley -> Dino {Size} bytes over Jingle/{result.Transport}: send returned after {sent.TotalSeconds:0.000} s, "
            + $"complete in dino.db after {stopwatch.Elapsed.TotalSeconds:0.000} s (Dino login {peers.Dino.LoginTime.TotalSeconds:0.000} s)");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Dino_downloads_an_http_upload_link_by_itself(string kind)
    {
        await using var peers = await Peers.ConnectAsync(await servers.GetAsync(kind), output);
        var (path, sha) = TestFiles.Create(_root, "via-http.bin", Size, seed: 22);
        using var upload = new HttpUpload(peers.Parley);

        var stopwatch = Stopwatch.StartNew();
        var url = await upload.SendFileAsync(peers.Dino.Jid.Bare, path);
        var received = await peers.Dino.WaitForIncomingFileAsync("via-http.bin", Patience);

        Assert.True(received.State == DinoFileState.Complete, $"{received} ({url})\n{peers.Dino.Diagnostics()}");
        Assert.Equal(DinoFileProvider.Http, received.Provider);
        Assert.Equal(sha, TestFiles.Sha256Of(received.Path!));
        output.WriteLine($"{kind}: Dino downloaded {url} ({Size} bytes) {stopwatch.Elapsed.TotalSeconds:0.000} s after the upload began");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Jingle_in_band_into_dino_fails_on_dinos_side_and_parley_reports_it(string kind)
    {
        // Dino 0.4.2 closes its in-band stream synchronously when it accepts, which its IBB stream does not support
        // (see the README): the transfer fails inside Dino whatever the sender does, while Dino still acknowledges every
        // in-band block. Our side must not report success: it fails for want of Dino's confirmation.
        var options = new FileTransferOptions { JingleConfirmationTimeout = TimeSpan.FromSeconds(5) };
        await using var peers = await Peers.ConnectAsync(await servers.GetAsync(kind), output, options);
        var (path, _) = TestFiles.Create(_root, "jingle-ibb.bin", 200_000, seed: 23);

        var stopwatch = Stopwatch.StartNew();
        var failure = await Assert.ThrowsAsync<FileTransferException>(() =>
            peers.Ft.SendFileAsync(peers.Dino.Jid, path, new FileSendOptions { Methods = [FileTransferMethod.Jingle, FileTransferMethod.InBandBytestreams] }).WaitAsync(Patience));
        var received = await peers.Dino.WaitForIncomingFileAsync("jingle-ibb.bin", Patience);

        Assert.Equal(FileTransferError.Timeout, failure.Error);
        Assert.Contains("never confirmed the file", failure.Message, StringComparison.Ordinal);
        Assert.Equal(DinoFileState.Failed, received.State);
        Assert.Equal(DinoFileProvider.Jingle, received.Provider);
        Assert.NotEmpty(peers.Dino.LogLines("Establishing connection did not work"));
        output.WriteLine($"{kind}: Jingle/IBB into Dino: Parley reported {failure.Error} after {stopwatch.Elapsed.TotalSeconds:0.000} s: {failure.Message}");
    }

    /// <summary>A Parley client with a file-transfer manager and a Dino, subscribed to each other both ways, both online.</summary>
    private sealed class Peers : IAsyncDisposable
    {
        private Peers(XmppTestServer server, XmppClient parley, FileTransferManager ft, DinoClient dino)
        {
            Server = server;
            Parley = parley;
            Ft = ft;
            Dino = dino;
        }

        public XmppTestServer Server { get; }

        public XmppClient Parley { get; }

        public FileTransferManager Ft { get; }

        public DinoClient Dino { get; }

        public static async Task<Peers> ConnectAsync(XmppTestServer server, ITestOutputHelper output, FileTransferOptions? options = null)
        {
            var parleyAccount = await server.CreateAccountAsync();
            var dinoAccount = await server.CreateAccountAsync();
            await server.AddRosterItemAsync(parleyAccount.Localpart, dinoAccount.Jid.ToString(), "dino");
            await server.AddRosterItemAsync(dinoAccount.Localpart, parleyAccount.Jid.ToString(), "parley");

            var parley = new XmppClient(server.ClientOptions(parleyAccount, "bot"));
            var ft = parley.AddExtension(new FileTransferManager(options));
            DinoClient? dino = null;
            try
            {
                await parley.ConnectAsync();
                await parley.SendPresenceAsync(status: "file-transfer interop");
                dino = await DinoClient.StartAsync(server, dinoAccount);
                var stopwatch = Stopwatch.StartNew();
                while (!parley.Presences.IsAvailable(dino.Jid))
                {
                    Assert.True(stopwatch.Elapsed < Patience, $"Parley never saw {dino.Jid} online.\n{dino.Diagnostics()}");
                    await Task.Delay(50);
                }

                // Dino drops Jingle offers from contacts it has no conversation with: a message opens one.
                await parley.SendAsync(new Message(dino.Jid.Bare, "Files for you", MessageType.Chat));
                await dino.WaitForConversationAsync(parleyAccount.Jid, Patience);
                output.WriteLine($"{server.Kind}: Dino logged in after {dino.LoginTime.TotalSeconds:0.000} s, online for Parley after {stopwatch.Elapsed.TotalSeconds:0.000} s more");
                return new Peers(server, parley, ft, dino);
            }
            catch
            {
                if (dino is not null)
                {
                    await dino.DisposeAsync();
                }

                await parley.DisposeAsync();
                await ft.DisposeAsync();
                throw;
            }
        }

        public async ValueTask DisposeAsync()
        {
            await Dino.DisposeAsync();
            await Parley.DisposeAsync();
            await Ft.DisposeAsync();
        }
    }
}
