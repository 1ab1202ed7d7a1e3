using System.Diagnostics;
using System.Globalization;
using Parley.Testing;
using Parley.Xmpp;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;

namespace Parley.Benchmarks;

/// <summary>
/// Messages per second between two clients through a private Prosody: two Parley clients, then two slixmpp clients,
/// on the same server instance; and the round-trip latency A → B → A.
/// </summary>
internal static class ThroughputHarness
{
    private const string Body = "Message {0}: the quick brown fox jumps over the lazy dog, again and again.";
    private const string ParleyOff = "Parley, stream management off";
    private const string ParleyOn = "Parley, stream management on (default)";
    private const string SlixmppOff = "slixmpp, no stream management (default)";
    private const string SlixmppOn = "slixmpp, + xep_0198 stream management";
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(5);

    public static async Task<int> RunAsync(string[] args)
    {
        if (HarnessArguments.Parse(args, ("--count", 20_000), ("--warmup", 2_000), ("--roundtrips", 2_000), ("--rounds", 2)) is not { } options)
        {
            return 2;
        }

        var (count, warmup, roundtrips, rounds, slixmpp) = (options["--count"], options["--warmup"], options["--roundtrips"], options["--rounds"], options.Slixmpp);

        if (Environment.GetEnvironmentVariable("PARLEY_SERVER_DEBUG") is "1" or "true")
        {
            Console.Error.WriteLine("PARLEY_SERVER_DEBUG is set: Prosody would log every stanza and the numbers would measure its logging. Unset it.");
            return 2;
        }

        using var cancellation = new CancellationTokenSource(TimeSpan.FromMinutes(20));
        var ct = cancellation.Token;
        Console.WriteLine("Starting a private Prosody (info-level log, no stanza debug logging) ...");
        await using var server = await ProsodyServer.StartNewAsync(new XmppTestServerOptions { DebugLogging = false }, ct);
        var prosody = ProsodyProcess.Find(server.DirectoryPath);
        Console.WriteLine($"Prosody on {server.Host}:{server.ClientPort} (STARTTLS), domain {server.Domain}, pid {prosody?.Pid.ToString(CultureInfo.InvariantCulture) ?? "not found"}.");
        Console.WriteLine($".NET {Environment.Version}, {Environment.ProcessorCount} logical cores, load average {ParseHarness.LoadAverage()}.");
        Console.WriteLine($"{count:N0} chat messages A -> B after {warmup:N0} unmeasured; then {roundtrips:N0} round trips A -> B -> A.");
        Console.WriteLine();

        // Equal-work pairs run back to back, so a change in the shared machine's speed between them distorts their ratio least.
        var withSlixmpp = slixmpp && await Slixmpp.EnsureInstalledAsync(ct);
        var configurations = new List<(string Label, bool Parley, bool StreamManagement)> { (ParleyOff, true, false) };
        if (withSlixmpp)
        {
            configurations.Add((SlixmppOff, false, false));
        }

        configurations.Add((ParleyOn, true, true));
        if (withSlixmpp)
        {
            configurations.Add((SlixmppOn, false, true));
        }

        var best = new Dictionary<string, PhaseResult>();
        for (var round = 1; round <= rounds; round++)
        {
            Console.WriteLine($"Round {round} of {rounds}:");
            foreach (var (label, parley, streamManagement) in configurations)
            {
                // Fresh accounts each time: no session, roster or offline state carries over.
                var a = await server.CreateAccountAsync(cancellationToken: ct);
                var b = await server.CreateAccountAsync(cancellationToken: ct);
                var result = parley
                    ? await RunParleyAsync(server, a, b, streamManagement, count, warmup, roundtrips, prosody, ct)
                    : await RunSlixmppAsync(server, a, b, streamManagement, count, warmup, roundtrips, prosody, ct);
                if (result is null)
                {
                    return 1;
                }

                Print(label, count, result);
                if (!best.TryGetValue(label, out var previous) || result.Seconds < previous.Seconds)
                {
                    best[label] = result;
                }
            }

            Console.WriteLine();
        }

        Console.WriteLine($"Best of {rounds} rounds:");
        foreach (var (label, _, _) in configurations)
        {
            Print(label, count, best[label]);
        }

        if (withSlixmpp)
        {
            Console.WriteLine();
            Console.WriteLine($"Parley/slixmpp, both without stream management (the same work on the wire): {best[SlixmppOff].Seconds / best[ParleyOff].Seconds:F2}x messages/s");
            Console.WriteLine($"Parley/slixmpp, both with stream management:                               {best[SlixmppOn].Seconds / best[ParleyOn].Seconds:F2}x messages/s");
            Console.WriteLine($"Parley/slixmpp, each with its defaults (Parley: on, slixmpp: off):          {best[SlixmppOff].Seconds / best[ParleyOn].Seconds:F2}x messages/s");
        }

        Console.WriteLine();
        Console.WriteLine("Prosody CPU: the server process's CPU time during the measured send divided by the wall time; ~100 % is one core");
        Console.WriteLine("saturated, i.e. single-threaded Prosody is the bottleneck. Client CPU: the whole client process (both clients).");
        return 0;
    }

