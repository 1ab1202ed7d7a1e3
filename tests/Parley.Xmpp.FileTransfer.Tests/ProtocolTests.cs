using System.Security.Cryptography;
using Parley.Testing;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp.FileTransfer.Tests;

/// <summary>A Parley receiver against a hand-driven sender that breaks the rules: hashes, sizes, sequence numbers, block sizes.</summary>
[Collection(ServerFixture.CollectionName)]
public sealed class ProtocolTests(ServerFixture servers) : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly string _root = Directory.CreateTempSubdirectory("parley-ft-proto-").FullName;

    public static TheoryData<string> Kinds => Servers.Kinds;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static async Task OfferAsync(TransferPair pair, string sid, long size, string? sha256)
    {
        var offer = new SiFileOffer(sid, "raw.bin", size, null, null, sha256, [FileTransferMethod.InBandBytestreams]);
        var answer = await pair.Sender.SendIqAsync(new Iq(IqType.Set, pair.ReceiverJid, offer.ToElement()));
        Assert.Equal(FileTransferMethod.InBandBytestreams, SiFileOffer.ParseAnswer(answer.Payload));
    }

    private static Iq Ibb(TransferPair pair, string name, string sid, Action<XmppElement>? build = null)
    {
        var element = new XmppElement(name, FileTransferNamespaces.InBandBytestreams);
        element.SetAttribute("sid", sid);
        build?.Invoke(element);
        return new Iq(IqType.Set, pair.ReceiverJid, element);
    }

    private static Iq Data(TransferPair pair, string sid, int seq, byte[] bytes)
        => Ibb(pair, "data", sid, d =>
        {
            d.SetAttribute("seq", seq.ToString(System.Globalization.CultureInfo.InvariantCulture));
            d.Text = Convert.ToBase64String(bytes);
        });

    private static Iq Open(TransferPair pair, string sid, int blockSize)
        => Ibb(pair, "open", sid, o =>
        {
            o.SetAttribute("block-size", blockSize.ToString(System.Globalization.CultureInfo.InvariantCulture));
            o.SetAttribute("stanza", "iq");
        });

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_file_that_does_not_match_the_offered_hash_is_deleted(string kind)
    {
        await using var pair = await TransferPair.ConnectAsync(await servers.GetAsync(kind), _root);
        var bytes = RandomNumberGenerator.GetBytes(3000);
        var wrong = Convert.ToHexStringLower(SHA256.HashData("something else"u8));
        await OfferAsync(pair, "h1", bytes.Length, wrong);
        await pair.Sender.SendIqAsync(Open(pair, "h1", 4096));
        await pair.Sender.SendIqAsync(Data(pair, "h1", 0, bytes));

        // The answer to the close is the only one SI has after the data: it refuses, with the receiver's reason.
        var refused = await Assert.ThrowsAsync<XmppStanzaException>(() => pair.Sender.SendIqAsync(Ibb(pair, "close", "h1")));
        Assert.Equal("not-acceptable", refused.Condition);
        Assert.Contains(wrong, refused.Error.Text, StringComparison.Ordinal);
        var received = await pair.Received.Task.WaitAsync(Patience);
        Assert.Equal(FileTransferError.HashMismatch, received.Error?.Error);
        Assert.Empty(Directory.GetFileSystemEntries(pair.Inbox));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_block_out_of_sequence_ends_the_transfer(string kind)
    {
        await using var pair = await TransferPair.ConnectAsync(await servers.GetAsync(kind), _root);
        await OfferAsync(pair, "s1", 200, null);
        await pair.Sender.SendIqAsync(Open(pair, "s1", 100));
        await pair.Sender.SendIqAsync(Data(pair, "s1", 0, new byte[100]));
        var error = await Assert.ThrowsAsync<XmppStanzaException>(() => pair.Sender.SendIqAsync(Data(pair, "s1", 2, new byte[100])));
        Assert.Equal("unexpected-request", error.Condition);
        var received = await pair.Received.Task.WaitAsync(Patience);
        Assert.Equal(FileTransferError.Protocol, received.Error?.Error);
        Assert.Empty(Directory.GetFileSystemEntries(pair.Inbox));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Blocks_larger_than_negotiated_and_bytes_beyond_the_size_are_refused(string kind)
    {
        await using var pair = await TransferPair.ConnectAsync(await servers.GetAsync(kind), _root);
        await OfferAsync(pair, "b1", 1000, null);
        await pair.Sender.SendIqAsync(Open(pair, "b1", 100));
        var error = await Assert.ThrowsAsync<XmppStanzaException>(() => pair.Sender.SendIqAsync(Data(pair, "b1", 0, new byte[101])));
        Assert.Equal("unexpected-request", error.Condition);
        Assert.Equal(FileTransferError.Protocol, (await pair.Received.Task.WaitAsync(Patience)).Error?.Error);

        await using var second = await TransferPair.ConnectAsync(await servers.GetAsync(kind), Directory.CreateDirectory(Path.Combine(_root, "second")).FullName);
        await OfferAsync(second, "b2", 150, null);
        await second.Sender.SendIqAsync(Open(second, "b2", 100));
        await second.Sender.SendIqAsync(Data(second, "b2", 0, new byte[100]));
        error = await Assert.ThrowsAsync<XmppStanzaException>(() => second.Sender.SendIqAsync(Data(second, "b2", 1, new byte[100])));
        Assert.Equal("not-acceptable", error.Condition);
        Assert.Equal(FileTransferError.SizeMismatch, (await second.Received.Task.WaitAsync(Patience)).Error?.Error);
        Assert.Empty(Directory.GetFileSystemEntries(second.Inbox));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Streams_without_an_accepted_offer_are_refused(string kind)
    {
        await using var pair = await TransferPair.ConnectAsync(await servers.GetAsync(kind), _root);
        var error = await Assert.ThrowsAsync<XmppStanzaException>(() => pair.Sender.SendIqAsync(Open(pair, "nope", 4096)));
        Assert.Equal("not-acceptable", error.Condition);
        error = await Assert.ThrowsAsync<XmppStanzaException>(() => pair.Sender.SendIqAsync(Data(pair, "nope", 0, new byte[10])));
        Assert.Equal("item-not-found", error.Condition);
        var query = new XmppElement("query", FileTransferNamespaces.Bytestreams);
        query.SetAttribute("sid", "nope");
        var streamhost = query.AddChild("streamhost");
        streamhost.SetAttribute("jid", pair.Sender.Jid!.ToString());
        streamhost.SetAttribute("host", "127.0.0.1");
        streamhost.SetAttribute("port", "9");
        error = await Assert.ThrowsAsync<XmppStanzaException>(() => pair.Sender.SendIqAsync(new Iq(IqType.Set, pair.ReceiverJid, query)));
        Assert.Equal("not-acceptable", error.Condition);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_block_size_above_the_receivers_maximum_is_renegotiated_smaller(string kind)
    {
        var sender = TransferPair.LoopbackOptions();
        sender.IbbBlockSize = 16384;
        var receiver = TransferPair.LoopbackOptions();
        receiver.IbbMaxBlockSize = 4096;
        await using var pair = await TransferPair.ConnectAsync(await servers.GetAsync(kind), _root, sender, receiver);
        var (path, sha) = TestFiles.Create(_root, "smaller.bin", 50_000, seed: 9);
        var result = await pair.SenderFt.SendFileAsync(pair.ReceiverJid, path, new FileSendOptions { Methods = [FileTransferMethod.InBandBytestreams] });
        Assert.Equal(sha, result.Sha256);
        var received = await pair.Received.Task.WaitAsync(Patience);
        Assert.True(received.Succeeded, received.ToString());
        Assert.Equal(sha, TestFiles.Sha256Of(received.Path!));
    }
}
