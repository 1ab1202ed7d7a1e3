using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Parley.Testing;
using Parley.Xmpp;
using Parley.Xmpp.FileTransfer;

namespace Parley.Benchmarks;

/// <summary>
/// File-transfer throughput through a private Prosody, each against a peer measured in the same run:
/// SOCKS5 (Parley sender → Parley receiver, Jingle over the sender's direct streamhost on loopback) against a plain
/// TCP copy of the same file doing the same disk I/O, with the process's memory sampled during the Parley send; and
/// in-band bytestreams (Parley → Parley, SI) against slixmpp → slixmpp with the same block size.
/// </summary>
internal static class FileTransferHarness
{
    /// <summary>The raw copies' buffer on both sides: a common copy-loop size, independent of <see cref="FileTransferOptions.BufferSize"/>.</summary>
    private const int CopyBuffer = 64 * 1024;
    private const long MiB = 1024 * 1024;
    private const string Raw = "raw TCP copy (TcpListener/TcpClient)";
    private const string RawHash = "raw TCP copy + SHA-256 on both sides";
    private const string ParleyDefault = "Parley SOCKS5, defaults (hash-used, <checksum/> after the data)";
    private const string ParleyHashInOffer = "Parley SOCKS5, JingleHashInOffer (SHA-256 pass before the offer)";
    private const string ParleyKnownHash = "Parley SOCKS5, SHA-256 known (computed when the file was made)";
    private const string ParleyPageCache = "Parley SOCKS5, defaults but DirectFileWrites = false";

