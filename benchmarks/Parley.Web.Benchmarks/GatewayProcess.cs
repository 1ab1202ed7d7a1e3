using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Text;
using Parley.Testing;

namespace Parley.Web.Benchmarks;

/// <summary>
/// The built Parley.Web started as its own process (<c>dotnet Parley.Web.dll</c>) against the harness's Prosody, with
/// this assembly as its startup hook (see <see cref="StartupHook"/>) so its managed heap can be read from outside.
/// </summary>
internal sealed class GatewayProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;
    private readonly string _probePath;
    private readonly StringBuilder _output = new();

    private GatewayProcess(Process process, string directory, string probePath, Uri baseAddress)
    {
        _process = process;
        _directory = directory;
        _probePath = probePath;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public int Pid => _process.Id;

    /// <summary>Where the harness expects the built gateway (same configuration as the harness).</summary>
    public static string DefaultAssemblyPath => Path.GetFullPath(typeof(GatewayProcess).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "GatewayAssembly").Value!);

    public static async Task<GatewayProcess> StartAsync(XmppTestServer server, string owner, string gatewayAssembly, IReadOnlyList<string> environment, CancellationToken cancellationToken)
    {
        if (!File.Exists(gatewayAssembly))
        {
            throw new FileNotFoundException($"The gateway is not built at {gatewayAssembly}; build the harness (it builds Parley.Web) or pass --gateway PATH.", gatewayAssembly);
        }

        var directory = Directory.CreateTempSubdirectory("parley-web-bench-").FullName;
        var probePath = Path.Combine(directory, "probe.sock");
        var port = FreePort();
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = directory,
        };
        string[] arguments =
        [
            gatewayAssembly,
            $"--urls=http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}",

            // The base of the links the gateway builds; it refuses to start with files on and none set.
            $"--Parley:PublicUrl=http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}",
            "--environment=Production",
            "--Logging:LogLevel:Default=Warning",
            "--Logging:LogLevel:Parley.Xmpp.Traffic=None",
            $"--Parley:Owner={owner}",
            $"--Parley:DatabasePath={Path.Combine(directory, "parley-web.db")}",
            $"--Parley:Component:Domain={server.ComponentDomain}",
            $"--Parley:Component:Secret={server.ComponentSecret}",
            $"--Parley:Component:Host={server.Host}",
            $"--Parley:Component:Port={server.ComponentPort.ToString(CultureInfo.InvariantCulture)}",

            // One guest sign-in per source address is the default limit's unit; the harness signs in 10,000 guests
            // from a handful of loopback addresses, and one visitor sends thousands of messages a minute.
            "--Parley:Guests:PerMinute=10000",
            "--Parley:MessagesPerMinute=10000",
        ];
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["DOTNET_STARTUP_HOOKS"] = typeof(StartupHook).Assembly.Location;
        start.Environment["PARLEY_BENCH_PROBE"] = probePath;
        foreach (var variable in environment)
        {
            var equals = variable.IndexOf('=', StringComparison.Ordinal);
            start.Environment[variable[..equals]] = variable[(equals + 1)..];
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start.");
        var gateway = new GatewayProcess(process, directory, probePath, new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/"));
        process.OutputDataReceived += (_, e) => gateway.Append(e.Data);
        process.ErrorDataReceived += (_, e) => gateway.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await gateway.WaitHealthyAsync(cancellationToken);
        }
        catch
        {
            await gateway.DisposeAsync();
            throw;
        }

        return gateway;
    }

    /// <summary>VmRSS, VmHWM (peak RSS) and the thread count from /proc/PID/status, in bytes and a count.</summary>
    public (long Rss, long PeakRss, int Threads) ReadStatus()
    {
        long rss = 0, peak = 0;
        var threads = 0;
        foreach (var line in File.ReadLines($"/proc/{Pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = Kilobytes(line);
            }
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                peak = Kilobytes(line);
            }
            else if (line.StartsWith("Threads:", StringComparison.Ordinal))
            {
                threads = int.Parse(line.AsSpan(8).Trim(), CultureInfo.InvariantCulture);
            }
        }

        return (rss, peak, threads);
    }

    /// <summary>User + system CPU seconds of the gateway process so far.</summary>
    public double CpuSeconds() => ProcessCpu.Read(Pid);

    /// <summary>Asks the startup hook for the heap: after a full compacting collection (<paramref name="collect"/>) or as it is.</summary>
    public async Task<HeapSnapshot> ProbeAsync(bool collect, CancellationToken cancellationToken)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(_probePath), cancellationToken);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        await stream.WriteAsync(Encoding.ASCII.GetBytes(collect ? "gc\n" : "peek\n"), cancellationToken);
        using var reader = new StreamReader(stream, Encoding.ASCII);
        var line = await reader.ReadLineAsync(cancellationToken) ?? throw new IOException("The probe closed without answering.");
        var values = line.Split(' ').Select(pair => pair.Split('=')).ToDictionary(p => p[0], p => long.Parse(p[1], CultureInfo.InvariantCulture), StringComparer.Ordinal);
        return new HeapSnapshot(values["heap"], values["heapSize"], values["committed"], values["fragmented"], values["allocated"],
            (int)values["gen0"], (int)values["gen1"], (int)values["gen2"], values["pauseMicroseconds"] / 1e6,
            values["jitMethods"], values["jitMicroseconds"] / 1e6, (int)values["poolThreads"], values["serverGc"] != 0,
            values["lastEphemeralIndex"], values["lastEphemeralPauseMicroseconds"] / 1e6);
    }

    /// <summary>Writes a heap dump of the gateway with the runtime's createdump (the process is suspended meanwhile).</summary>
    public async Task DumpAsync(string path, CancellationToken cancellationToken)
    {
        var createdump = Path.Combine(System.Runtime.InteropServices.RuntimeEnvironment.GetRuntimeDirectory(), "createdump");
        using var dump = Process.Start(new ProcessStartInfo(createdump, ["--withheap", "-f", path, Pid.ToString(CultureInfo.InvariantCulture)])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        }) ?? throw new InvalidOperationException("createdump did not start.");
        var output = await dump.StandardOutput.ReadToEndAsync(cancellationToken) + await dump.StandardError.ReadToEndAsync(cancellationToken);
        await dump.WaitForExitAsync(cancellationToken);
        if (dump.ExitCode != 0)
        {
            throw new InvalidOperationException($"createdump failed ({dump.ExitCode}): {output}");
        }
    }

    /// <summary>Lines of console output not kept because the first 1,000,000 characters were already kept.</summary>
    public long DroppedLines { get; private set; }

    /// <summary>The gateway's console output so far (warnings and errors only at the configured log level).</summary>
    public string Output()
    {
        lock (_output)
        {
            return _output.ToString();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open; the temporary folder is left behind.
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            if (_output.Length < 1_000_000)
            {
                _output.AppendLine(line);
            }
            else
            {
                DroppedLines++;
            }
        }
    }

    private async Task WaitHealthyAsync(CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The gateway exited with {_process.ExitCode}:\n{Output()}");
            }

            try
            {
                using var response = await http.GetAsync(new Uri("/healthz", UriKind.Relative), cancellationToken);
                var body = await response.Content.ReadAsStringAsync(cancellationToken);
                if (response.StatusCode == HttpStatusCode.OK && body.Contains("\"status\":\"Healthy\"", StringComparison.Ordinal))
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            if (deadline.Elapsed > TimeSpan.FromSeconds(60))
            {
                throw new TimeoutException($"The gateway was not healthy within 60 s:\n{Output()}");
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    private static long Kilobytes(string line)
        => long.Parse(line.AsSpan(line.IndexOf(':', StringComparison.Ordinal) + 1).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture) * 1024;

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>What the startup hook reports: managed heap (after a collection when asked), committed memory, allocations, GC pauses and JIT work so far.</summary>
internal sealed record HeapSnapshot(long Heap, long HeapSize, long Committed, long Fragmented, long Allocated, int Gen0, int Gen1, int Gen2, double PauseSeconds, long JitMethods, double JitSeconds, int PoolThreads, bool ServerGc, long LastEphemeralIndex, double LastEphemeralPauseSeconds);

/// <summary>CPU time of a process from /proc/PID/stat.</summary>
internal static class ProcessCpu
{
    /// <summary>User + system CPU seconds of <paramref name="pid"/> so far.</summary>
    public static double Read(int pid) => ProsodyProcess.CpuTime(pid);

    /// <summary>The 1-, 5- and 15-minute load averages.</summary>
    public static string LoadAverage()
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
}
