using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.IO.Pipelines;
using System.Text.Json;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Benchmarks;

/// <summary>
/// Parses a generated stream of chat messages fed through a pipe in socket-sized chunks, the way the engine reads a
/// connection, and reports throughput and allocations; then runs slixmpp's parsing of the same bytes for comparison.
/// </summary>
internal static class ParseHarness
{
    private const string Python = "/usr/bin/python3";

    public static async Task<int> RunAsync(string[] args)
    {
        var count = 1_000_000;
        var chunk = 64 * 1024;
        var runs = 3;
        var slixmpp = true;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--count":
                    count = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--chunk":
                    chunk = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--runs":
                    runs = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--no-slixmpp":
                    slixmpp = false;
                    break;
                default:
                    Console.Error.WriteLine($"Unknown argument '{args[i]}'.");
                    return 2;
            }
        }

        Console.WriteLine($"Generating {count:N0} chat messages ...");
        var data = ChatStreamGenerator.Generate(count);
        Console.WriteLine($"Stream: {data.Length / 1e6:F1} MB, {(double)data.Length / count:F0} bytes per message on average, fed in {chunk / 1024} KiB chunks.");
        Console.WriteLine($".NET {Environment.Version}, {Environment.ProcessorCount} logical cores, {(Debugger.IsAttached ? "debugger attached" : "no debugger")}.");
        Console.WriteLine();

        // The first pass warms up the JIT (tiered compilation) and is not reported.
        await ParseAsync(data, chunk);
        var best = default(Result);
        for (var run = 1; run <= runs; run++)
        {
            var result = await ParseAsync(data, chunk);
            if (result.Stanzas != count)
            {
                Console.Error.WriteLine($"Parley parsed {result.Stanzas} stanzas, expected {count}.");
                return 1;
            }

            Console.WriteLine(
                $"Parley   run {run}: {result.Seconds,6:F3} s  {result.Stanzas / result.Seconds,12:N0} msg/s  {data.Length / 1e6 / result.Seconds,7:F1} MB/s  " +
                $"{(double)result.AllocatedBytes / result.Stanzas,6:F0} B allocated/stanza  {result.Gen0Collections} gen0 GCs");
            if (best is null || result.Seconds < best.Seconds)
            {
                best = result;
            }
        }

        Console.WriteLine();
        if (!slixmpp)
        {
            return 0;
        }

        var parleyRate = best!.Stanzas / best.Seconds;
        var bare = await RunSlixmppAsync(data, chunk, plugins: false);
        if (bare is null)
        {
            return 0;
        }

        var withPlugins = await RunSlixmppAsync(data, chunk, plugins: true);
        foreach (var (label, slix) in new[] { ("slixmpp (stanza wrapper only)", bare), ("slixmpp (+ XEP-0085/0184/0203 plugins)", withPlugins) })
        {
            if (slix is null)
            {
                continue;
            }

            if (slix.Stanzas != count)
            {
                Console.Error.WriteLine($"{label} parsed {slix.Stanzas} stanzas, expected {count}.");
                return 1;
            }

            Console.WriteLine($"{label,-40}: {slix.Seconds,7:F3} s  {slix.Stanzas / slix.Seconds,12:N0} msg/s  {data.Length / 1e6 / slix.Seconds,7:F1} MB/s");
        }

        Console.WriteLine();
        Console.WriteLine($"Parley/slixmpp = {parleyRate / (bare.Stanzas / bare.Seconds):F1}x  (best Parley run vs the stanza wrapper alone; targets: >= 20x and >= 1,000,000 msg/s)");
        if (withPlugins is not null)
        {
            Console.WriteLine($"Parley/slixmpp with chat-state, receipt and delay plugins = {parleyRate / (withPlugins.Stanzas / withPlugins.Seconds):F1}x");
        }

        return 0;
    }

    private static async Task<Result> ParseAsync(byte[] data, int chunk)
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0, resumeWriterThreshold: 0, minimumSegmentSize: Math.Min(chunk, 65536), useSynchronizationContext: false));
        var parser = new XmlStreamParser(XmlLimits.Default);
        long stanzas = 0, bodyChars = 0;

        GC.Collect();
        GC.WaitForPendingFinalizers();
        var gen0 = GC.CollectionCount(0);
        var allocated = GC.GetAllocatedBytesForCurrentThread();
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
                if (kind == XmlStreamEventKind.Element)
                {
                    stanzas++;
                    if (element is Message message)
                    {
                        bodyChars += message.Body?.Length ?? 0;
                    }
                }
            }

            pipe.Reader.AdvanceTo(buffer.Start, buffer.End);
        }

        stopwatch.Stop();
        return new Result(
            stanzas,
            bodyChars,
            stopwatch.Elapsed.TotalSeconds,
            GC.GetAllocatedBytesForCurrentThread() - allocated,
            GC.CollectionCount(0) - gen0);
    }

    private static async Task<Result?> RunSlixmppAsync(byte[] data, int chunk, bool plugins)
    {
        if (!File.Exists(Python))
        {
            Console.WriteLine($"slixmpp comparison skipped: {Python} does not exist (install Debian's python3 and python3-slixmpp).");
            return null;
        }

        if (await RunPythonAsync(["-c", "import slixmpp"]) is not { ExitCode: 0 })
        {
            if (Environment.UserName != "root")
            {
                Console.WriteLine("slixmpp comparison skipped: python3-slixmpp is not installed (as root: apt-get install python3-slixmpp).");
                return null;
            }

            Console.WriteLine("python3-slixmpp is not installed; installing it with apt-get ...");
            using var apt = Process.Start(new ProcessStartInfo("apt-get", ["install", "-y", "--no-install-recommends", "python3-slixmpp"]));
            if (apt is null)
            {
                Console.WriteLine("slixmpp comparison skipped: apt-get could not be started.");
                return null;
            }

            await apt.WaitForExitAsync();
            if (apt.ExitCode != 0 || await RunPythonAsync(["-c", "import slixmpp"]) is not { ExitCode: 0 })
            {
                Console.WriteLine("slixmpp comparison skipped: installing python3-slixmpp failed.");
                return null;
            }
        }

        var script = Path.Combine(AppContext.BaseDirectory, "slixmpp_parse.py");
        var file = Path.Combine(Path.GetTempPath(), $"parley-bench-{Environment.ProcessId}.xml");
        try
        {
            await File.WriteAllBytesAsync(file, data);
            Console.WriteLine($"Running slixmpp ({Python} {Path.GetFileName(script)}{(plugins ? " --plugins" : "")}) on the same {data.Length / 1e6:F1} MB ...");
            string[] arguments = plugins ? [script, file, chunk.ToString(CultureInfo.InvariantCulture), "--plugins"] : [script, file, chunk.ToString(CultureInfo.InvariantCulture)];
            var run = await RunPythonAsync(arguments);
            if (run is not { ExitCode: 0 })
            {
                Console.WriteLine($"slixmpp run failed: {run?.Error}");
                return null;
            }

            using var json = JsonDocument.Parse(run.Output);
            var root = json.RootElement;
            return new Result(
                root.GetProperty("stanzas").GetInt64(),
                root.GetProperty("body_chars").GetInt64(),
                root.GetProperty("seconds").GetDouble(),
                AllocatedBytes: 0,
                Gen0Collections: 0);
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static async Task<ProcessResult?> RunPythonAsync(IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(Python, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetTempPath(),
        };
        using var process = Process.Start(start);
        if (process is null)
        {
            return null;
        }

        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return new ProcessResult(process.ExitCode, await output, await error);
    }

    private sealed record Result(long Stanzas, long BodyChars, double Seconds, long AllocatedBytes, int Gen0Collections);

    private sealed record ProcessResult(int ExitCode, string Output, string Error);
}
