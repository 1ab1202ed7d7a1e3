using System.Diagnostics;
using System.Globalization;
using Parley.Testing;

namespace Parley.Web.Benchmarks;

/// <summary>
/// The whole run on one private Prosody: (1) sequential round trips visitor → owner → visitor through the gateway
/// process; (2) the same with the polling design (a login per message, a 1 s poll; see <see cref="PollingVisitor"/>); (3) thousands
/// of open visitor sessions, memory per session, and round trips under that load. Prints a summary against the gateway's
/// targets (round trip p50 ≤ 3 ms and p99 ≤ 15 ms, ≤ 20 KB per open session).
/// </summary>
internal static class WebHarness
{
    private const double TargetP50 = 0.003;
    private const double TargetP99 = 0.015;
    private const double TargetBytesPerSession = 20 * 1024;
    private const int SettleBlock = 500;
    private const int SettleBlocks = 10;
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(30);

    public static async Task<int> RunAsync(Options options)
    {
        if (Environment.GetEnvironmentVariable("PARLEY_SERVER_DEBUG") is "1" or "true")
        {
            Console.Error.WriteLine("PARLEY_SERVER_DEBUG is set: Prosody would log every stanza and the numbers would measure its logging. Unset it.");
            return 2;
        }

        using var cancellation = new CancellationTokenSource(TimeSpan.FromMinutes(40));
        var ct = cancellation.Token;
        var harnessCpuAtStart = Process.GetCurrentProcess().TotalProcessorTime;
        Console.WriteLine($".NET {Environment.Version}, {Environment.ProcessorCount} logical cores, load average {ProcessCpu.LoadAverage()}, open-files limit {OpenFilesLimit()}.");
        Console.WriteLine("Starting a private Prosody (info-level log) ...");
        await using var server = await ProsodyServer.StartNewAsync(new XmppTestServerOptions { DebugLogging = false }, ct);
        var prosodyPid = ProsodyProcess.Find(server.DirectoryPath)?.Pid ?? 0;
        var ownerAccount = await server.CreateAccountAsync(cancellationToken: ct);
        await using var owner = await EchoOwner.ConnectAsync(server, ownerAccount, ct);
        Console.WriteLine($"Prosody pid {prosodyPid}, component {server.ComponentDomain}; owner {owner.Jid} echoes every message.");

        await using var gateway = await GatewayProcess.StartAsync(server, ownerAccount.Jid.ToString(), options.GatewayAssembly, options.GatewayEnvironment, ct);
        var start = await gateway.ProbeAsync(collect: false, ct);
        Console.WriteLine($"Gateway pid {gateway.Pid} ({options.GatewayAssembly}) at {gateway.BaseAddress}, {(start.ServerGc ? "server" : "workstation")} GC" +
            (options.GatewayEnvironment.Count > 0 ? $", environment {string.Join(' ', options.GatewayEnvironment)}." : "."));
        Console.WriteLine();

        using var http = WebGuest.CreateClient(gateway.BaseAddress);
        var counters = new Counters(gateway, prosodyPid);

        // 1. The gateway: POST the message, the clock stops when the owner's echo arrives on the visitor's event stream.
        Console.WriteLine($"[1] Gateway round trips: {options.Warmup:N0} unmeasured, then {options.RoundTrips:N0} measured, one at a time ...");
        // The gateway limits each visitor to Parley:MessagesPerMinute (at most 10,000); a long run takes turns among visitors.
        var visitorCount = (options.Warmup + (SettleBlocks * SettleBlock) + options.RoundTrips + 7_999) / 8_000;
        var visitors = new (WebGuest Guest, GuestStream Stream)[visitorCount];
        for (var i = 0; i < visitorCount; i++)
        {
            var guest = await WebGuest.SignInAsync(http, string.Create(CultureInfo.InvariantCulture, $"Round trip {i}"), ct);
            visitors[i] = (guest, await guest.OpenStreamAsync(http, ct));
            await visitors[i].Stream.Ready.WaitAsync(ReplyTimeout, ct);
        }

        await GatewayRoundTripsAsync(http, visitors, options.Warmup, "warm", ct);
        await WarmUntilJitSettlesAsync(http, visitors, gateway, ct);
        var before = counters.Take();
        var heapBefore = await gateway.ProbeAsync(collect: false, ct);
        var sequential = await GatewayRoundTripsAsync(http, visitors, options.RoundTrips, "rt", ct);
        var sequentialCpu = counters.Take() - before;
        var heapAfter = await gateway.ProbeAsync(collect: false, ct);
        Print("gateway (SSE push)", sequential);
        PrintCpu(sequentialCpu, options.RoundTrips, "round trip");
        PrintGc(heapBefore, heapAfter, options.RoundTrips);
        Console.WriteLine();

        // 2. The polling design against the same Prosody and owner.
        Console.WriteLine($"[2] Polling design round trips (fresh login per message, page polls the chat log every 1 s): 3 unmeasured, then {options.PollingRoundTrips:N0} ...");
        var pollingAccount = await server.CreateAccountAsync(cancellationToken: ct);
        var chatLog = Path.Combine(Path.GetTempPath(), $"parley-polling-chat-{Environment.ProcessId}.log");
        List<PollingRoundTrip> polling = [];
        Counters.Sample pollingCpu;
        await using (var pollingVisitor = await PollingVisitor.StartAsync(server, pollingAccount, chatLog, ct))
        {
            for (var i = 0; i < 3; i++)
            {
                await pollingVisitor.RoundTripAsync(owner.Jid.Bare, "Polling visitor", $"polling warm {i}", ct);
            }

            before = counters.Take();
            for (var i = 0; i < options.PollingRoundTrips; i++)
            {
                polling.Add(await pollingVisitor.RoundTripAsync(owner.Jid.Bare, "Polling visitor", $"polling {i} the quick brown fox", ct));
            }

            pollingCpu = counters.Take() - before;
        }

        File.Delete(chatLog);
        var pollingShown = Latencies.Of(polling.Select(r => r.Shown));
        var pollingWritten = Latencies.Of(polling.Select(r => r.Written));
        var pollingSent = Latencies.Of(polling.Select(r => r.Sent));
        Print("polling, reply shown by the 1 s poll", pollingShown);
        Print("polling, reply in the chat log (no poll)", pollingWritten);
        Print("polling, login + send + logout alone", pollingSent);
        PrintCpu(pollingCpu, options.PollingRoundTrips, "round trip");
        Console.WriteLine("    (the gateway takes no part here; its CPU in this phase is its idle work: GC, tiered JIT, timers.)");
        Console.WriteLine();

        // 3. Many open sessions.
        SessionsResult? sessions = null;
        if (options.OpenVisitors > 0)
        {
            sessions = await SessionsAsync(options, http, gateway, owner, counters, ct);
        }

        // Summary.
        Console.WriteLine("Summary");
        Console.WriteLine($"  round trip, gateway:        p50 {Ms(sequential.P50)}  p99 {Ms(sequential.P99)}  (targets <= 3 ms / <= 15 ms: {Met(sequential.P50 <= TargetP50)} / {Met(sequential.P99 <= TargetP99)})");
        Console.WriteLine($"  round trip, polling design: p50 {Ms(pollingShown.P50)}  p99 {Ms(pollingShown.P99)}  -> gateway is {pollingShown.P50 / sequential.P50:F0}x (p50) / {pollingShown.P99 / sequential.P99:F0}x (p99) faster");
        Console.WriteLine($"  polling without its poll:   p50 {Ms(pollingWritten.P50)}  p99 {Ms(pollingWritten.P99)}  -> {pollingWritten.P50 / sequential.P50:F0}x / {pollingWritten.P99 / sequential.P99:F0}x");
        Console.WriteLine($"  CPU per round trip:         gateway design {sequentialCpu.PerOperation(options.RoundTrips)}; polling design {pollingCpu.PerOperationWithoutGateway(options.PollingRoundTrips)}");
        if (sessions is not null)
        {
            Console.WriteLine($"  {sessions.Count:N0} open sessions:       {sessions.ManagedPerSession / 1024:F1} KiB managed heap, {sessions.RssPerSession / 1024:F1} KiB RSS per session (target <= 20 KB: managed {Met(sessions.ManagedPerSession <= TargetBytesPerSession)}, RSS {Met(sessions.RssPerSession <= TargetBytesPerSession)})");
            Console.WriteLine($"  round trip under load:      p50 {Ms(sessions.UnderLoad.P50)}  p99 {Ms(sessions.UnderLoad.P99)}  (targets <= 3 ms / <= 15 ms: {Met(sessions.UnderLoad.P50 <= TargetP50)} / {Met(sessions.UnderLoad.P99 <= TargetP99)})");
        }

        Console.WriteLine($"  harness CPU {(Process.GetCurrentProcess().TotalProcessorTime - harnessCpuAtStart).TotalSeconds:F1} s, gateway CPU {gateway.CpuSeconds():F1} s, Prosody CPU {(prosodyPid > 0 ? ProcessCpu.Read(prosodyPid) : double.NaN):F1} s; load average now {ProcessCpu.LoadAverage()}.");
        // The console logger writes "warn: Category[event id]" and the message on the next line; count them by that key.
        var logged = gateway.Output().Split('\n')
            .Where(line => line.StartsWith("warn: ", StringComparison.Ordinal) || line.StartsWith("fail: ", StringComparison.Ordinal) || line.StartsWith("crit: ", StringComparison.Ordinal))
            .GroupBy(line => line.TrimEnd(), StringComparer.Ordinal)
            .Select(group => $"    {group.Count(),6} x {group.Key}")
            .ToList();
        if (logged.Count > 0)
        {
            Console.WriteLine("Gateway log entries (warnings and errors):");
            logged.ForEach(Console.WriteLine);
            if (gateway.DroppedLines > 0)
            {
                Console.WriteLine($"    (counted in the first 1,000,000 characters of its output; {gateway.DroppedLines:N0} more lines were not kept)");
            }
        }

        foreach (var (_, visitorStream) in visitors)
        {
            await visitorStream.DisposeAsync();
        }

        return 0;
    }

