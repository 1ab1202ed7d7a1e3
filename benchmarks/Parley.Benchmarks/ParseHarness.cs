using System.Diagnostics;
using System.Globalization;
using System.IO.Pipelines;
using Parley.Xmpp;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Benchmarks;

/// <summary>
/// Feeds a generated stream of chat messages through a pipe in socket-sized chunks, the way the engine reads a
/// connection, and reports throughput and allocations; then runs slixmpp on the same bytes for comparison.
/// Two modes: <c>parse</c> (the parsers alone) and <c>dispatch</c> (the whole receive path up to an application's
/// message handler, on both sides).
/// </summary>
internal static class ParseHarness
{
    public static async Task<int> RunAsync(string[] args, bool dispatch)
    {
        if (HarnessArguments.Parse(args, ("--count", 1_000_000), ("--chunk", 64 * 1024), ("--runs", 3), ("--slixmpp-runs", 3)) is not { } options)
        {
            return 2;
        }

        var (count, chunk, runs, slixmpp, slixmppRuns) = (options["--count"], options["--chunk"], options["--runs"], options.Slixmpp, Math.Max(1, options["--slixmpp-runs"]));

        Console.WriteLine(dispatch
            ? "Mode: dispatch (pipe -> parser -> XmppEndpoint.DispatchOneAsync -> OnMessage handler; slixmpp: ClientXMPP.data_received -> 'message' event handler)"
            : "Mode: parse (parser only; slixmpp: XMLPullParser + stanza wrapper, no handlers)");
        Console.WriteLine($"Generating {count:N0} chat messages ...");
        var data = ChatStreamGenerator.Generate(count);
        Console.WriteLine($"Stream: {data.Length / 1e6:F1} MB, {(double)data.Length / count:F0} bytes per message on average, fed in {chunk / 1024} KiB chunks.");
        Console.WriteLine($".NET {Environment.Version}, {Environment.ProcessorCount} logical cores, load average {LoadAverage()}.");
        Console.WriteLine();

        // The first pass warms up the JIT (tiered compilation) and is not reported.
        var label = dispatch ? "Parley dispatch" : "Parley parse";
        var first = dispatch ? await DispatchAsync(data, chunk) : await ParseAsync(data, chunk);
        var results = new List<Result>(runs);
        for (var run = 1; run <= runs; run++)
        {
            var result = dispatch ? await DispatchAsync(data, chunk) : await ParseAsync(data, chunk);
            if (result.Stanzas != count || (dispatch && result.Handled != count) || result.WithBody != first.WithBody)
            {
                Console.Error.WriteLine($"Parley read {result.Stanzas} stanzas and its handler saw {result.Handled} messages, {result.WithBody} with a body; expected {count}.");
                return 1;
            }

            PrintRate($"{label}, run {run}", count, data.Length, result.Seconds, result.CpuSeconds);
            Console.WriteLine($"{string.Empty,-46}{(double)result.AllocatedBytes / result.Stanzas,6:F0} B allocated/stanza, {result.Gen0Collections} gen0 GCs");
            results.Add(result);
        }

        if (results.Count == 0)
        {
            return 0;
        }

        // The comparison uses the median run, not the best (slixmpp's runs are taken the same way): on a shared machine
        // the best of several would favour whichever side had more runs.
        results.Sort((x, y) => x.CpuSeconds.CompareTo(y.CpuSeconds));
        var best = results[results.Count / 2];
        Console.WriteLine($"Parley median of {results.Count} runs: {count / best.Seconds:N0} msg/s, {count / best.CpuSeconds:N0} msg/CPU-s (best {count / results[0].CpuSeconds:N0} msg/CPU-s).");

        if (dispatch)
        {
            Console.WriteLine($"Parley's handler ran {best.Handled:N0} times ({best.WithBody:N0} messages with a body, {best.BodyChars:N0} UTF-16 body chars).");
        }

        Console.WriteLine();
        if (!slixmpp || !await Slixmpp.EnsureInstalledAsync())
        {
            return 0;
        }

        var file = Path.Combine(Path.GetTempPath(), $"parley-bench-{Environment.ProcessId}.xml");
        try
        {
            await File.WriteAllBytesAsync(file, data);
            var variants = dispatch
                ? new[] { ("slixmpp dispatch, def handler", "slixmpp_dispatch.py", (string?)null), ("slixmpp dispatch, async def handler", "slixmpp_dispatch.py", "--async-handler") }
                : new[] { ("slixmpp parse, stanza wrapper only", "slixmpp_parse.py", (string?)null), ("slixmpp parse, + XEP-0085/0184/0203 plugins", "slixmpp_parse.py", "--plugins") };
            var peers = new List<(string Label, double Seconds, double CpuSeconds)>();
            foreach (var (peer, script, option) in variants)
            {
                List<string> arguments = dispatch
                    ? [file, best.WithBody.ToString(CultureInfo.InvariantCulture), chunk.ToString(CultureInfo.InvariantCulture)]
                    : [file, chunk.ToString(CultureInfo.InvariantCulture)];
                if (option is not null)
                {
                    arguments.Add(option);
                }

                Console.WriteLine($"{Slixmpp.Python} {script} STREAM_FILE {string.Join(' ', arguments.Skip(1))} ... ({slixmppRuns} run(s))");
                var measured = new List<(double Seconds, double CpuSeconds)>(slixmppRuns);
                for (var run = 1; run <= slixmppRuns; run++)
                {
                    using var json = await Slixmpp.RunScriptAsync(script, arguments);
                    if (json is null)
                    {
                        return 1;
                    }

                    var root = json.RootElement;
                    if (dispatch)
                    {
                        // slixmpp raises 'message' only for messages with a <body/>; the bodiless chat states are parsed,
                        // built and matched, then dropped as unhandled. The handler must have seen every message with a body.
                        var messages = root.GetProperty("messages").GetInt64();
                        if (messages != best.WithBody)
                        {
                            Console.Error.WriteLine($"slixmpp's handler ran {messages} times, expected {best.WithBody} (the messages with a body).");
                            return 1;
                        }
                    }
                    else if (root.GetProperty("stanzas").GetInt64() is var stanzas && stanzas != count)
                    {
                        Console.Error.WriteLine($"slixmpp parsed {stanzas} stanzas, expected {count}.");
                        return 1;
                    }

                    measured.Add((root.GetProperty("seconds").GetDouble(), root.GetProperty("cpu_seconds").GetDouble()));
                    PrintRate($"{peer}, run {run}", count, data.Length, measured[^1].Seconds, measured[^1].CpuSeconds);
                }

                if (dispatch)
                {
                    Console.WriteLine($"  slixmpp's handler ran {best.WithBody:N0} times per run (every message with a body).");
                }

                // The median by CPU time, as for Parley: one slow or fast run of either side does not decide the ratio.
                measured.Sort((x, y) => x.CpuSeconds.CompareTo(y.CpuSeconds));
                var (seconds, cpuSeconds) = measured[measured.Count / 2];
                PrintRate($"{peer}, median", count, data.Length, seconds, cpuSeconds);
                peers.Add((peer, seconds, cpuSeconds));
            }

            Console.WriteLine();
            var what = dispatch ? "Dispatch (parse + stanza objects + handler dispatch)" : "Parser only";
            foreach (var (peer, seconds, cpuSeconds) in peers)
            {
                Console.WriteLine(
                    $"{what}: Parley/{peer} = {seconds / best.Seconds:F1}x wall clock, {cpuSeconds / best.CpuSeconds:F1}x per CPU second");
            }

            Console.WriteLine($"Targets: >= 1,000,000 msg/s per core and >= 20x slixmpp. Parley: the median of {runs} runs (by CPU time); " +
                $"slixmpp: the median of {slixmppRuns} run(s) each. Rates count all {count:N0} messages on both sides.");
            return 0;
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static void PrintRate(string label, int messages, long bytes, double seconds, double cpuSeconds) =>
        Console.WriteLine(
            $"{label,-46}{seconds,7:F3} s {messages / seconds,11:N0} msg/s {bytes / 1e6 / seconds,6:F1} MB/s | " +
            $"CPU {cpuSeconds,7:F3} s {messages / cpuSeconds,11:N0} msg/CPU-s");

    /// <summary>The parser alone: every message's body is read, nothing else.</summary>
    private static Task<Result> ParseAsync(byte[] data, int chunk) => FeedAsync(data, chunk, client: null, handlerCounters: null);

    /// <summary>
    /// The receive path of a client: every stanza goes to <see cref="XmppEndpoint.DispatchOneAsync"/> of an
    /// <see cref="XmppClient"/> (duplicate check, handler loop) whose one message handler reads the body and counts.
    /// A new client per pass, so its duplicate memory starts empty as on a new connection.
    /// </summary>
    private static async Task<Result> DispatchAsync(byte[] data, int chunk)
    {
        await using var client = new XmppClient(new XmppClientOptions { Jid = Jid.Parse("bench@example.test/bench"), Password = "not-used" });
        var counters = new HandlerCounters();
        using var registration = client.OnMessage((message, _) =>
        {
            counters.Handled++;
            if (message.Body is { } body)
            {
                counters.WithBody++;
                counters.BodyChars += body.Length;
            }

            return ValueTask.CompletedTask;
        });
        return await FeedAsync(data, chunk, client, counters);
    }

    private static async Task<Result> FeedAsync(byte[] data, int chunk, XmppClient? client, HandlerCounters? handlerCounters)
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0, resumeWriterThreshold: 0, minimumSegmentSize: Math.Min(chunk, 65536), useSynchronizationContext: false));
        var parser = new XmlStreamParser(XmlLimits.Default, StanzaRootFactory.Instance);
        var counters = handlerCounters ?? new HandlerCounters();
        long stanzas = 0;

