using System.Security.Cryptography;
using Parley.Testing;

namespace Parley.Xmpp.FileTransfer.Tests;

/// <summary>
/// <see cref="FileSendOptions.Sha256"/>: a hash the caller already knows is offered as is (the sender does not hash), the
/// receiver still checks it, and a wrong one makes the receiver reject the file (Prosody and ejabberd).
/// </summary>
[Collection(ServerFixture.CollectionName)]
public sealed class KnownHashTests(ServerFixture servers) : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(40);
    private readonly string _root = Directory.CreateTempSubdirectory("parley-knownhash-").FullName;

    /// <summary>The hash each offer the receiver got carried (null for none), in order.</summary>
    private readonly List<string?> _offered = [];

    public static TheoryData<string> Kinds => Servers.Kinds;

    public static TheoryData<string, Route> KindsAndRoutes => Servers.With(Enum.GetValues<Route>());

    public static TheoryData<string, Route> KindsAndSiRoutes => Servers.With(Route.SiSocks5, Route.SiInBand);

    public static TheoryData<string, FileTransferMethod> KindsAndJingleTransports => Servers.With(FileTransferMethod.Socks5Bytestreams, FileTransferMethod.InBandBytestreams);

    public static TheoryData<string, string> KindsAndInvalidHashes
    {
        get
        {
            var valid = Convert.ToHexStringLower(SHA256.HashData("x"u8));
            return Servers.With(string.Empty, valid[..63], valid + "0", "g" + valid[1..], " " + valid[1..], Convert.ToBase64String(SHA256.HashData("x"u8)));
        }
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static long SizeOf(Route route) => route is Route.JingleSocks5 or Route.SiSocks5 ? 3_000_017 : 150_001;

    /// <summary>A pair whose sender offers only its own streamhost on loopback; the receiver records the hash of each offer in <see cref="_offered"/>.</summary>
    private async Task<TransferPair> ConnectAsync(string kind)
    {
        var options = TransferPair.LoopbackOptions();
        options.UseServerProxy = false;
        var pair = await TransferPair.ConnectAsync(await servers.GetAsync(kind), _root, options);
        pair.ReceiverFt.IncomingPolicy = (offer, _) =>
        {
            lock (_offered)
            {
                _offered.Add(offer.Sha256);
            }

            return ValueTask.FromResult(offer.Accept(pair.Inbox));
        };
        return pair;
    }

    [Theory]
    [MemberData(nameof(KindsAndRoutes))]
    public async Task A_known_hash_is_offered_and_the_file_arrives_verified(string kind, Route route)
    {
        await using var pair = await ConnectAsync(kind);
        var size = SizeOf(route);
        var (path, sha) = TestFiles.Create(_root, "known.bin", size, seed: 41);

        // Upper case is accepted; the result carries lower case. A path goes out with sendfile over SOCKS5.
        var result = await pair.SenderFt.SendFileAsync(pair.ReceiverJid, path, new FileSendOptions { Methods = Routes.MethodsOf(route), Sha256 = sha.ToUpperInvariant() });

        Assert.Equal(sha, result.Sha256);
        Assert.Equal(size, result.Bytes);
        Assert.Equal(route is Route.JingleSocks5 or Route.JingleInBand ? FileTransferMethod.Jingle : Routes.MethodsOf(route)[0], result.Method);
        Assert.Equal(route is Route.JingleSocks5 or Route.SiSocks5 ? FileTransferMethod.Socks5Bytestreams : FileTransferMethod.InBandBytestreams, result.Transport);
        var received = await pair.Received.Task.WaitAsync(Patience);
        Assert.True(received.Succeeded, received.ToString());

        // The offer itself carried the value (no <hash-used/> and <checksum/> over Jingle), and the receiver's hash matched it.
        Assert.Equal([sha], _offered);
        Assert.Equal(sha, received.Sha256);
        Assert.Equal(sha, TestFiles.Sha256Of(received.Path!));
        Assert.Equal(["known.bin"], Directory.GetFiles(pair.Inbox).Select(Path.GetFileName));
    }

    [Theory]
    [MemberData(nameof(KindsAndSiRoutes))]
    public async Task With_a_known_hash_an_si_offer_needs_no_pass_before_it(string kind, Route route)
    {
        // Without Sha256 a seekable stream is read twice for an SI offer (hash, then send); with it, once.
        await using var pair = await ConnectAsync(kind);
        var size = SizeOf(route);
        var (path, sha) = TestFiles.Create(_root, "once.bin", size, seed: 42);
        await using var content = new CountingStream(File.OpenRead(path));

        var result = await pair.SenderFt.SendFileAsync(pair.ReceiverJid, content, "once.bin", size, new FileSendOptions { Methods = Routes.MethodsOf(route), Sha256 = sha });

        Assert.Equal(size, content.BytesRead);
        Assert.Equal(sha, result.Sha256);
        var received = await pair.Received.Task.WaitAsync(Patience);
        Assert.True(received.Succeeded, received.ToString());
        Assert.Equal([sha], _offered);
        Assert.Equal(sha, TestFiles.Sha256Of(received.Path!));
    }

    [Theory]
    [MemberData(nameof(KindsAndSiRoutes))]
    public async Task IncludeHash_false_does_not_hide_a_known_hash(string kind, Route route)
    {
        await using var pair = await ConnectAsync(kind);
        var (path, sha) = TestFiles.Create(_root, "included.bin", 20_000, seed: 43);

        await pair.SenderFt.SendFileAsync(pair.ReceiverJid, path, new FileSendOptions { Methods = Routes.MethodsOf(route), Sha256 = sha, IncludeHash = false });

        var received = await pair.Received.Task.WaitAsync(Patience);
        Assert.True(received.Succeeded, received.ToString());
        Assert.Equal([sha], _offered);
    }

    [Theory]
    [MemberData(nameof(KindsAndJingleTransports))]
    public async Task A_wrong_known_hash_over_jingle_is_rejected_by_the_receiver_and_no_other_method_is_tried(string kind, FileTransferMethod transport)
    {
        // SI is allowed and the receiver announces it: a fallback would offer the same wrong value again.
        await using var pair = await ConnectAsync(kind);
        var size = transport == FileTransferMethod.Socks5Bytestreams ? 1_000_003 : 60_001;
        var (path, sha) = TestFiles.Create(_root, "wrong.bin", size, seed: 44);
        var wrong = Convert.ToHexStringLower(SHA256.HashData("something else"u8));

        var error = await Assert.ThrowsAsync<FileTransferException>(() => pair.SenderFt.SendFileAsync(pair.ReceiverJid, path,
            new FileSendOptions { Methods = [FileTransferMethod.Jingle, transport, FileTransferMethod.Socks5Bytestreams, FileTransferMethod.InBandBytestreams], Sha256 = wrong }));

        Assert.Equal(FileTransferError.HashMismatch, error.Error);
        Assert.Contains("media-error", error.Message, StringComparison.Ordinal);
        var received = await pair.Received.Task.WaitAsync(Patience);
        Assert.False(received.Succeeded);
        Assert.Equal(FileTransferError.HashMismatch, received.Error?.Error);
        Assert.Contains(sha, received.Error!.Message, StringComparison.Ordinal);
        Assert.Null(received.Path);
        Assert.Equal([wrong], _offered);
        Assert.Empty(Directory.GetFileSystemEntries(pair.Inbox));
    }

    [Theory]
    [MemberData(nameof(KindsAndSiRoutes))]
    public async Task A_wrong_known_hash_over_si_is_rejected_by_the_receiver_and_the_sender_hears_of_it(string kind, Route route)
    {
        // SI (XEP-0096) has no answer after the data: the receiver deletes the file and tells the sender the only way each
        // stream has. Over SOCKS5 it resets the connection (closing it means "every byte arrived"); in-band it refuses the
        // sender's <close/> with not-acceptable. A Jingle receiver reports it in session-terminate (test above).
        await using var pair = await ConnectAsync(kind);
        var size = SizeOf(route);
        var (path, sha) = TestFiles.Create(_root, "wrong-si.bin", size, seed: 45);
        var wrong = Convert.ToHexStringLower(SHA256.HashData("something else"u8));
        var options = new FileSendOptions { Methods = Routes.MethodsOf(route), Sha256 = wrong };

        var error = await Assert.ThrowsAsync<FileTransferException>(() => pair.SenderFt.SendFileAsync(pair.ReceiverJid, path, options));
        if (route == Route.SiSocks5)
        {
            Assert.Equal(FileTransferError.StreamFailed, error.Error);
        }
        else
        {
            Assert.Equal(FileTransferError.HashMismatch, error.Error);
            Assert.Contains(sha, error.Message, StringComparison.Ordinal);
        }

        var received = await pair.Received.Task.WaitAsync(Patience);
        Assert.False(received.Succeeded);
        Assert.Equal(FileTransferError.HashMismatch, received.Error?.Error);
        Assert.Contains(sha, received.Error!.Message, StringComparison.Ordinal);
        Assert.Equal([wrong], _offered);
        Assert.Empty(Directory.GetFileSystemEntries(pair.Inbox));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task An_upload_link_with_a_known_hash_reads_the_content_once_and_reports_the_value(string kind)
    {
        var server = await servers.GetAsync(kind);
        await using var sender = new XmppClient(server.ClientOptions(await server.CreateAccountAsync(), "send"));
        await using var ft = sender.AddExtension(new FileTransferManager(TransferPair.LoopbackOptions()));
        await using var receiver = new XmppClient(server.ClientOptions(await server.CreateAccountAsync(), "plain"));
        await sender.ConnectAsync();
        await receiver.ConnectAsync();
        var (path, sha) = TestFiles.Create(_root, "linked.bin", 200_003, seed: 47);
        await using var content = new CountingStream(File.OpenRead(path));

        var result = await ft.SendFileAsync(receiver.Jid!, content, "linked.bin", 200_003, new FileSendOptions { Methods = [FileTransferMethod.HttpUpload], Sha256 = sha }).WaitAsync(Patience);

        Assert.Equal(FileTransferMethod.HttpUpload, result.Method);
        Assert.Equal(sha, result.Sha256);
        Assert.Equal(200_003, result.Bytes);
        Assert.Equal(200_003, content.BytesRead);
        using var http = new HttpClient();
        Assert.Equal(sha, Convert.ToHexStringLower(SHA256.HashData(await http.GetByteArrayAsync(result.Link))));
    }

    [Theory]
    [MemberData(nameof(KindsAndInvalidHashes))]
    public async Task An_invalid_known_hash_is_refused_before_anything_is_sent(string kind, string invalid)
    {
        await using var pair = await ConnectAsync(kind);
        var (path, _) = TestFiles.Create(_root, "never.bin", 1000, seed: 46);
        var options = new FileSendOptions { Sha256 = invalid };

        var fromPath = await Assert.ThrowsAsync<ArgumentException>(() => pair.SenderFt.SendFileAsync(pair.ReceiverJid, path, options));
        await using var content = new CountingStream(File.OpenRead(path));
        var fromStream = await Assert.ThrowsAsync<ArgumentException>(() => pair.SenderFt.SendFileAsync(pair.ReceiverJid, content, "never.bin", 1000, options));

        foreach (var error in new[] { fromPath, fromStream })
        {
            Assert.Equal("options", error.ParamName);
            Assert.Contains("FileSendOptions.Sha256", error.Message, StringComparison.Ordinal);
        }

        Assert.Equal(0, content.BytesRead);

        // Nothing reached the receiver: a valid send afterwards is the first offer it sees.
        await pair.SenderFt.SendFileAsync(pair.ReceiverJid, path, new FileSendOptions { Methods = [FileTransferMethod.InBandBytestreams] });
        Assert.True((await pair.Received.Task.WaitAsync(Patience)).Succeeded);
        Assert.Single(_offered);
    }
}