    private static void Print(string label, int count, PhaseResult result)
    {
        Console.WriteLine(
            $"  {label,-40} {result.Seconds,7:F3} s {count / result.Seconds,9:N0} msg/s | client CPU {result.ClientCpuSeconds / result.Seconds,4:P0}, " +
            $"Prosody CPU {(result.ServerCpuSeconds is { } s ? (s / result.Seconds).ToString("P0", CultureInfo.InvariantCulture) : "?"),4} | " +
            $"round trip p50 {result.LatencyP50 * 1000,6:F3} ms, p99 {result.LatencyP99 * 1000,6:F3} ms");
    }

    private static async Task<PhaseResult?> RunParleyAsync(
        XmppTestServer server, TestAccount accountA, TestAccount accountB, bool streamManagement, int count, int warmup, int roundtrips, ProsodyProcess? prosody, CancellationToken ct)
    {
        await using var a = new XmppClient(Options(server, accountA, streamManagement));
        await using var b = new XmppClient(Options(server, accountB, streamManagement));
        await Task.WhenAll(a.ConnectAsync(ct), b.ConnectAsync(ct));
        if (a.IsStreamManagementEnabled != streamManagement || b.IsStreamManagementEnabled != streamManagement)
        {
            Console.Error.WriteLine($"Stream management is {(a.IsStreamManagementEnabled ? "on" : "off")} for A and {(b.IsStreamManagementEnabled ? "on" : "off")} for B, expected {(streamManagement ? "on" : "off")}.");
            return null;
        }

        var toB = b.Jid!;

        // Throughput: B counts; A sends everything at once (SendAsync queues, the writer batches).
        var counter = new Counter();
        using (b.OnMessage((message, _) =>
        {
            if (message.Body is not null)
            {
                counter.Increment();
            }

            return ValueTask.CompletedTask;
        }))
        {
            await BlastAsync(a, toB, counter, warmup, ct);
            var clientCpu = ParseHarness.CpuTime();
            var serverCpu = prosody?.CpuTime();
            var seconds = await BlastAsync(a, toB, counter, count, ct);
            if (seconds is null)
            {
                return null;
            }

            var clientCpuSeconds = (ParseHarness.CpuTime() - clientCpu).TotalSeconds;
            var serverCpuSeconds = prosody?.CpuTime() - serverCpu;

            // Round trips: B echoes, A completes the waiting ping.
            var pending = new TaskCompletionSource<long>[1];
            using var echo = b.OnMessage((message, token) =>
                message.Body is { } body && body.StartsWith("ping ", StringComparison.Ordinal) ? new ValueTask(b.SendAsync(message.CreateReply(body), token)) : ValueTask.CompletedTask);
            using var answer = a.OnMessage((message, _) =>
            {
                Volatile.Read(ref pending[0])?.TrySetResult(Stopwatch.GetTimestamp());
                return ValueTask.CompletedTask;
            });
            var latencies = new List<double>(roundtrips);
            for (var i = 0; i < roundtrips + (roundtrips / 10); i++)
            {
                var waiting = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
                Volatile.Write(ref pending[0], waiting);
                var sent = Stopwatch.GetTimestamp();
                await a.SendAsync(new Message(toB, string.Create(CultureInfo.InvariantCulture, $"ping {i}")), ct);
                var answered = await waiting.Task.WaitAsync(TimeSpan.FromSeconds(30), ct);
                if (i >= roundtrips / 10)
                {
                    latencies.Add(Stopwatch.GetElapsedTime(sent, answered).TotalSeconds);
                }
            }

            latencies.Sort();
            return new PhaseResult(seconds.Value, clientCpuSeconds, serverCpuSeconds, Percentile(latencies, 50), Percentile(latencies, 99));
        }
    }