        GC.Collect();
        GC.WaitForPendingFinalizers();
        var gen0 = GC.CollectionCount(0);
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var cpu = CpuTime();
        var stopwatch = Stopwatch.StartNew();
        for (var offset = 0; offset < data.Length; offset += chunk)
        {
            // The "socket" delivers the next chunk; both calls complete synchronously here.
            var length = Math.Min(chunk, data.Length - offset);
            data.AsMemory(offset, length).CopyTo(pipe.Writer.GetMemory(length));
            pipe.Writer.Advance(length);
            await pipe.Writer.FlushAsync();

            var read = await pipe.Reader.ReadAsync();
            var buffer = read.Buffer;
            while (parser.TryRead(ref buffer, out var kind, out var element))
            {
                if (kind != XmlStreamEventKind.Element || element is not Stanza stanza)
                {
                    continue;
                }

                stanzas++;
                if (client is not null)
                {
                    await client.DispatchOneAsync(stanza, CancellationToken.None);
                }
                else if (stanza is Message message && message.Body is { } body)
                {
                    counters.WithBody++;
                    counters.BodyChars += body.Length;
                }
            }

            pipe.Reader.AdvanceTo(buffer.Start, buffer.End);
        }

        stopwatch.Stop();
        var cpuSeconds = (CpuTime() - cpu).TotalSeconds;
        var allocatedBytes = GC.GetAllocatedBytesForCurrentThread() - allocated;
        return new Result(stanzas, counters.Handled, counters.WithBody, counters.BodyChars, stopwatch.Elapsed.TotalSeconds, cpuSeconds, allocatedBytes, GC.CollectionCount(0) - gen0);
    }

    /// <summary>CPU time of the whole process (user + kernel, all threads: GC and JIT included).</summary>
    internal static TimeSpan CpuTime()
    {
        using var process = Process.GetCurrentProcess();
        return process.TotalProcessorTime;
    }

    internal static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    private sealed class HandlerCounters
    {
        public long Handled;
        public long WithBody;
        public long BodyChars;
    }

    private sealed record Result(long Stanzas, long Handled, long WithBody, long BodyChars, double Seconds, double CpuSeconds, long AllocatedBytes, int Gen0Collections);
}
