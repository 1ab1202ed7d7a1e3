using System.Diagnostics;
using System.Net;
using Parley.Testing;
using Xunit.Abstractions;

namespace Parley.Xmpp.FileTransfer.Tests.Interop;

/// <summary>
/// Parley against the real libpurple 2.14 (finch, Pidgin's engine) through both servers: libpurple receives with its
/// autoaccept plugin over SOCKS5 (our streamhost, the server's proxy) and in-band, and sends to Parley's receiver.
/// Every file is checked on disk with SHA-256.
/// </summary>
[Collection(ServerFixture.CollectionName)]
public sealed class LibpurpleInteropTests(ServerFixture servers, ITestOutputHelper output) : IDisposable
{
    private const long Socks5Size = 5_000_000;
    private const long InBandSize = 2_000_000;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);
    private readonly string _root = Directory.CreateTempSubdirectory("parley-ft-purple-").FullName;

    public static TheoryData<string> Kinds => Servers.Kinds;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Parley_sends_to_libpurple_over_socks5_through_its_own_streamhost(string kind)
    {
        var options = new FileTransferOptions { Socks5BindAddress = IPAddress.Loopback, UseServerProxy = false };
        await using var peers = await Peers.ConnectAsync(await servers.GetAsync(kind), options);

        var result = await SendAndCheckAsync(peers, "direct.bin", Socks5Size, seed: 11);

        Assert.Equal(FileTransferMethod.Socks5Bytestreams, result.Method);
        Assert.Null(result.FallbackReason);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Parley_sends_to_libpurple_over_socks5_through_the_server_proxy(string kind)
    {
        var options = new FileTransferOptions { EnableDirectSocks5 = false, UseServerProxy = true };
        await using var peers = await Peers.ConnectAsync(await servers.GetAsync(kind), options);

        var result = await SendAndCheckAsync(peers, "proxied.bin", Socks5Size, seed: 12);

        Assert.Equal(FileTransferMethod.Socks5Bytestreams, result.Method);
        Assert.Null(result.FallbackReason);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Parley_sends_to_libpurple_in_band_when_only_ibb_is_offered(string kind)
    {
        // libpurple never answers the in-band <close/>: the send ends after IbbCloseTimeout with every block acknowledged.
        var options = new FileTransferOptions { IbbCloseTimeout = TimeSpan.FromSeconds(1) };
        await using var peers = await Peers.ConnectAsync(await servers.GetAsync(kind), options);

        var result = await SendAndCheckAsync(peers, "inband.bin", InBandSize, seed: 13, new FileSendOptions { Methods = [FileTransferMethod.InBandBytestreams] });

        Assert.Equal(FileTransferMethod.InBandBytestreams, result.Method);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Parley_falls_back_to_in_band_when_libpurple_reaches_no_streamhost(string kind)
    {
        // The only streamhost offered is an address nothing listens on: libpurple answers item-not-found and waits for an
        // in-band stream with the same sid.
        var options = new FileTransferOptions { Socks5BindAddress = IPAddress.Loopback, UseServerProxy = false, IbbCloseTimeout = TimeSpan.FromSeconds(1) };
        options.Socks5AdvertisedHosts.Add("127.0.0.2");
        await using var peers = await Peers.ConnectAsync(await servers.GetAsync(kind), options);

        var result = await SendAndCheckAsync(peers, "fallback.bin", InBandSize, seed: 14);

        Assert.Equal(FileTransferMethod.InBandBytestreams, result.Method);
        Assert.NotNull(result.FallbackReason);
    }

    [Theory]
    [InlineData(Servers.Prosody, FileTransferMethod.Socks5Bytestreams)]
    [InlineData(Servers.Ejabberd, FileTransferMethod.Socks5Bytestreams)]
    [InlineData(Servers.Prosody, FileTransferMethod.InBandBytestreams)]
    [InlineData(Servers.Ejabberd, FileTransferMethod.InBandBytestreams)]
    public async Task Libpurple_sends_to_parley(string kind, FileTransferMethod accepted)
    {
        var options = new FileTransferOptions { Socks5BindAddress = IPAddress.Loopback };
        options.ReceiveMethods.Clear();
        options.ReceiveMethods.Add(accepted);
        await using var peers = await Peers.ConnectAsync(await servers.GetAsync(kind), options);
        var inbox = Directory.CreateDirectory(Path.Combine(_root, "inbox")).FullName;
        var done = new TaskCompletionSource<IncomingFileTransferEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        IncomingFileOffer? seen = null;
        peers.Ft.IncomingPolicy = (offer, _) =>
        {
            seen = offer;
            return ValueTask.FromResult(offer.From.Bare == peers.Purple.Jid.Bare && offer.Size <= 10_000_000
                ? offer.Accept(inbox)
                : offer.Decline("not from the test peer"));
        };
        peers.Ft.TransferReceived += (_, e) => done.TrySetResult(e);
        var size = accepted == FileTransferMethod.Socks5Bytestreams ? Socks5Size : InBandSize;
        var (path, sha) = TestFiles.Create(_root, "from-libpurple.bin", size, seed: 15);

        var stopwatch = Stopwatch.StartNew();
        await peers.Purple.SendFileAsync(peers.Parley.Jid!, path);
        var received = await done.Task.WaitAsync(Patience);
        var elapsed = stopwatch.Elapsed;

        Assert.True(received.Succeeded, $"{received}\n{peers.Purple.Diagnostics()}");
        Assert.Equal(accepted, received.Method);
        Assert.Equal("from-libpurple.bin", seen!.FileName);
        Assert.Equal(size, seen.Size);
        Assert.Equal(sha, received.Sha256);
        Assert.Equal(Path.Combine(inbox, "from-libpurple.bin"), received.Path);
        Assert.Equal(sha, TestFiles.Sha256Of(received.Path!));
        await peers.Purple.WaitForSentFileAsync(Patience);
        output.WriteLine($"{kind}: libpurple -> Parley {size} bytes over {received.Method} in {elapsed.TotalSeconds:0.000} s (libpurple login {peers.Purple.LoginTime.TotalSeconds:0.000} s)");
    }

    private async Task<FileTransferResult> SendAndCheckAsync(Peers peers, string name, long size, int seed, FileSendOptions? sendOptions = null)
    {
        var (path, sha) = TestFiles.Create(_root, name, size, seed);
        var stopwatch = Stopwatch.StartNew();
        FileTransferResult result;
        try
        {
            result = await peers.Ft.SendFileAsync(peers.Purple.Jid, path, sendOptions).WaitAsync(Patience);
        }
        catch (Exception e) when (e is FileTransferException or TimeoutException)
        {
            throw new InvalidOperationException($"The send failed after {stopwatch.Elapsed.TotalSeconds:0.0} s: {e.Message}\n{peers.Purple.Diagnostics()}", e);
        }

        var sent = stopwatch.Elapsed;
        var saved = await peers.Purple.WaitForReceivedFileAsync(name, size, Patience);
        var stored = stopwatch.Elapsed;

        Assert.Equal(size, result.Bytes);
        Assert.Equal(sha, result.Sha256);
        Assert.Equal(sha, TestFiles.Sha256Of(saved));
        output.WriteLine($"{peers.Server.Kind}: Parley -> libpurple {size} bytes over {result.Method} (fallback: {result.FallbackReason ?? "none"}): "
            + $"send returned after {sent.TotalSeconds:0.000} s, file complete on disk after {stored.TotalSeconds:0.000} s (libpurple login {peers.Purple.LoginTime.TotalSeconds:0.000} s)");
        return result;
    }

    /// <summary>A Parley client with a file-transfer manager and a finch logged in, subscribed to each other both ways, both online.</summary>
    private sealed class Peers : IAsyncDisposable
    {
        private Peers(XmppTestServer server, XmppClient parley, FileTransferManager ft, LibpurpleClient purple)
        {
            Server = server;
            Parley = parley;
            Ft = ft;
            Purple = purple;
        }

        public XmppTestServer Server { get; }

        public XmppClient Parley { get; }

        public FileTransferManager Ft { get; }

        public LibpurpleClient Purple { get; }

        public static async Task<Peers> ConnectAsync(XmppTestServer server, FileTransferOptions options)
        {
            var parleyAccount = await server.CreateAccountAsync();
            var purpleAccount = await server.CreateAccountAsync();
            await server.AddRosterItemAsync(parleyAccount.Localpart, purpleAccount.Jid.ToString(), "libpurple");
            await server.AddRosterItemAsync(purpleAccount.Localpart, parleyAccount.Jid.ToString(), "parley");

            var parley = new XmppClient(server.ClientOptions(parleyAccount, "bot"));
            var ft = parley.AddExtension(new FileTransferManager(options));
            LibpurpleClient? purple = null;
            try
            {
                await parley.ConnectAsync();
                await parley.SendPresenceAsync(status: "file-transfer interop");
                purple = await LibpurpleClient.StartAsync(server, purpleAccount, [parleyAccount.Jid]);

                // Each must see the other online: libpurple only offers files to a resource it knows (with caps).
                await purple.WaitUntilOnlineAsync(parleyAccount.Jid, Patience);
                var stopwatch = Stopwatch.StartNew();
                while (!parley.Presences.IsAvailable(purple.Jid))
                {
                    Assert.True(stopwatch.Elapsed < Patience, $"Parley never saw {purple.Jid} online.\n{purple.Diagnostics()}");
                    await Task.Delay(50);
                }

                return new Peers(server, parley, ft, purple);
            }
            catch
            {
                if (purple is not null)
                {
                    await purple.DisposeAsync();
                }

                await parley.DisposeAsync();
                await ft.DisposeAsync();
                throw;
            }
        }

        public async ValueTask DisposeAsync()
        {
            await Purple.DisposeAsync();
            await Parley.DisposeAsync();
            await Ft.DisposeAsync();
        }
    }
}