    private static async Task<SessionsResult> SessionsAsync(Options options, HttpClient http, GatewayProcess gateway, EchoOwner owner, Counters counters, CancellationToken ct)
    {
        var count = options.OpenVisitors;
        Console.WriteLine($"[3] {count:N0} visitor sessions: sign in, open one event stream each, wait until the gateway announced all to the owner ...");
        var announcedBefore = owner.AvailableVisitors;
        // Also as it is, before the forced collection: what a deployment sees (it never forces one). Noisier: it moves
        // with where the GC is in its cycle.
        var baselineAsIs = await MeasureAsync(gateway, ct, collect: false);
        var baseline = await MeasureAsync(gateway, ct);
        Console.WriteLine($"    before:            {baseline}");
        if (options.DumpDirectory is { } dumps)
        {
            await gateway.DumpAsync(Path.Combine(dumps, "before.dmp"), ct);
        }

        var guests = new WebGuest[count];
        var watch = Stopwatch.StartNew();
        var cpu = counters.Take();
        await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = options.SignInParallel, CancellationToken = ct }, async (i, token) =>
            guests[i] = await WebGuest.SignInAsync(http, string.Create(CultureInfo.InvariantCulture, $"Guest {i}"), token));
        var signInSeconds = watch.Elapsed.TotalSeconds;
        var signInCpu = counters.Take() - cpu;
        var signedIn = await MeasureAsync(gateway, ct);
        Console.WriteLine($"    signed in:         {signedIn}  ({count / signInSeconds:N0} sign-ins/s with {options.SignInParallel} at a time, gateway CPU {signInCpu.Gateway / count * 1000:F2} ms each)");

        var streams = new GuestStream[count];
        watch.Restart();
        cpu = counters.Take();
        await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = 64, CancellationToken = ct }, async (i, token) =>
        {
            streams[i] = await guests[i].OpenStreamAsync(http, token);
            await streams[i].Ready.WaitAsync(ReplyTimeout, token);
        });
        var openSeconds = watch.Elapsed.TotalSeconds;
        var expected = announcedBefore + count;
        while (owner.AvailableVisitors < expected)
        {
            if (watch.Elapsed > TimeSpan.FromMinutes(5))
            {
                throw new TimeoutException($"The owner saw {owner.AvailableVisitors - announcedBefore:N0} of {count:N0} visitors become available within 5 minutes.");
            }

            await Task.Delay(50, ct);
        }

        var announcedSeconds = watch.Elapsed.TotalSeconds;
        var openCpu = counters.Take() - cpu;
        Console.WriteLine($"    streams open in {openSeconds:F1} s, all {count:N0} announced to the owner after {announcedSeconds:F1} s (gateway CPU {openCpu.Gateway:F1} s, Prosody {openCpu.Prosody:F1} s).");

        // Let the sign-in and announcement bursts' garbage and the thread pool settle before measuring.
        await Task.Delay(TimeSpan.FromSeconds(3), ct);
        var openAsIs = await MeasureAsync(gateway, ct, collect: false);
        var open = await MeasureAsync(gateway, ct);
        Console.WriteLine($"    {count:N0} streams open: {open}");
        if (options.DumpDirectory is { } dumpDirectory)
        {
            await gateway.DumpAsync(Path.Combine(dumpDirectory, "open.dmp"), ct);
            Console.WriteLine($"    heap dumps: {dumpDirectory}/before.dmp, {dumpDirectory}/open.dmp");
        }
        var managedPerSession = (open.Heap.Heap - baseline.Heap.Heap) / (double)count;
        var rssPerSession = (open.Rss - baseline.Rss) / (double)count;
        Console.WriteLine($"    per session: managed heap {managedPerSession / 1024:F1} KiB (of which the sign-in alone {(signedIn.Heap.Heap - baseline.Heap.Heap) / (double)count / 1024:F1} KiB), " +
            $"RSS {rssPerSession / 1024:F1} KiB, GC committed {(open.Heap.Committed - baseline.Heap.Committed) / (double)count / 1024:F1} KiB.");
        Console.WriteLine($"    per session without forced collections (before: {baselineAsIs.Rss / 1048576.0:F1} MiB RSS, open: {openAsIs.Rss / 1048576.0:F1} MiB): " +
            $"RSS {(openAsIs.Rss - baselineAsIs.Rss) / (double)count / 1024:F1} KiB, managed heap {(openAsIs.Heap.Heap - baselineAsIs.Heap.Heap) / (double)count / 1024:F1} KiB, " +
            $"GC committed {(openAsIs.Heap.Committed - baselineAsIs.Heap.Committed) / (double)count / 1024:F1} KiB.");
        var ended = streams.Count(s => s.Ended);
        if (ended > 0)
        {
            throw new InvalidOperationException($"{ended} event streams ended while measuring.");
        }

        // Round trips for a sample of the visitors, with every stream open.
        var random = new Random(4);
        var sample = Enumerable.Range(0, Math.Min(options.LoadVisitors, count)).Select(_ => random.Next(count)).Distinct().ToArray();
        Console.WriteLine($"    {options.LoadRoundTrips:N0} round trips under load, spread over {sample.Length} random visitors, one at a time ...");
        var pairs = sample.Select(i => (guests[i], streams[i])).ToArray();
        await GatewayRoundTripsAsync(http, pairs, Math.Max(sample.Length, 50), "load warm", ct);
        cpu = counters.Take();
        var heapBefore = await gateway.ProbeAsync(collect: false, ct);
        var underLoad = await GatewayRoundTripsAsync(http, pairs, options.LoadRoundTrips, "load", ct);
        var loadCpu = counters.Take() - cpu;
        var heapAfter = await gateway.ProbeAsync(collect: false, ct);
        Print($"gateway, {count:N0} sessions open", underLoad);
        PrintCpu(loadCpu, options.LoadRoundTrips, "round trip");
        PrintGc(heapBefore, heapAfter, options.LoadRoundTrips);
        var after = await MeasureAsync(gateway, ct, collect: false);
        Console.WriteLine($"    after (no collection): {after}, peak RSS {after.PeakRss / 1048576.0:F0} MiB");
        Console.WriteLine();

        watch.Restart();
        await Parallel.ForEachAsync(streams, new ParallelOptions { MaxDegreeOfParallelism = 64, CancellationToken = ct }, async (s, _) => await s.DisposeAsync());
        return new SessionsResult(count, managedPerSession, rssPerSession, underLoad);
    }

    /// <summary>
    /// Tiered compilation keeps re-compiling hot methods (tier 0, instrumented, tier 1) for many seconds on two busy
    /// cores; measuring before it settles measures the JIT. Warms up in blocks of 500 round trips until a block
    /// compiles fewer than 20 methods (at most 10 blocks).
    /// </summary>
    private static async Task WarmUntilJitSettlesAsync(HttpClient http, (WebGuest Guest, GuestStream Stream)[] visitors, GatewayProcess gateway, CancellationToken ct)
    {
        var before = await gateway.ProbeAsync(collect: false, ct);
        for (var block = 1; block <= SettleBlocks; block++)
        {
            await GatewayRoundTripsAsync(http, visitors, SettleBlock, string.Create(CultureInfo.InvariantCulture, $"settle {block}"), ct);
            var after = await gateway.ProbeAsync(collect: false, ct);
            var compiled = after.JitMethods - before.JitMethods;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    warm-up block {block}: the gateway's JIT compiled {compiled} methods in {(after.JitSeconds - before.JitSeconds) * 1000:F0} ms"));
            if (compiled < 20)
            {
                return;
            }

            before = after;
        }

        Console.WriteLine($"    the JIT had not settled after {SettleBlocks} blocks; measuring anyway.");
    }

    private static async Task<Latencies> GatewayRoundTripsAsync(HttpClient http, (WebGuest Guest, GuestStream Stream)[] visitors, int count, string label, CancellationToken ct)
    {
        var samples = new List<double>(count);
        for (var i = 0; i < count; i++)
        {
            var (guest, stream) = visitors[i % visitors.Length];
            var text = string.Create(CultureInfo.InvariantCulture, $"{label} {i} the quick brown fox");
            var reply = stream.ExpectReply(text);
            var clicked = Stopwatch.GetTimestamp();
            await guest.SendAsync(http, text, ct);
            var arrived = await reply.WaitAsync(ReplyTimeout, ct);
            samples.Add(Stopwatch.GetElapsedTime(clicked, arrived).TotalSeconds);
        }

        return Latencies.Of(samples);
    }

    private static async Task<Measurement> MeasureAsync(GatewayProcess gateway, CancellationToken ct, bool collect = true)
    {
        var heap = await gateway.ProbeAsync(collect, ct);
        var (rss, peak, threads) = gateway.ReadStatus();
        return new Measurement(heap, rss, peak, threads);
    }

    private static void Print(string label, Latencies l)
        => Console.WriteLine($"    {label,-40} n={l.Count,5}  p50 {Ms(l.P50)}  p90 {Ms(l.P90)}  p99 {Ms(l.P99)}  max {Ms(l.Max)}");

    private static void PrintCpu(Counters.Sample cpu, int operations, string unit)
        => Console.WriteLine($"    CPU per {unit}: {cpu.PerOperation(operations)} (wall {cpu.Wall:F1} s, load average {ProcessCpu.LoadAverage()})");

    private static void PrintGc(HeapSnapshot before, HeapSnapshot after, int operations)
        => Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"    gateway GC: {(after.Allocated - before.Allocated) / 1024.0 / operations:F1} KiB allocated per round trip; {after.Gen0 - before.Gen0} gen0 / {after.Gen1 - before.Gen1} gen1 / {after.Gen2 - before.Gen2} gen2 collections, {(after.PauseSeconds - before.PauseSeconds) * 1000:F0} ms paused in all; " +
            $"JIT: {after.JitMethods - before.JitMethods} methods compiled, {(after.JitSeconds - before.JitSeconds) * 1000:F0} ms{LastEphemeral(before, after)}"));

    private static string LastEphemeral(HeapSnapshot before, HeapSnapshot after)
        => after.LastEphemeralIndex == before.LastEphemeralIndex
            ? ""
            : string.Create(CultureInfo.InvariantCulture, $"; the last gen0/gen1 collection paused {after.LastEphemeralPauseSeconds * 1000:F1} ms");

    private static string Ms(double seconds) => (seconds * 1000).ToString(seconds < 0.1 ? "F2" : "F0", CultureInfo.InvariantCulture).PadLeft(7) + " ms";

    private static string Met(bool met) => met ? "met" : "NOT met";

    private static string OpenFilesLimit()
    {
        var line = File.ReadLines("/proc/self/limits").FirstOrDefault(l => l.StartsWith("Max open files", StringComparison.Ordinal));
        return line is null ? "unknown" : string.Join(' ', line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries).Take(2));
    }

    private sealed record Measurement(HeapSnapshot Heap, long Rss, long PeakRss, int Threads)
    {
        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"RSS {Rss / 1048576.0,6:F1} MiB, managed heap {Heap.Heap / 1048576.0,6:F1} MiB (GC committed {Heap.Committed / 1048576.0:F1} MiB), {Threads} threads, gen2 GCs {Heap.Gen2}");
    }

    private sealed record SessionsResult(int Count, double ManagedPerSession, double RssPerSession, Latencies UnderLoad);

    /// <summary>CPU seconds of the three processes (the gateway, Prosody, this harness incl. the owner) and wall time.</summary>
    private sealed class Counters(GatewayProcess gateway, int prosodyPid)
    {
        private readonly Stopwatch _wall = Stopwatch.StartNew();

        public Sample Take() => new(
            gateway.CpuSeconds(),
            prosodyPid > 0 ? ProcessCpu.Read(prosodyPid) : double.NaN,
            Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds,
            _wall.Elapsed.TotalSeconds);

        public sealed record Sample(double Gateway, double Prosody, double Harness, double Wall)
        {
            public static Sample operator -(Sample a, Sample b) => new(a.Gateway - b.Gateway, a.Prosody - b.Prosody, a.Harness - b.Harness, a.Wall - b.Wall);

            public string PerOperation(int operations) => string.Create(CultureInfo.InvariantCulture,
                $"gateway {Gateway / operations * 1000:F2} ms, Prosody {Prosody / operations * 1000:F2} ms, harness+owner {Harness / operations * 1000:F2} ms");

            public string PerOperationWithoutGateway(int operations) => string.Create(CultureInfo.InvariantCulture,
                $"Prosody {Prosody / operations * 1000:F2} ms, harness+owner+polling clients {Harness / operations * 1000:F2} ms");
        }
    }
}

/// <summary>Sorted latency samples in seconds, with nearest-rank percentiles.</summary>
internal sealed record Latencies(int Count, double P50, double P90, double P99, double Max)
{
    public static Latencies Of(IEnumerable<double> samples)
    {
        var sorted = samples.Order().ToArray();
        if (sorted.Length == 0)
        {
            return new Latencies(0, double.NaN, double.NaN, double.NaN, double.NaN);
        }

        double At(int percentile) => sorted[Math.Clamp((int)Math.Ceiling(sorted.Length * percentile / 100.0) - 1, 0, sorted.Length - 1)];
        return new Latencies(sorted.Length, At(50), At(90), At(99), sorted[^1]);
    }
}