    public static async Task<int> RunAsync(string[] args)
    {
        if (HarnessArguments.Parse(args, ("--size-mb", 1024), ("--ibb-size-mb", 32), ("--block", 4096), ("--runs", 2), ("--socks5", 1), ("--ibb", 1), ("--raw", 1), ("--window", new FileTransferOptions().IbbWindow), ("--parley-block", 0), ("--parley-sm", 1)) is not { } options)
        {
            return 2;
        }

        var (sizeMb, ibbSizeMb, block, runs) = (options["--size-mb"], options["--ibb-size-mb"], options["--block"], options["--runs"]);
        if (sizeMb < 1 || ibbSizeMb < 1 || block is < 1 or > FileTransferOptions.MaxBlockSizeLimit || runs < 1
            || options["--window"] is < 1 or > 64 || options["--parley-block"] is < 0 or > FileTransferOptions.MaxBlockSizeLimit)
        {
            Console.Error.WriteLine($"--size-mb and --ibb-size-mb must be >= 1, --block 1..{FileTransferOptions.MaxBlockSizeLimit}, --parley-block 0 (= --block)..{FileTransferOptions.MaxBlockSizeLimit}, --window 1..64, --runs >= 1.");
            return 2;
        }

        if (Environment.GetEnvironmentVariable("PARLEY_SERVER_DEBUG") is "1" or "true")
        {
            Console.Error.WriteLine("PARLEY_SERVER_DEBUG is set: Prosody would log every stanza and the numbers would measure its logging. Unset it.");
            return 2;
        }

        var socks5 = options["--socks5"] != 0;
        var ibb = options["--ibb"] != 0;
        var root = Path.Combine(Path.GetTempPath(), "parley-bench-ft-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));

        // Source and one received copy exist at once (each copy is deleted after its run); keep 256 MB to spare.
        var needed = ((socks5 ? sizeMb : 0) * 2 * MiB) + ((ibb ? ibbSizeMb : 0) * 2 * MiB) + (256 * MiB);
        var free = new DriveInfo(Path.GetTempPath()).AvailableFreeSpace;
        if (free < needed)
        {
            Console.Error.WriteLine($"Not enough free space in {Path.GetTempPath()}: {free / MiB:N0} MB free, {needed / MiB:N0} MB needed (the file, one received copy and 256 MB to spare). Use a smaller --size-mb.");
            return 1;
        }

        using var cancellation = new CancellationTokenSource(TimeSpan.FromMinutes(60));
        var ct = cancellation.Token;
        Directory.CreateDirectory(root);
        try
        {
            Console.WriteLine("Starting a private Prosody (info-level log, no stanza debug logging) ...");
            await using var server = await ProsodyServer.StartNewAsync(new XmppTestServerOptions { DebugLogging = false }, ct);
            var prosody = ProsodyProcess.Find(server.DirectoryPath);
            Console.WriteLine($"Prosody on {server.Host}:{server.ClientPort} (STARTTLS), domain {server.Domain}, pid {prosody?.Pid.ToString(CultureInfo.InvariantCulture) ?? "not found"}.");
            Console.WriteLine($".NET {Environment.Version}, {Environment.ProcessorCount} logical cores, load average {ParseHarness.LoadAverage()}, {free / MiB:N0} MB free in {Path.GetTempPath()}.");
            Console.WriteLine();
            var status = 0;
            if (socks5)
            {
                status |= await RunSocks5Async(server, prosody, root, sizeMb * MiB, runs, options["--raw"] != 0, ct);
            }

            if (ibb)
            {
                status |= await RunIbbAsync(server, prosody, root, ibbSizeMb * MiB, block, options["--parley-block"] is > 0 and var own ? own : block, options["--window"], options["--parley-sm"] != 0, runs, options.Slixmpp, ct);
            }

            Console.WriteLine();
            Console.WriteLine("CPU: user + system seconds of the process named during the measured span (client: this process, both");
            Console.WriteLine("sides; slixmpp: its process, both clients; Prosody: the server process), as a share of the wall time.");
            return status;
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static async Task<int> RunSocks5Async(XmppTestServer server, ProsodyProcess? prosody, string root, long size, int runs, bool raw, CancellationToken ct)
    {
        Console.WriteLine($"== SOCKS5 (XEP-0065): {size / MiB:N0} MB, {runs} round(s); disk file -> loopback TCP -> disk file on both sides ==");
        var source = await CreateFileAsync(Path.Combine(root, "source.bin"), size, ct);
        var inbox = Directory.CreateDirectory(Path.Combine(root, "inbox")).FullName;

        // The direct streamhost on loopback and no proxy: the bytes take the same path as the raw copy's.
        FileTransferOptions Loopback() => new() { Socks5BindAddress = IPAddress.Loopback, UseServerProxy = false };
        await using var pair = await Pair.ConnectAsync(server, inbox, Loopback(), Loopback(), ct);

        // The same, but the receiver writes through the page cache as the raw copy does (no O_DIRECT): what DirectFileWrites is worth.
        var pageCacheReceiver = Loopback();
        pageCacheReceiver.DirectFileWrites = false;
        await using var pageCachePair = await Pair.ConnectAsync(server, inbox, Loopback(), pageCacheReceiver, ct);

        // Warm-up, unmeasured (JIT, the streamhost listener): one small raw copy and one small Parley send per pair.
        var warm = await CreateFileAsync(Path.Combine(root, "warm.bin"), 8 * MiB, ct);
        await RawCopyAsync(warm, inbox, hash: true, ct);
        await pair.SendAsync(warm, new FileSendOptions(), ct);
        await pageCachePair.SendAsync(warm, new FileSendOptions(), ct);
        File.Delete(warm);

        // FileSendOptions.Sha256: the hash a caller has from when the file was made or fetched. Computed once here, outside
        // every measured span; the sender then hashes nothing, the receiver still verifies against it.
        var hashing = Stopwatch.StartNew();
        string knownSha256;
        await using (var file = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.Asynchronous | FileOptions.SequentialScan))
        {
            knownSha256 = Convert.ToHexStringLower(await SHA256.HashDataAsync(file, ct));
        }

        Console.WriteLine($"  (SHA-256 of the source for the known-hash contender, unmeasured: {hashing.Elapsed.TotalSeconds:F2} s)");

        // --raw 0 leaves the raw copies out: for profiling Parley alone (no ratios then).
        (string Label, Func<Task> Run)[] contenders =
        [
            .. raw ? new (string, Func<Task>)[] { (Raw, () => RawCopyAsync(source, inbox, hash: false, ct)), (RawHash, () => RawCopyAsync(source, inbox, hash: true, ct)) } : [],
            (ParleyDefault, () => pair.SendAsync(source, new FileSendOptions(), ct)),
            (ParleyHashInOffer, () => pair.SendAsync(source, new FileSendOptions { JingleHashInOffer = true }, ct)),
            (ParleyKnownHash, () => pair.SendAsync(source, new FileSendOptions { Sha256 = knownSha256 }, ct)),
            (ParleyPageCache, () => pageCachePair.SendAsync(source, new FileSendOptions(), ct)),
        ];
        var results = contenders.ToDictionary(c => c.Label, _ => new List<Measurement>());
        MemoryReport? memory = null;
        for (var round = 1; round <= runs; round++)
        {
            // Every other round in reverse order, so no contender always runs right after the same one (page cache, writeback).
            Console.WriteLine($"Round {round} of {runs} (load average {ParseHarness.LoadAverage()}):");
            foreach (var (label, run) in round % 2 == 1 ? contenders : contenders.Reverse())
            {
                Measurement measurement;
                if (label == ParleyDefault && memory is null)
                {
                    // The first default send is the one sampled; the process holds both sender and receiver.
                    (measurement, memory) = await MeasureMemoryAsync(() => MeasureAsync(prosody, run), ct);
                }
                else
                {
                    measurement = await MeasureAsync(prosody, run);
                }

                Print(label, size, measurement, label == ParleyPageCache ? pageCachePair.LastResult : label.StartsWith("Parley", StringComparison.Ordinal) ? pair.LastResult : null);
                results[label].Add(measurement);
            }
        }

        File.Delete(source);
        Console.WriteLine($"Best of {runs}:");
        var best = results.ToDictionary(r => r.Key, r => r.Value.MinBy(m => m.Seconds)!);
        foreach (var (label, measurement) in best)
        {
            Print(label, size, measurement, null);
        }

        var cpu = results.ToDictionary(r => r.Key, r => r.Value.Min(m => m.ClientCpuSeconds));
        if (raw)
        {
            Console.WriteLine("Ratios of throughput, wall clock (best run) | per CPU second of this process (least CPU of the runs):");
            Console.WriteLine($"  Parley defaults / raw copy:                        {best[Raw].Seconds / best[ParleyDefault].Seconds,6:P0} | {cpu[Raw] / cpu[ParleyDefault],6:P0}   (target >= 70 %)");
            Console.WriteLine($"  Parley defaults / raw copy + SHA-256:              {best[RawHash].Seconds / best[ParleyDefault].Seconds,6:P0} | {cpu[RawHash] / cpu[ParleyDefault],6:P0}   (the cost beyond the hashing)");
            Console.WriteLine($"  Parley JingleHashInOffer / raw copy:               {best[Raw].Seconds / best[ParleyHashInOffer].Seconds,6:P0} | {cpu[Raw] / cpu[ParleyHashInOffer],6:P0}   (SHA-256 pass before the offer)");
            Console.WriteLine($"  Parley SHA-256 known / raw copy:                   {best[Raw].Seconds / best[ParleyKnownHash].Seconds,6:P0} | {cpu[Raw] / cpu[ParleyKnownHash],6:P0}   (no hashing on the sender)");
            Console.WriteLine($"  Parley SHA-256 known / raw copy + SHA-256:         {best[RawHash].Seconds / best[ParleyKnownHash].Seconds,6:P0} | {cpu[RawHash] / cpu[ParleyKnownHash],6:P0}");
            Console.WriteLine($"  Parley DirectFileWrites = false / raw copy:        {best[Raw].Seconds / best[ParleyPageCache].Seconds,6:P0} | {cpu[Raw] / cpu[ParleyPageCache],6:P0}   (page-cache writes, as the raw copy)");
            Console.WriteLine($"  Parley DirectFileWrites = false / raw + SHA-256:   {best[RawHash].Seconds / best[ParleyPageCache].Seconds,6:P0} | {cpu[RawHash] / cpu[ParleyPageCache],6:P0}");
        }

        if (memory is { } m)
        {
            Console.WriteLine();
            Console.WriteLine($"Memory of this process (sender and receiver both in it) during the first {size / MiB:N0} MB default send, {m.Samples} samples every 20 ms:");
            Console.WriteLine($"  VmRSS idle {m.IdleRss / (double)MiB,7:F1} MB, peak {m.PeakRss / (double)MiB,7:F1} MB (+{(m.PeakRss - m.IdleRss) / (double)MiB:F1} MB; target <= +50 MB)"
                + (m.HighWaterMark is { } hwm ? $"; VmHWM after the send {hwm / (double)MiB:F1} MB (reset before it)" : "; VmHWM could not be reset"));
            Console.WriteLine($"  GC heap idle {m.IdleGc / (double)MiB,6:F1} MB, peak {m.PeakGc / (double)MiB,6:F1} MB; GC committed peak {m.PeakGcCommitted / (double)MiB:F1} MB; allocated during the send {m.Allocated / (double)MiB:F1} MB");
        }

        Console.WriteLine();
        return 0;
    }

    private static async Task<int> RunIbbAsync(XmppTestServer server, ProsodyProcess? prosody, string root, long size, int block, int parleyBlock, int window, bool streamManagement, int runs, bool slixmpp, CancellationToken ct)
    {
        Console.WriteLine($"== In-band bytestreams (XEP-0047) through Prosody: {size / MiB:N0} MB, {runs} round(s); disk file -> disk file ==");
        var parleyIbb = $"Parley IBB (SI), {parleyBlock} B blocks, window {window}{(streamManagement ? string.Empty : ", no XEP-0198")}";
        var slixmppIbb = $"slixmpp IBB (xep_0047), {block} B blocks, stop-and-wait";
        var source = await CreateFileAsync(Path.Combine(root, "ibb.bin"), size, ct);
        var inbox = Directory.CreateDirectory(Path.Combine(root, "inbox")).FullName;
        FileTransferOptions Ibb() => new() { IbbBlockSize = parleyBlock, IbbWindow = window, Socks5BindAddress = IPAddress.Loopback, UseServerProxy = false };
        await using var pair = await Pair.ConnectAsync(server, inbox, Ibb(), Ibb(), ct, streamManagement);
        var ibbOnly = new FileSendOptions { Methods = [FileTransferMethod.InBandBytestreams] };
        // Warm-up, unmeasured: enough blocks that the JIT has compiled the in-band path's final code (1 MB left the first
        // measured round with twice the client CPU of the others).
        var warm = await CreateFileAsync(Path.Combine(root, "warm.bin"), 4 * MiB, ct);
        await pair.SendAsync(warm, ibbOnly, ct);
        await pair.SendAsync(warm, ibbOnly, ct);
        File.Delete(warm);

        var withSlixmpp = slixmpp && await Slixmpp.EnsureInstalledAsync(ct);
        var results = new Dictionary<string, List<Measurement>> { [parleyIbb] = [] };
        if (withSlixmpp)
        {
            results[slixmppIbb] = [];
        }

        for (var round = 1; round <= runs; round++)
        {
            Console.WriteLine($"Round {round} of {runs} (load average {ParseHarness.LoadAverage()}):");
            var parley = await MeasureAsync(prosody, () => pair.SendAsync(source, ibbOnly, ct));
            Print(parleyIbb, size, parley, pair.LastResult);
            results[parleyIbb].Add(parley);
            if (withSlixmpp)
            {
                if (await RunSlixmppIbbAsync(server, prosody, source, inbox, block, ct) is not { } other)
                {
                    return 1;
                }

                Print(slixmppIbb, size, other, null);
                results[slixmppIbb].Add(other);
            }
        }

        File.Delete(source);
        Console.WriteLine($"Best of {runs}:");
        var best = results.ToDictionary(r => r.Key, r => r.Value.MinBy(m => m.Seconds)!);
        foreach (var (label, measurement) in best)
        {
            Print(label, size, measurement, null);
        }

        if (withSlixmpp)
        {
            var cpu = results.ToDictionary(r => r.Key, r => r.Value.Min(m => m.ClientCpuSeconds));
            var serverCpu = results.ToDictionary(r => r.Key, r => r.Value.Min(m => m.ServerCpuSeconds ?? double.NaN));
            Console.WriteLine($"Parley/slixmpp IBB throughput, wall clock (best run): {best[slixmppIbb].Seconds / best[parleyIbb].Seconds:F2}x (target >= 3x)");
            Console.WriteLine($"Parley/slixmpp per CPU second of the client process:  {cpu[slixmppIbb] / cpu[parleyIbb]:F2}x; Prosody CPU per transfer: Parley {serverCpu[parleyIbb]:F2} s, slixmpp {serverCpu[slixmppIbb]:F2} s");
        }

        return 0;
    }

    private static async Task<Measurement?> RunSlixmppIbbAsync(XmppTestServer server, ProsodyProcess? prosody, string source, string inbox, int block, CancellationToken ct)
    {
        var a = await server.CreateAccountAsync(cancellationToken: ct);
        var b = await server.CreateAccountAsync(cancellationToken: ct);
        string[] arguments =
        [
            server.Host, server.ClientPort.ToString(CultureInfo.InvariantCulture), $"{a}/slixmpp-a", a.Password, $"{b}/slixmpp-b", b.Password,
            source, inbox, block.ToString(CultureInfo.InvariantCulture), (prosody?.Pid ?? 0).ToString(CultureInfo.InvariantCulture),
        ];
        using var json = await Slixmpp.RunScriptAsync("slixmpp_ibb.py", arguments, ct);
        if (json is null)
        {
            return null;
        }

        var result = json.RootElement;
        var bytes = result.GetProperty("bytes").GetInt64();
        if (bytes != new FileInfo(source).Length)
        {
            Console.Error.WriteLine($"slixmpp's B wrote {bytes} bytes, expected {new FileInfo(source).Length}.");
            return null;
        }

        return new Measurement(
            result.GetProperty("seconds").GetDouble(),
            result.GetProperty("cpu_seconds").GetDouble(),
            result.GetProperty("server_cpu_seconds") is { ValueKind: System.Text.Json.JsonValueKind.Number } serverCpu ? serverCpu.GetDouble() : null);
    }

    private static async Task<(Measurement, MemoryReport)> MeasureMemoryAsync(Func<Task<Measurement>> run, CancellationToken ct)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        await Task.Delay(200, ct);
        var idleRss = MemorySampler.ReadStatus().Rss;
        var idleGc = GC.GetTotalMemory(false);
        var allocated = GC.GetTotalAllocatedBytes();
        Measurement measurement;
        MemorySampler sampler;
        using (sampler = MemorySampler.Start(TimeSpan.FromMilliseconds(20)))
        {
            measurement = await run();
        }

        var (_, hwm) = MemorySampler.ReadStatus();
        return (measurement, new MemoryReport(idleRss, idleGc, sampler.PeakRssBytes, sampler.HighWaterMarkReset ? hwm : null,
            sampler.PeakGcHeapBytes, sampler.PeakGcCommittedBytes, GC.GetTotalAllocatedBytes() - allocated, sampler.Samples));
    }

    private static async Task<Measurement> MeasureAsync(ProsodyProcess? prosody, Func<Task> run)
    {
        var cpu = ParseHarness.CpuTime();
        var serverCpu = prosody?.CpuTime();
        var stopwatch = Stopwatch.StartNew();
        await run();
        var seconds = stopwatch.Elapsed.TotalSeconds;
        return new Measurement(seconds, (ParseHarness.CpuTime() - cpu).TotalSeconds, prosody?.CpuTime() - serverCpu);
    }

    private static void Print(string label, long size, Measurement m, FileTransferResult? result) =>
        Console.WriteLine(
            $"  {label,-48} {m.Seconds,8:F3} s {size / (double)MiB / m.Seconds,8:F1} MB/s | client CPU {m.ClientCpuSeconds,6:F2} s ({m.ClientCpuSeconds / m.Seconds,4:P0}), " +
            $"Prosody CPU {(m.ServerCpuSeconds is { } s ? $"{s,5:F2} s ({s / m.Seconds:P0})" : "?")}" +
            (result is null ? string.Empty : $" | {result.Method}/{result.Transport}, stream {result.Elapsed.TotalSeconds:F3} s"));

    /// <summary>
    /// Writes <paramref name="size"/> bytes: a random 1 MiB block, each copy with its first 8 bytes replaced by its
    /// index so no two MiB are equal (nothing on the path compresses or deduplicates, but it keeps the file honest).
    /// </summary>
    private static async Task<string> CreateFileAsync(string path, long size, CancellationToken ct)
    {
        var stopwatch = Stopwatch.StartNew();
        var block = new byte[MiB];
        Random.Shared.NextBytes(block);
        await using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0, FileOptions.Asynchronous))
        {
            file.SetLength(size);
            for (long offset = 0, index = 0; offset < size; offset += MiB, index++)
            {
                BitConverter.TryWriteBytes(block, index);
                await file.WriteAsync(block.AsMemory(0, (int)Math.Min(MiB, size - offset)), ct);
            }
        }

