using Parley.Testing;
using Parley.Xmpp.Core;

namespace Parley.Xmpp.FileTransfer.Tests.Interop;

/// <summary>Parley against slixmpp 1.8.3 (Debian python3-slixmpp) through both servers.</summary>
[Collection(ServerFixture.CollectionName)]
public sealed class SlixmppInteropTests(ServerFixture servers) : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly string _root = Directory.CreateTempSubdirectory("parley-ft-slix-").FullName;

    public static TheoryData<string> Kinds => Servers.Kinds;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Parley_sends_to_slixmpp_over_si_and_in_band_bytestreams(string kind)
    {
        var server = await servers.GetAsync(kind);
        var outdir = Directory.CreateDirectory(Path.Combine(_root, "slix")).FullName;
        await using var slix = SlixmppPeer.Start(server, await server.CreateAccountAsync(), "receive", "--outdir", outdir, "--prefer", "ibb");
        var slixJid = Jid.Parse((await slix.WaitForAsync("ready", Patience)).GetProperty("jid").GetString()!);

        await using var client = new XmppClient(server.ClientOptions(await server.CreateAccountAsync(), "send"));
        var ft = client.AddExtension(new FileTransferManager(TransferPair.LoopbackOptions()));
        await client.ConnectAsync();
        var (path, sha) = TestFiles.Create(_root, "to slixmpp.bin", 150_000, seed: 7);
        var result = await ft.SendFileAsync(slixJid, path);

        Assert.Equal(FileTransferMethod.InBandBytestreams, result.Method);
        Assert.Equal(sha, result.Sha256);
        var received = await slix.WaitForAsync("received", Patience);
        Assert.Equal(150_000, received.GetProperty("bytes").GetInt64());
        Assert.Equal(sha, received.GetProperty("sha256").GetString());
        Assert.Equal(sha, TestFiles.Sha256Of(Path.Combine(outdir, "to slixmpp.bin")));
    }

    [Theory]
    [InlineData(Servers.Prosody, "ibb", FileTransferMethod.InBandBytestreams)]
    [InlineData(Servers.Ejabberd, "ibb", FileTransferMethod.InBandBytestreams)]
    [InlineData(Servers.Prosody, "socks5", FileTransferMethod.Socks5Bytestreams)]
    [InlineData(Servers.Ejabberd, "socks5", FileTransferMethod.Socks5Bytestreams)]
    public async Task Slixmpp_sends_to_parley_over_si(string kind, string method, FileTransferMethod expected)
    {
        var server = await servers.GetAsync(kind);
        var inbox = Directory.CreateDirectory(Path.Combine(_root, "inbox")).FullName;
        await using var client = new XmppClient(server.ClientOptions(await server.CreateAccountAsync(), "recv"));
        var ft = client.AddExtension(new FileTransferManager(TransferPair.LoopbackOptions()));
        var done = new TaskCompletionSource<IncomingFileTransferEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        IncomingFileOffer? seen = null;
        ft.IncomingPolicy = (offer, _) =>
        {
            seen = offer;
            return ValueTask.FromResult(offer.Accept(inbox));
        };
        ft.TransferReceived += (_, e) => done.TrySetResult(e);
        await client.ConnectAsync();

        var (path, sha) = TestFiles.Create(_root, "from slixmpp.bin", 400_000, seed: 8);
        await using var slix = SlixmppPeer.Start(server, await server.CreateAccountAsync(), "send", "--to", client.Jid!.ToString(), "--file", path, "--methods", method);
        var sent = await slix.WaitForAsync("sent", Patience);
        Assert.Equal(method, sent.GetProperty("method").GetString());
        if (method == "socks5")
        {
            Assert.Contains(server.ProxyJid, sent.GetProperty("proxies").EnumerateArray().Select(p => p.GetString()));
        }

        var received = await done.Task.WaitAsync(Patience);
        Assert.True(received.Succeeded, received.ToString());
        Assert.Equal(expected, received.Method);
        Assert.Equal("from slixmpp.bin", seen!.FileName);
        Assert.Equal(400_000, seen.Size);
        Assert.Equal(sha, received.Sha256);
        Assert.Equal(sha, TestFiles.Sha256Of(received.Path!));
        Assert.Equal(Path.Combine(inbox, "from slixmpp.bin"), received.Path);
    }
}