    private static async Task<double?> BlastAsync(XmppClient a, Jid toB, Counter counter, int count, CancellationToken ct)
    {
        var done = counter.Reset(count);
        var sends = new Task[count];
        var stopwatch = Stopwatch.StartNew();
        for (var i = 0; i < count; i++)
        {
            sends[i] = a.SendAsync(new Message(toB, string.Format(CultureInfo.InvariantCulture, Body, i)), ct);
        }

        await Task.WhenAll(sends);
        try
        {
            await done.WaitAsync(Timeout, ct);
        }
        catch (TimeoutException)
        {
            Console.Error.WriteLine($"Only {counter.Value} of {count} messages arrived within {Timeout.TotalMinutes} minutes.");
            return null;
        }

        return stopwatch.Elapsed.TotalSeconds;
    }

    private static async Task<PhaseResult?> RunSlixmppAsync(
        XmppTestServer server, TestAccount a, TestAccount b, bool streamManagement, int count, int warmup, int roundtrips, ProsodyProcess? prosody, CancellationToken ct)
    {
        string[] arguments =
        [
            server.Host, server.ClientPort.ToString(CultureInfo.InvariantCulture), $"{a}/slixmpp-a", a.Password, $"{b}/slixmpp-b", b.Password,
            count.ToString(CultureInfo.InvariantCulture), warmup.ToString(CultureInfo.InvariantCulture), roundtrips.ToString(CultureInfo.InvariantCulture),
            (prosody?.Pid ?? 0).ToString(CultureInfo.InvariantCulture),
            .. streamManagement ? ["--sm"] : Array.Empty<string>(),
        ];
        Console.WriteLine($"{Slixmpp.Python} slixmpp_throughput.py {server.Host} {server.ClientPort} {a}/slixmpp-a *** {b}/slixmpp-b *** {count} {warmup} {roundtrips} {prosody?.Pid ?? 0}{(streamManagement ? " --sm" : string.Empty)} ...");
        using var json = await Slixmpp.RunScriptAsync("slixmpp_throughput.py", arguments, ct);
        if (json is null)
        {
            return null;
        }

        var root = json.RootElement;
        var enabled = root.GetProperty("sm_enabled").GetArrayLength();
        if (enabled != (streamManagement ? 2 : 0))
        {
            Console.Error.WriteLine($"slixmpp: stream management was enabled on {enabled} of the 2 clients, expected {(streamManagement ? 2 : 0)}.");
            return null;
        }

        var received = root.GetProperty("received").GetInt64();
        if (received != count)
        {
            Console.Error.WriteLine($"slixmpp's B received {received} messages, expected {count}.");
            return null;
        }

        return new PhaseResult(
            root.GetProperty("seconds").GetDouble(),
            root.GetProperty("cpu_seconds").GetDouble(),
            root.GetProperty("server_cpu_seconds") is { ValueKind: System.Text.Json.JsonValueKind.Number } serverCpu ? serverCpu.GetDouble() : null,
            root.GetProperty("latency_p50").GetDouble(),
            root.GetProperty("latency_p99").GetDouble());
    }

    private static XmppClientOptions Options(XmppTestServer server, TestAccount account, bool streamManagement)
    {
        var options = server.ClientOptions(account, "parley");
        options.StreamManagement = streamManagement;
        return options;
    }

    private static double Percentile(List<double> sorted, int percentile) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, sorted.Count * percentile / 100)];

    private sealed record PhaseResult(double Seconds, double ClientCpuSeconds, double? ServerCpuSeconds, double LatencyP50, double LatencyP99);

    /// <summary>Counts received messages and completes when a target is reached.</summary>
    private sealed class Counter
    {
        private int _value;
        private int _target;
        private TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Value => Volatile.Read(ref _value);

        public Task Reset(int target)
        {
            _done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _target = target;
            Volatile.Write(ref _value, 0);
            return _done.Task;
        }

        public void Increment()
        {
            if (Interlocked.Increment(ref _value) == _target)
            {
                _done.TrySetResult();
            }
        }
    }
}