        Console.WriteLine($"  (created {path}: {size / MiB:N0} MB in {stopwatch.Elapsed.TotalSeconds:F1} s)");
        return path;
    }

    /// <summary>
    /// The peer of Parley's SOCKS5 copy: the same file opened the same way as <c>SendFileAsync(path)</c> opens it, read in
    /// 64 KiB blocks and sent over a loopback TCP connection; the receiver writes what arrives to a new file (unbuffered
    /// FileStream, through the page cache: as Parley's receiver did before it wrote large files with O_DIRECT,
    /// and still does with DirectFileWrites = false), and is done when the file is closed. No protocol; with
    /// <paramref name="hash"/>, both sides compute SHA-256 of what they read or write, as Parley's sender and receiver do.
    /// Kept as it was when the target was set, so that the ratios stay comparable across changes to Parley.
    /// </summary>
    private static async Task RawCopyAsync(string source, string inbox, bool hash, CancellationToken ct)
    {
        var target = Path.Combine(inbox, "raw-" + Path.GetFileName(source));
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var receive = ReceiveAsync(listener, target, hash, ct);
        using (var client = new TcpClient(AddressFamily.InterNetwork) { NoDelay = true })
        {
            await client.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port, ct);
            var socket = client.Client;
            var buffer = ArrayPool<byte>.Shared.Rent(CopyBuffer);
            using var sha = hash ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;
            try
            {
                await using var file = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.Asynchronous | FileOptions.SequentialScan);
                for (var remaining = file.Length; remaining > 0;)
                {
                    var count = (int)Math.Min(CopyBuffer, remaining);
                    await file.ReadExactlyAsync(buffer.AsMemory(0, count), ct);
                    sha?.AppendData(buffer, 0, count);
                    await socket.SendAsync(buffer.AsMemory(0, count), SocketFlags.None, ct);
                    remaining -= count;
                }

                socket.Shutdown(SocketShutdown.Send);
                _ = sha?.GetHashAndReset();
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            await receive;
        }

        var length = new FileInfo(target).Length;
        File.Delete(target);
        if (length != new FileInfo(source).Length)
        {
            throw new InvalidOperationException($"The raw copy wrote {length} bytes, expected {new FileInfo(source).Length}.");
        }

        static async Task ReceiveAsync(TcpListener listener, string target, bool hash, CancellationToken ct)
        {
            using var socket = await listener.AcceptSocketAsync(ct);
            var buffer = ArrayPool<byte>.Shared.Rent(CopyBuffer);
            using var sha = hash ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;
            try
            {
                await using var file = new FileStream(target, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0, FileOptions.Asynchronous);
                int read;
                while ((read = await socket.ReceiveAsync(buffer.AsMemory(0, CopyBuffer), SocketFlags.None, ct)) > 0)
                {
                    await file.WriteAsync(buffer.AsMemory(0, read), ct);
                    sha?.AppendData(buffer, 0, read);
                }

                _ = sha?.GetHashAndReset();
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    private sealed record Measurement(double Seconds, double ClientCpuSeconds, double? ServerCpuSeconds);

    private sealed record MemoryReport(long IdleRss, long IdleGc, long PeakRss, long? HighWaterMark, long PeakGc, long PeakGcCommitted, long Allocated, int Samples);

    /// <summary>A Parley sender and receiver, each an <see cref="XmppClient"/> with a file-transfer manager, on one server.</summary>
    private sealed class Pair : IAsyncDisposable
    {
        private static readonly TimeSpan ReceiveTimeout = TimeSpan.FromMinutes(10);
        private readonly XmppClient _sender;
        private readonly XmppClient _receiver;
        private readonly FileTransferManager _senderFt;
        private readonly FileTransferManager _receiverFt;
        private TaskCompletionSource<IncomingFileTransferEventArgs> _received = new(TaskCreationOptions.RunContinuationsAsynchronously);

        private Pair(XmppClient sender, XmppClient receiver, FileTransferManager senderFt, FileTransferManager receiverFt, string inbox)
        {
            (_sender, _receiver, _senderFt, _receiverFt) = (sender, receiver, senderFt, receiverFt);
            receiverFt.IncomingPolicy = (offer, _) => ValueTask.FromResult(offer.Accept(inbox));
            receiverFt.TransferReceived += (_, e) => _received.TrySetResult(e);
        }

        public FileTransferResult? LastResult { get; private set; }

        public static async Task<Pair> ConnectAsync(XmppTestServer server, string inbox, FileTransferOptions senderOptions, FileTransferOptions receiverOptions, CancellationToken ct, bool streamManagement = true)
        {
            var senderClient = server.ClientOptions(await server.CreateAccountAsync(cancellationToken: ct), "send");
            var receiverClient = server.ClientOptions(await server.CreateAccountAsync(cancellationToken: ct), "recv");
            (senderClient.StreamManagement, receiverClient.StreamManagement) = (streamManagement, streamManagement);
            var sender = new XmppClient(senderClient);
            var receiver = new XmppClient(receiverClient);
            var senderFt = sender.AddExtension(new FileTransferManager(senderOptions));
            var receiverFt = receiver.AddExtension(new FileTransferManager(receiverOptions));
            await Task.WhenAll(sender.ConnectAsync(ct), receiver.ConnectAsync(ct));
            return new Pair(sender, receiver, senderFt, receiverFt, inbox);
        }

        /// <summary>Sends the file and waits until the receiver has it in place (verified when hashed); then deletes the copy.</summary>
        /// <exception cref="InvalidOperationException">The receiver reported a failure or a wrong size.</exception>
        public async Task SendAsync(string path, FileSendOptions options, CancellationToken ct)
        {
            _received = new TaskCompletionSource<IncomingFileTransferEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);

            // The receiver is addressed by its full JID: no presence subscription, so disco goes to it directly.
            LastResult = await _senderFt.SendFileAsync(_receiver.Jid!, path, options, cancellationToken: ct);
            var received = await _received.Task.WaitAsync(ReceiveTimeout, ct);
            if (!received.Succeeded || received.Bytes != new FileInfo(path).Length)
            {
                throw new InvalidOperationException($"The receiver failed: {received}");
            }

            // Jingle and SI sends with a hash: the receiver checked the file against the sender's value (offer or checksum).
            if ((options.IncludeHash || options.Sha256 is not null) && received.Offer.Sha256 != LastResult.Sha256)
            {
                throw new InvalidOperationException($"The receiver did not verify the file against the sender's SHA-256 (it had {received.Offer.Sha256 ?? "none"}).");
            }

            // A known hash is not re-verified by the sender: the receiver's own hash of what it wrote must be that value.
            if (options.Sha256 is { } known && !string.Equals(received.Sha256, known, StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException($"The receiver's SHA-256 {received.Sha256 ?? "none"} is not the known {known}.");
            }

            File.Delete(received.Path!);
        }

        public async ValueTask DisposeAsync()
        {
            await _sender.DisposeAsync();
            await _receiver.DisposeAsync();
            await _senderFt.DisposeAsync();
            await _receiverFt.DisposeAsync();
        }
    }
}
