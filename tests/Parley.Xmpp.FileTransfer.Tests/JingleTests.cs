using System.Threading.Channels;
using Parley.Testing;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp.FileTransfer.Tests;

/// <summary>Jingle file transfer Parley to Parley through real servers, and the choice between Jingle and SI (Prosody and ejabberd).</summary>
[Collection(ServerFixture.CollectionName)]
public sealed class JingleTests(ServerFixture servers) : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(40);
    private readonly string _root = Directory.CreateTempSubdirectory("parley-jingle-").FullName;

    public static TheoryData<string> Kinds => Servers.Kinds;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static FileTransferOptions Options(bool direct, bool proxy)
    {
        var options = TransferPair.LoopbackOptions();
        options.EnableDirectSocks5 = direct;
        options.UseServerProxy = proxy;
        return options;
    }

    private static async Task AssertDeliveredAsync(TransferPair pair, FileTransferResult result, string sha, long size, string name, FileTransferMethod transport)
    {
        var received = await pair.Received.Task.WaitAsync(Patience);
        Assert.True(received.Succeeded, received.ToString());
        Assert.Equal(FileTransferMethod.Jingle, result.Method);
        Assert.Equal(transport, result.Transport);
        Assert.Equal(FileTransferMethod.Jingle, received.Method);
        Assert.Equal(transport, received.Transport);
        Assert.Equal(Path.Combine(pair.Inbox, name), received.Path);
        Assert.Equal(size, received.Bytes);
        Assert.Equal(sha, result.Sha256);
        Assert.Equal(sha, received.Sha256);
        Assert.Equal(sha, TestFiles.Sha256Of(received.Path!));
        Assert.Equal([name], Directory.GetFiles(pair.Inbox).Select(Path.GetFileName));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Sends_over_socks5_direct(string kind)
    {
        await using var pair = await TransferPair.ConnectAsync(await servers.GetAsync(kind), _root, Options(direct: true, proxy: false), Options(direct: true, proxy: false));
        var (path, sha) = TestFiles.Create(_root, "j-direct.bin", 2_500_000, seed: 11);
        var result = await pair.SenderFt.SendFileAsync(pair.ReceiverJid, path);
        Assert.Null(result.FallbackReason);
        await AssertDeliveredAsync(pair, result, sha, 2_500_000, "j-direct.bin", FileTransferMethod.Socks5Bytestreams);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Sends_over_socks5_through_the_servers_proxy(string kind)
    {
        await using var pair = await TransferPair.ConnectAsync(await servers.GetAsync(kind), _root, Options(direct: false, proxy: true), Options(direct: false, proxy: true));
        var (path, sha) = TestFiles.Create(_root, "j-proxy.bin", 2_500_000, seed: 12);
        var result = await pair.SenderFt.SendFileAsync(pair.ReceiverJid, path);
        Assert.Null(result.FallbackReason);
        await AssertDeliveredAsync(pair, result, sha, 2_500_000, "j-proxy.bin", FileTransferMethod.Socks5Bytestreams);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Sends_over_in_band_bytestreams(string kind)
    {
        await using var pair = await TransferPair.ConnectAsync(await servers.GetAsync(kind), _root);
        var (path, sha) = TestFiles.Create(_root, "j-ibb.bin", 200_003, seed: 13);
        long last = 0;
        var result = await pair.SenderFt.SendFileAsync(pair.ReceiverJid, path, new FileSendOptions { Methods = [FileTransferMethod.Jingle, FileTransferMethod.InBandBytestreams] },
            new SyncProgress(p => last = p.BytesTransferred));
        Assert.Equal(200_003, last);
        await AssertDeliveredAsync(pair, result, sha, 200_003, "j-ibb.bin", FileTransferMethod.InBandBytestreams);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task When_no_socks5_candidate_works_the_transport_is_replaced_by_in_band(string kind)
    {
        var sender = Options(direct: true, proxy: false);
        sender.Socks5AdvertisedHosts.Add("127.0.0.2"); // we listen on 127.0.0.1 only: the receiver's connect is refused
        await using var pair = await TransferPair.ConnectAsync(await servers.GetAsync(kind), _root, sender, Options(direct: false, proxy: false));
        var (path, sha) = TestFiles.Create(_root, "j-replaced.bin", 100_000, seed: 14);
        var result = await pair.SenderFt.SendFileAsync(pair.ReceiverJid, path);
        Assert.Contains("neither side", result.FallbackReason, StringComparison.Ordinal);
        await AssertDeliveredAsync(pair, result, sha, 100_000, "j-replaced.bin", FileTransferMethod.InBandBytestreams);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_declined_offer_ends_with_decline_and_nothing_is_written(string kind)
    {
        await using var pair = await TransferPair.ConnectAsync(await servers.GetAsync(kind), _root);
        pair.ReceiverFt.IncomingPolicy = (offer, _) => ValueTask.FromResult(offer.Methods.Contains(FileTransferMethod.Jingle) ? offer.Decline("not this one") : offer.Accept(pair.Inbox));
        var (path, _) = TestFiles.Create(_root, "j-declined.bin", 1000);
        var error = await Assert.ThrowsAsync<FileTransferException>(() => pair.SenderFt.SendFileAsync(pair.ReceiverJid, path));
        Assert.Equal(FileTransferError.Declined, error.Error);
        Assert.Contains("not this one", error.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(pair.Inbox));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Cancelling_sends_session_terminate_cancel_and_the_receiver_deletes_its_temporary_file(string kind)
    {
        await using var pair = await TransferPair.ConnectAsync(await servers.GetAsync(kind), _root);
        var (path, _) = TestFiles.Create(_root, "j-cancelled.bin", 2_000_000, seed: 15);
        using var cancel = new CancellationTokenSource();
        var sawPartFile = false;
        var progress = new SyncProgress(p =>
        {
            if (p.BytesTransferred >= 100_000 && !cancel.IsCancellationRequested)
            {
                sawPartFile = Directory.GetFiles(pair.Inbox, ".j-cancelled.bin.*.part").Length == 1;
                cancel.Cancel();
            }
        });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pair.SenderFt.SendFileAsync(pair.ReceiverJid, path,
            new FileSendOptions { Methods = [FileTransferMethod.Jingle, FileTransferMethod.InBandBytestreams] }, progress, cancel.Token));
        Assert.True(sawPartFile, "the receiver writes to a temporary file while receiving");
        var received = await pair.Received.Task.WaitAsync(Patience);
        Assert.Equal(FileTransferMethod.Jingle, received.Method);
        Assert.Equal(FileTransferError.Aborted, received.Error?.Error);
        Assert.Empty(Directory.GetFileSystemEntries(pair.Inbox));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task The_method_is_si_for_a_peer_without_jingle_and_jingle_for_a_bare_jid_with_a_jingle_resource(string kind)
    {
        await using var pair = await TransferPair.ConnectAsync(await servers.GetAsync(kind), _root);
        var info = await pair.Sender.Disco.QueryInfoAsync(pair.ReceiverJid);
        Assert.True(info.Supports(FileTransferNamespaces.Jingle));
        Assert.True(info.Supports(FileTransferNamespaces.JingleFileTransfer));
        Assert.True(info.Supports(FileTransferNamespaces.JingleS5b));
        Assert.True(info.Supports(FileTransferNamespaces.JingleIbb));

        // The bare JID: the sender sees the receiver's presence (directed, with caps) and picks its Jingle resource.
        await pair.Receiver.Presences.SendDirectedPresenceAsync(pair.Sender.Jid!);
        var deadline = DateTime.UtcNow + Patience;
        while (pair.Sender.Presences.GetPresence(pair.ReceiverJid) is null && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        var (first, sha1) = TestFiles.Create(_root, "bare.bin", 5000, seed: 16);
        var viaBare = await pair.SenderFt.SendFileAsync(pair.ReceiverJid.Bare, first);
        Assert.Equal(FileTransferMethod.Jingle, viaBare.Method);
        Assert.Equal(sha1, TestFiles.Sha256Of((await pair.Received.Task.WaitAsync(Patience)).Path!));

        // An SI-only peer: the same receiver without the Jingle features (its caps change with them).
        await using var siOnly = await TransferPair.ConnectAsync(await servers.GetAsync(kind), Directory.CreateDirectory(Path.Combine(_root, "si")).FullName);
        siOnly.Receiver.Disco.RemoveFeature(FileTransferNamespaces.Jingle);
        siOnly.Receiver.Disco.RemoveFeature(FileTransferNamespaces.JingleFileTransfer);
        var (second, sha2) = TestFiles.Create(_root, "si-only.bin", 5000, seed: 17);
        var viaSi = await siOnly.SenderFt.SendFileAsync(siOnly.ReceiverJid, second);
        Assert.Equal(FileTransferMethod.Socks5Bytestreams, viaSi.Method);
        var received = await siOnly.Received.Task.WaitAsync(Patience);
        Assert.Equal(FileTransferMethod.Socks5Bytestreams, received.Method);
        Assert.Equal(sha2, TestFiles.Sha256Of(received.Path!));

        var onlyJingle = await Assert.ThrowsAsync<FileTransferException>(() => siOnly.SenderFt.SendFileAsync(siOnly.ReceiverJid, second, new FileSendOptions { Methods = [FileTransferMethod.Jingle] }));
        Assert.Equal(FileTransferError.NoCommonMethod, onlyJingle.Error);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_file_that_does_not_match_the_offered_hash_is_deleted_and_the_session_ends_with_media_error(string kind)
    {
        // A hand-driven sender (no file-transfer manager) offers over IBB with a wrong hash.
        var server = await servers.GetAsync(kind);
        await using var pair = await TransferPair.ConnectAsync(server, _root);
        await using var raw = new XmppClient(server.ClientOptions(await server.CreateAccountAsync(), "raw"));
        var inbound = Channel.CreateUnbounded<XmppElement>();
        raw.SetIqHandler("jingle", FileTransferNamespaces.Jingle, (iq, _) =>
        {
            inbound.Writer.TryWrite(iq.Payload!);
            return ValueTask.FromResult<XmppElement?>(null);
        });
        await raw.ConnectAsync();

        var bytes = System.Security.Cryptography.RandomNumberGenerator.GetBytes(3000);
        var wrong = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("something else"u8));
        var initiate = JingleElement.Create(JingleActions.SessionInitiate, "js1", initiator: raw.Jid);
        var content = JingleElement.AddContent(initiate, "f");
        content.Add(new JingleFile("raw.bin", bytes.Length, null, null, null, wrong, false).ToDescription());
        content.Add(new IbbTransport("ib1", 4096).ToElement());
        await raw.SendIqAsync(new Iq(IqType.Set, pair.ReceiverJid, initiate));
        var accept = await inbound.Reader.ReadAsync().AsTask().WaitAsync(Patience);
        Assert.Equal(JingleActions.SessionAccept, accept.GetAttribute("action"));
        Assert.Equal(pair.ReceiverJid.ToString(), accept.GetAttribute("responder"));
        Assert.Equal("4096", accept.Element("content")!.Element("transport", FileTransferNamespaces.JingleIbb)!.GetAttribute("block-size"));

        var open = new XmppElement("open", FileTransferNamespaces.InBandBytestreams);
        open.SetAttribute("block-size", "4096");
        open.SetAttribute("sid", "ib1");
        open.SetAttribute("stanza", "iq");
        await raw.SendIqAsync(new Iq(IqType.Set, pair.ReceiverJid, open));
        var data = new XmppElement("data", FileTransferNamespaces.InBandBytestreams) { Text = Convert.ToBase64String(bytes) };
        data.SetAttribute("seq", "0");
        data.SetAttribute("sid", "ib1");
        await raw.SendIqAsync(new Iq(IqType.Set, pair.ReceiverJid, data));
        var close = new XmppElement("close", FileTransferNamespaces.InBandBytestreams);
        close.SetAttribute("sid", "ib1");
        await raw.SendIqAsync(new Iq(IqType.Set, pair.ReceiverJid, close));

        var terminate = await inbound.Reader.ReadAsync().AsTask().WaitAsync(Patience);
        Assert.Equal(JingleActions.SessionTerminate, terminate.GetAttribute("action"));
        Assert.Equal("media-error", JingleReason.Parse(terminate.Element("reason")).Condition);
        var received = await pair.Received.Task.WaitAsync(Patience);
        Assert.Equal(FileTransferError.HashMismatch, received.Error?.Error);
        Assert.Empty(Directory.GetFileSystemEntries(pair.Inbox));
    }
}
