using System.Security.Cryptography;
using System.Threading.Channels;
using Parley.Testing;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp.FileTransfer.Tests;

/// <summary>
/// The SHA-256 of a Jingle file offer sent after the data (XEP-0234 <c>&lt;hash-used/&gt;</c> + <c>&lt;checksum/&gt;</c>):
/// Parley to Parley, and a hand-driven sender whose checksum is wrong or never comes (Prosody and ejabberd).
/// </summary>
[Collection(ServerFixture.CollectionName)]
public sealed class JingleChecksumTests(ServerFixture servers) : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(40);
    private readonly string _root = Directory.CreateTempSubdirectory("parley-jchecksum-").FullName;

    public static TheoryData<string, FileTransferMethod> KindsAndTransports => Servers.With(FileTransferMethod.Socks5Bytestreams, FileTransferMethod.InBandBytestreams);

    public static TheoryData<string> Kinds => Servers.Kinds;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [MemberData(nameof(KindsAndTransports))]
    public async Task By_default_the_offer_announces_the_hash_the_content_is_read_once_and_the_receiver_checks_the_checksum(string kind, FileTransferMethod transport)
    {
        await using var pair = await TransferPair.ConnectAsync(await servers.GetAsync(kind), _root);
        var size = transport == FileTransferMethod.Socks5Bytestreams ? 3_000_017 : 150_001;
        var (path, sha) = TestFiles.Create(_root, "after.bin", size, seed: 31);
        var offered = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
        pair.ReceiverFt.IncomingPolicy = (offer, _) =>
        {
            offered.TrySetResult(offer.Sha256);
            return ValueTask.FromResult(offer.Accept(pair.Inbox));
        };

        await using var content = new CountingStream(File.OpenRead(path));
        var result = await pair.SenderFt.SendFileAsync(pair.ReceiverJid, content, "after.bin", size, new FileSendOptions { Methods = [FileTransferMethod.Jingle, transport] });

        Assert.Null(await offered.Task.WaitAsync(Patience));
        Assert.Equal(size, content.BytesRead);
        Assert.Equal(sha, result.Sha256);
        Assert.Equal(transport, result.Transport);
        var received = await pair.Received.Task.WaitAsync(Patience);
        Assert.True(received.Succeeded, received.ToString());
        Assert.Equal(FileTransferMethod.Jingle, received.Method);

        // The value the file was checked against came in the checksum.
        Assert.Equal(sha, received.Offer.Sha256);
        Assert.Equal(sha, received.Sha256);
        Assert.Equal(sha, TestFiles.Sha256Of(received.Path!));
        Assert.Equal(["after.bin"], Directory.GetFiles(pair.Inbox).Select(Path.GetFileName));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task With_JingleHashInOffer_the_offer_carries_the_hash_and_the_content_is_read_twice(string kind)
    {
        await using var pair = await TransferPair.ConnectAsync(await servers.GetAsync(kind), _root);
        var (path, sha) = TestFiles.Create(_root, "before.bin", 1_000_003, seed: 32);
        var offered = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
        pair.ReceiverFt.IncomingPolicy = (offer, _) =>
        {
            offered.TrySetResult(offer.Sha256);
            return ValueTask.FromResult(offer.Accept(pair.Inbox));
        };

        await using var content = new CountingStream(File.OpenRead(path));
        var result = await pair.SenderFt.SendFileAsync(pair.ReceiverJid, content, "before.bin", 1_000_003, new FileSendOptions { JingleHashInOffer = true });

        Assert.Equal(sha, await offered.Task.WaitAsync(Patience));
        Assert.Equal(2 * 1_000_003, content.BytesRead);
        Assert.Equal(FileTransferMethod.Jingle, result.Method);
        var received = await pair.Received.Task.WaitAsync(Patience);
        Assert.True(received.Succeeded, received.ToString());
        Assert.Equal(sha, TestFiles.Sha256Of(received.Path!));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_right_checksum_after_the_data_completes_the_transfer(string kind)
    {
        await using var peer = await RawSender.StartAsync(await servers.GetAsync(kind), _root, checksumTimeout: TimeSpan.FromSeconds(20));
        await peer.OfferAndSendAsync();
        await peer.SendChecksumAsync(peer.Sha256);

        var info = await peer.NextAsync();
        Assert.Equal(JingleActions.SessionInfo, info.GetAttribute("action"));
        Assert.NotNull(info.Element("received", FileTransferNamespaces.JingleFileTransfer));
        var terminate = await peer.NextAsync();
        Assert.Equal("success", JingleReason.Parse(terminate.Element("reason")).Condition);
        var received = await peer.Pair.Received.Task.WaitAsync(Patience);
        Assert.True(received.Succeeded, received.ToString());
        Assert.Equal(peer.Sha256, received.Sha256);
        Assert.Equal(["raw.bin"], Directory.GetFiles(peer.Pair.Inbox).Select(Path.GetFileName));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_wrong_checksum_after_the_data_deletes_the_file_and_ends_the_session_with_media_error(string kind)
    {
        await using var peer = await RawSender.StartAsync(await servers.GetAsync(kind), _root, checksumTimeout: TimeSpan.FromSeconds(20));
        await peer.OfferAndSendAsync();
        await peer.SendChecksumAsync(Convert.ToHexStringLower(SHA256.HashData("something else"u8)));

        var terminate = await peer.NextAsync();
        Assert.Equal(JingleActions.SessionTerminate, terminate.GetAttribute("action"));
        Assert.Equal("media-error", JingleReason.Parse(terminate.Element("reason")).Condition);
        var received = await peer.Pair.Received.Task.WaitAsync(Patience);
        Assert.Equal(FileTransferError.HashMismatch, received.Error?.Error);
        Assert.Null(received.Path);
        Assert.Empty(Directory.GetFileSystemEntries(peer.Pair.Inbox));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_wrong_checksum_before_the_last_byte_also_rejects_the_file(string kind)
    {
        await using var peer = await RawSender.StartAsync(await servers.GetAsync(kind), _root, checksumTimeout: TimeSpan.FromSeconds(20));
        await peer.OfferAndSendAsync(checksumBeforeClose: Convert.ToHexStringLower(SHA256.HashData("something else"u8)));

        var terminate = await peer.NextAsync();
        Assert.Equal("media-error", JingleReason.Parse(terminate.Element("reason")).Condition);
        var received = await peer.Pair.Received.Task.WaitAsync(Patience);
        Assert.Equal(FileTransferError.HashMismatch, received.Error?.Error);
        Assert.Empty(Directory.GetFileSystemEntries(peer.Pair.Inbox));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_checksum_that_never_comes_times_out_and_the_temporary_file_is_deleted(string kind)
    {
        var timeout = TimeSpan.FromSeconds(2);
        await using var peer = await RawSender.StartAsync(await servers.GetAsync(kind), _root, checksumTimeout: timeout);
        await peer.OfferAndSendAsync();
        var allIn = TimeProvider.System.GetTimestamp();

        // Every byte is in, but nothing is verified yet: only the temporary file exists.
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        Assert.False(peer.Pair.Received.Task.IsCompleted);
        Assert.Single(Directory.GetFiles(peer.Pair.Inbox, ".raw.bin.*.part"));
        Assert.Single(Directory.GetFileSystemEntries(peer.Pair.Inbox));

        var terminate = await peer.NextAsync();
        Assert.Equal(JingleActions.SessionTerminate, terminate.GetAttribute("action"));
        Assert.Equal("timeout", JingleReason.Parse(terminate.Element("reason")).Condition);
        var received = await peer.Pair.Received.Task.WaitAsync(Patience);
        Assert.True(TimeProvider.System.GetElapsedTime(allIn) >= timeout - TimeSpan.FromMilliseconds(100));
        Assert.Equal(FileTransferError.Timeout, received.Error?.Error);
        Assert.Contains("checksum", received.Error!.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(peer.Pair.Inbox));
    }

    /// <summary>A hand-driven Jingle sender (no file-transfer manager): offers with &lt;hash-used/&gt;, sends over IBB.</summary>
    private sealed class RawSender : IAsyncDisposable
    {
        private const string Sid = "jc1";
        private const string StreamId = "ibc1";
        private readonly Channel<XmppElement> _inbound = Channel.CreateUnbounded<XmppElement>();
        private readonly byte[] _bytes = RandomNumberGenerator.GetBytes(5000);

        private RawSender(TransferPair pair, XmppClient raw)
        {
            Pair = pair;
            Raw = raw;
        }

        public TransferPair Pair { get; }

        public XmppClient Raw { get; }

        public string Sha256 => Convert.ToHexStringLower(SHA256.HashData(_bytes));

        public static async Task<RawSender> StartAsync(XmppTestServer server, string root, TimeSpan checksumTimeout)
        {
            var receiverOptions = TransferPair.LoopbackOptions();
            receiverOptions.JingleChecksumTimeout = checksumTimeout;
            var pair = await TransferPair.ConnectAsync(server, root, receiverOptions: receiverOptions);
            var raw = new XmppClient(server.ClientOptions(await server.CreateAccountAsync(), "raw"));
            var sender = new RawSender(pair, raw);
            raw.SetIqHandler("jingle", FileTransferNamespaces.Jingle, (iq, _) =>
            {
                sender._inbound.Writer.TryWrite(iq.Payload!);
                return ValueTask.FromResult<XmppElement?>(null);
            });
            await raw.ConnectAsync();
            return sender;
        }

        public async Task<XmppElement> NextAsync() => await _inbound.Reader.ReadAsync().AsTask().WaitAsync(Patience);

        /// <summary>Offers the file with hash-used, has it accepted, and sends every byte in two blocks and the close.</summary>
        public async Task OfferAndSendAsync(string? checksumBeforeClose = null)
        {
            var initiate = JingleElement.Create(JingleActions.SessionInitiate, Sid, initiator: Raw.Jid);
            var content = JingleElement.AddContent(initiate, "f");
            content.Add(new JingleFile("raw.bin", _bytes.Length, null, null, null, Sha256: null, HashUsed: true).ToDescription());
            content.Add(new IbbTransport(StreamId, 4096).ToElement());
            Assert.NotNull(initiate.Element("content")!.Element("description", FileTransferNamespaces.JingleFileTransfer)!
                .Element("file", FileTransferNamespaces.JingleFileTransfer)!.Element("hash-used", FileTransferNamespaces.Hashes));
            await Raw.SendIqAsync(new Iq(IqType.Set, Pair.ReceiverJid, initiate));
            var accept = await NextAsync();
            Assert.Equal(JingleActions.SessionAccept, accept.GetAttribute("action"));

            var open = new XmppElement("open", FileTransferNamespaces.InBandBytestreams);
            open.SetAttribute("block-size", "4096");
            open.SetAttribute("sid", StreamId);
            open.SetAttribute("stanza", "iq");
            await Raw.SendIqAsync(new Iq(IqType.Set, Pair.ReceiverJid, open));
            for (var seq = 0; seq * 4096 < _bytes.Length; seq++)
            {
                var data = new XmppElement("data", FileTransferNamespaces.InBandBytestreams) { Text = Convert.ToBase64String(_bytes.AsSpan(seq * 4096, Math.Min(4096, _bytes.Length - (seq * 4096)))) };
                data.SetAttribute("seq", seq.ToString(System.Globalization.CultureInfo.InvariantCulture));
                data.SetAttribute("sid", StreamId);
                await Raw.SendIqAsync(new Iq(IqType.Set, Pair.ReceiverJid, data));
            }

            if (checksumBeforeClose is not null)
            {
                await SendChecksumAsync(checksumBeforeClose);
            }

            var close = new XmppElement("close", FileTransferNamespaces.InBandBytestreams);
            close.SetAttribute("sid", StreamId);
            await Raw.SendIqAsync(new Iq(IqType.Set, Pair.ReceiverJid, close));
        }

        public async Task SendChecksumAsync(string sha256Hex)
        {
            var info = JingleElement.Create(JingleActions.SessionInfo, Sid, initiator: Raw.Jid);
            var checksum = info.AddChild("checksum", FileTransferNamespaces.JingleFileTransfer);
            checksum.SetAttribute("creator", "initiator");
            checksum.SetAttribute("name", "f");
            checksum.AddChild("file", FileTransferNamespaces.JingleFileTransfer).Add(JingleFile.HashElement(sha256Hex));
            await Raw.SendIqAsync(new Iq(IqType.Set, Pair.ReceiverJid, info));
        }

        public async ValueTask DisposeAsync()
        {
            await Raw.DisposeAsync();
            await Pair.DisposeAsync();
        }
    }
}
