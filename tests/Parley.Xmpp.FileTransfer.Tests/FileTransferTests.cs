using System.Net;
using Parley.Testing;

namespace Parley.Xmpp.FileTransfer.Tests;

/// <summary>Parley to Parley through real servers: every test runs on Prosody and on ejabberd.</summary>
[Collection(ServerFixture.CollectionName)]
public sealed class FileTransferTests(ServerFixture servers) : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly string _root = Directory.CreateTempSubdirectory("parley-ft-").FullName;

    public static TheoryData<string> Kinds => Servers.Kinds;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static FileSendOptions Only(FileTransferMethod method) => new() { Methods = [method] };

    private async Task AssertDeliveredAsync(TransferPair pair, FileTransferResult result, string sourceSha, long size, string name)
    {
        var received = await pair.Received.Task.WaitAsync(Patience);
        Assert.True(received.Succeeded, received.ToString());
        Assert.Equal(Path.Combine(pair.Inbox, name), received.Path);
        Assert.Equal(size, received.Bytes);
        Assert.Equal(sourceSha, received.Sha256);
        Assert.Equal(sourceSha, result.Sha256);
        Assert.Equal(size, result.Bytes);
        Assert.Equal(sourceSha, TestFiles.Sha256Of(received.Path!));
        Assert.Equal(result.Method, received.Method);
        Assert.Equal([name], Directory.GetFiles(pair.Inbox).Select(Path.GetFileName));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Sends_over_in_band_bytestreams(string kind)
    {
        var server = await servers.GetAsync(kind);
        await using var pair = await TransferPair.ConnectAsync(server, _root);
        var (path, sha) = TestFiles.Create(_root, "in band.bin", 300_001);
        long lastProgress = 0;
        var result = await pair.SenderFt.SendFileAsync(pair.ReceiverJid, path, Only(FileTransferMethod.InBandBytestreams), new SyncProgress(p => lastProgress = p.BytesTransferred));
        Assert.Equal(FileTransferMethod.InBandBytestreams, result.Method);
        Assert.Null(result.FallbackReason);
        Assert.Equal(300_001, lastProgress);
        await AssertDeliveredAsync(pair, result, sha, 300_001, "in band.bin");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Sends_over_socks5_to_our_own_streamhost(string kind)
    {
        var server = await servers.GetAsync(kind);
        var options = TransferPair.LoopbackOptions();
        options.UseServerProxy = false;
        await using var pair = await TransferPair.ConnectAsync(server, _root, options);
        var (path, sha) = TestFiles.Create(_root, "direct.bin", 3_000_000, seed: 2);
        var result = await pair.SenderFt.SendFileAsync(pair.ReceiverJid, path, Only(FileTransferMethod.Socks5Bytestreams));
        Assert.Equal(FileTransferMethod.Socks5Bytestreams, result.Method);
        await AssertDeliveredAsync(pair, result, sha, 3_000_000, "direct.bin");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Sends_over_socks5_through_the_servers_proxy(string kind)
    {
        var server = await servers.GetAsync(kind);
        var options = new FileTransferOptions { EnableDirectSocks5 = false };
        await using var pair = await TransferPair.ConnectAsync(server, _root, options);
        var (path, sha) = TestFiles.Create(_root, "proxied.bin", 3_000_000, seed: 3);
        var result = await pair.SenderFt.SendFileAsync(pair.ReceiverJid, path, Only(FileTransferMethod.Socks5Bytestreams));
        Assert.Equal(FileTransferMethod.Socks5Bytestreams, result.Method);
        await AssertDeliveredAsync(pair, result, sha, 3_000_000, "proxied.bin");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_file_stream_is_sent_over_socks5_from_its_position_and_left_after_the_range(string kind)
    {
        // A FileStream goes out with sendfile and a separate hashing read: both must start at the stream's position.
        var server = await servers.GetAsync(kind);
        var options = TransferPair.LoopbackOptions();
        options.UseServerProxy = false;
        await using var pair = await TransferPair.ConnectAsync(server, _root, options);
        var (path, _) = TestFiles.Create(_root, "whole.bin", 7_000_000, seed: 21);
        const long start = 1_000_001, size = 5_000_003;
        var range = new byte[size];
        await using (var read = File.OpenRead(path))
        {
            read.Position = start;
            await read.ReadExactlyAsync(range);
        }

        await using var content = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.Asynchronous);
        content.Position = start;
        var result = await pair.SenderFt.SendFileAsync(pair.ReceiverJid, content, "range.bin", size, Only(FileTransferMethod.Socks5Bytestreams));
        Assert.Equal(FileTransferMethod.Socks5Bytestreams, result.Method);
        Assert.Equal(start + size, content.Position);
        await AssertDeliveredAsync(pair, result, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(range)), size, "range.bin");
        Assert.Equal(range, await File.ReadAllBytesAsync(Path.Combine(pair.Inbox, "range.bin")));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Cancelling_a_socks5_send_mid_file_deletes_the_receivers_temporary_file(string kind)
    {
        var server = await servers.GetAsync(kind);
        var options = TransferPair.LoopbackOptions();
        options.UseServerProxy = false;
        await using var pair = await TransferPair.ConnectAsync(server, _root, options);
        var (path, _) = TestFiles.Create(_root, "s5-cancelled.bin", 24_000_000, seed: 22);
        using var cancel = new CancellationTokenSource();
        var sawPartFile = false;
        long cancelledAt = 0;
        var progress = new SyncProgress(p =>
        {
            if (p.BytesTransferred >= 2_000_000 && !cancel.IsCancellationRequested)
            {
                sawPartFile = Directory.GetFiles(pair.Inbox, ".s5-cancelled.bin.*.part").Length == 1;
                cancelledAt = p.BytesTransferred;
                cancel.Cancel();
            }
        });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pair.SenderFt.SendFileAsync(pair.ReceiverJid, path, Only(FileTransferMethod.Socks5Bytestreams), progress, cancel.Token));
        Assert.True(sawPartFile, "the receiver writes to a temporary file while receiving");
        Assert.InRange(cancelledAt, 2_000_000, 23_999_999);
        var received = await pair.Received.Task.WaitAsync(Patience);
        Assert.False(received.Succeeded);
        Assert.Equal(FileTransferError.Aborted, received.Error!.Error);
        Assert.InRange(received.Bytes, 1, 23_999_999);
        Assert.Empty(Directory.GetFileSystemEntries(pair.Inbox));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task When_every_streamhost_fails_the_same_sid_falls_back_to_in_band(string kind)
    {
        var server = await servers.GetAsync(kind);
        var options = TransferPair.LoopbackOptions();
        options.UseServerProxy = false;
        options.Socks5AdvertisedHosts.Add("127.0.0.2"); // we listen on 127.0.0.1 only: the receiver's connect is refused
        await using var pair = await TransferPair.ConnectAsync(server, _root, options);
        var (path, sha) = TestFiles.Create(_root, "fallback.bin", 100_000, seed: 4);
        // SI only: with Jingle allowed, a Parley receiver would get a Jingle session (JingleTests covers its fallback).
        var result = await pair.SenderFt.SendFileAsync(pair.ReceiverJid, path, new FileSendOptions { Methods = [FileTransferMethod.Socks5Bytestreams, FileTransferMethod.InBandBytestreams] });
        Assert.Equal(FileTransferMethod.InBandBytestreams, result.Method);
        Assert.Contains("item-not-found", result.FallbackReason, StringComparison.Ordinal);
        await AssertDeliveredAsync(pair, result, sha, 100_000, "fallback.bin");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_declined_offer_is_a_declined_error_and_nothing_is_written(string kind)
    {
        var server = await servers.GetAsync(kind);
        await using var pair = await TransferPair.ConnectAsync(server, _root);
        pair.ReceiverFt.IncomingPolicy = (offer, _) => ValueTask.FromResult(offer.Size > 10 ? offer.Decline("too big") : offer.Accept(pair.Inbox));
        var (path, _) = TestFiles.Create(_root, "big.bin", 11);
        var error = await Assert.ThrowsAsync<FileTransferException>(() => pair.SenderFt.SendFileAsync(pair.ReceiverJid, path));
        Assert.Equal(FileTransferError.Declined, error.Error);
        Assert.Contains("too big", error.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(pair.Inbox));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task The_si_features_are_announced_in_disco(string kind)
    {
        var server = await servers.GetAsync(kind);
        await using var pair = await TransferPair.ConnectAsync(server, _root);
        var info = await pair.Sender.Disco.QueryInfoAsync(pair.ReceiverJid);
        Assert.True(info.Supports(FileTransferNamespaces.StreamInitiation));
        Assert.True(info.Supports(FileTransferNamespaces.FileTransferProfile));
        Assert.True(info.Supports(FileTransferNamespaces.Bytestreams));
        Assert.True(info.Supports(FileTransferNamespaces.InBandBytestreams));
        Assert.Equal(Parley.Xmpp.EntityCapabilities.ComputeVer(pair.Receiver.Disco.GetOwnInfo()), Parley.Xmpp.EntityCapabilities.ComputeVer(info));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Cancelling_mid_transfer_deletes_the_receivers_temporary_file(string kind)
    {
        var server = await servers.GetAsync(kind);
        await using var pair = await TransferPair.ConnectAsync(server, _root);
        var (path, _) = TestFiles.Create(_root, "cancelled.bin", 2_000_000, seed: 5);
        using var cancel = new CancellationTokenSource();
        var sawPartFile = false;
        var progress = new SyncProgress(p =>
        {
            if (p.BytesTransferred >= 200_000 && !cancel.IsCancellationRequested)
            {
                sawPartFile = Directory.GetFiles(pair.Inbox, ".cancelled.bin.*.part").Length == 1;
                cancel.Cancel();
            }
        });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pair.SenderFt.SendFileAsync(pair.ReceiverJid, path, Only(FileTransferMethod.InBandBytestreams), progress, cancel.Token));
        Assert.True(sawPartFile, "the receiver writes to a temporary file while receiving");
        var received = await pair.Received.Task.WaitAsync(Patience);
        Assert.False(received.Succeeded);
        Assert.Equal(FileTransferError.Aborted, received.Error!.Error);
        Assert.Empty(Directory.GetFileSystemEntries(pair.Inbox));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_large_file_streams_with_flat_memory(string kind)
    {
        // In-band with 60 KB blocks and 8 in flight. "Flat" means independent of the file's size: a 24 MB file
        // may not hold more live memory than a 9 MB one beyond noise. Comparing two sizes in one run keeps the
        // blocks in flight (a few MB as bytes, base64 text and XML on both ends) and the machine's load out of it; both
        // files are large enough for the receiver's full set of buffers (four of BufferSize, 8 MiB by default).
        // GC.GetTotalMemory is process-wide, so tests of other collections running meanwhile add a few MB of noise (up to
        // about 5 MB); a file held in memory would add at least its 24 MB, so a 10 MB margin still tells them apart.
        var server = await servers.GetAsync(kind);
        var senderOptions = TransferPair.LoopbackOptions();
        senderOptions.IbbBlockSize = 60_000;
        senderOptions.IbbWindow = 8;
        await using var pair = await TransferPair.ConnectAsync(server, _root, senderOptions);
        var small = await PeakLiveMemoryAsync(pair, "small.bin", 9_000_000, seed: 5);
        var large = await PeakLiveMemoryAsync(pair, "large.bin", 24_000_000, seed: 6);
        Assert.True(large < small + 10_000_000, $"live memory peaked at {small:N0} bytes for 9 MB but {large:N0} bytes for 24 MB");
    }

    private async Task<long> PeakLiveMemoryAsync(TransferPair pair, string name, long size, int seed)
    {
        pair.Received = new TaskCompletionSource<IncomingFileTransferEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        var (path, sha) = TestFiles.Create(_root, name, size, seed);
        var baseline = GC.GetTotalMemory(forceFullCollection: true);
        long peak = 0;
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                peak = Math.Max(peak, GC.GetTotalMemory(forceFullCollection: true) - baseline);
                await Task.Delay(50);
            }
        });
        var result = await pair.SenderFt.SendFileAsync(pair.ReceiverJid, path, Only(FileTransferMethod.InBandBytestreams));
        await pair.Received.Task.WaitAsync(Patience);
        await stop.CancelAsync();
        await sampler;
        await AssertDeliveredAsync(pair, result, sha, size, name);
        File.Delete(Path.Combine(pair.Inbox, name));
        return peak;
    }
}
