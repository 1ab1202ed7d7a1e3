using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading.Channels;
using Parley.Testing;
using Parley.Testing.Internal;

namespace Parley.Web.Tests;

/// <summary>
/// <c>./scripts/run.sh</c> running as a child process with its own PARLEY_HOME (a temporary folder) and its own c2s and
/// web ports; its output is read line by line, and the services it started are found among its children in /proc.
/// </summary>
internal sealed class RunScript : IAsyncDisposable
{
    private const string SummaryEnd = "Visitors of the chat page appear in Pidgin";
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly StringBuilder _output = new();
    private ChildProcess? _process;

    private RunScript(string home, int clientPort, int webPort)
    {
        Home = home;
        ClientPort = clientPort;
        WebPort = webPort;
    }

    /// <summary>Its PARLEY_HOME.</summary>
    public string Home { get; }

    /// <summary>Prosody's c2s port (pinned with PARLEY_C2S_PORT).</summary>
    public int ClientPort { get; }

    /// <summary>The gateway's port (pinned with PARLEY_WEB_PORT).</summary>
    public int WebPort { get; }

    public Uri WebAddress => new($"http://127.0.0.1:{WebPort}/");

    public int Pid => _process!.Id;

    public int? ExitCode => _process!.ExitCode;

    /// <summary>The owner's password, from the summary.</summary>
    public string OwnerPassword { get; private set; } = "";

    /// <summary>The SHA-256 of Prosody's certificate, from the summary.</summary>
    public string CertificateSha256 { get; private set; } = "";

    /// <summary>Everything run.sh printed so far, for failure messages.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Starts run.sh and waits for its summary (the first run also builds Parley in Release).</summary>
    public static async Task<RunScript> StartAsync(TimeSpan timeout)
    {
        var root = RepositoryRoot();
        var home = Directory.CreateTempSubdirectory("parley-run-").FullName;
        var run = new RunScript(home, LoopbackPorts.Allocate(), LoopbackPorts.Allocate());
        // If the test host dies, run.sh gets SIGTERM (not the harness's SIGKILL), so it still stops what it started.
        // Ctrl-C in a terminal reaches a script whose SIGINT is at its default; a test host started from a background
        // shell inherits it ignored, and bash cannot trap a signal that was ignored when it started.
        var spec = new LaunchSpec("/usr/bin/setpriv", ["--pdeathsig", "TERM", "--", "/usr/bin/env", "--default-signal=INT", Path.Combine(root, "scripts", "run.sh")])
        {
            WorkingDirectory = root,
            Environment = new Dictionary<string, string>
            {
                ["PARLEY_HOME"] = home,
                ["PARLEY_C2S_PORT"] = run.ClientPort.ToString(),
                ["PARLEY_WEB_PORT"] = run.WebPort.ToString(),

                // The suite has built Debug already: an up-to-date check instead of a second full build.
                ["PARLEY_CONFIGURATION"] = "Debug",
            },
        };
        try
        {
            run._process = await ChildProcess.StartAsync(spec, run.OnLine, CancellationToken.None);
            _ = run.CompleteWhenExitedAsync();
            await run.WaitForLineAsync(new Regex("^Parley is running"), timeout);
            run.OwnerPassword = (await run.WaitForLineAsync(new Regex(@"^  Owner +owner@localhost +password: (\S+)$"), TimeSpan.FromSeconds(5))).Groups[1].Value;
            run.CertificateSha256 = (await run.WaitForLineAsync(new Regex("its SHA-256 is ([0-9a-f]{64})$"), TimeSpan.FromSeconds(5))).Groups[1].Value;
            await run.WaitForLineAsync(new Regex(Regex.Escape(SummaryEnd)), TimeSpan.FromSeconds(5));
            return run;
        }
        catch
        {
            await run.DisposeAsync();
            throw;
        }
    }

    /// <summary>Reads the output from where the last wait stopped until a line matches.</summary>
    public async Task<Match> WaitForLineAsync(Regex pattern, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await foreach (var line in _lines.Reader.ReadAllAsync(cts.Token))
            {
                if (pattern.Match(line) is { Success: true } match)
                {
                    return match;
                }
            }
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            Assert.Fail($"run.sh printed no line matching /{pattern}/ within {timeout.TotalSeconds} s. Its output:\n{Output}");
        }

        Assert.Fail($"run.sh exited (status {ExitCode}) before printing a line matching /{pattern}/. Its output:\n{Output}");
        return null!;
    }

    /// <summary>The one running child of run.sh whose command line contains <paramref name="marker"/>.</summary>
    public ProcessIdentity Child(string marker)
    {
        // A child read in the instant between its fork and its exec still shows the shell's command line: look again
        // for a few seconds before calling it missing.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var found = ProcessTree.Descendants(Pid).Where(p => ProcessTree.CommandLine(p.Pid)?.Contains(marker, StringComparison.Ordinal) == true).ToList();
            if (found.Count == 1)
            {
                return found[0];
            }

            Assert.True(DateTime.UtcNow < deadline, $"run.sh has {found.Count} running children with '{marker}' in their command line. Its output:\n{Output}");
            Thread.Sleep(100);
        }
    }

    /// <summary>Waits until something accepts TCP connections on 127.0.0.1:<paramref name="port"/>.</summary>
    public async Task WaitForPortAsync(int port, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await socket.ConnectAsync("127.0.0.1", port, cts.Token);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(PollInterval, cts.Token);
            }
            catch (OperationCanceledException) when (cts.IsCancellationRequested)
            {
                Assert.Fail($"Nothing accepted connections on port {port} within {timeout.TotalSeconds} s. run.sh's output:\n{Output}");
            }
        }
    }

    /// <summary>Waits until <paramref name="condition"/> holds (checked every 100 ms: for state that announces nothing, such as a file or a health endpoint).</summary>
    public async Task WaitUntilAsync(string what, Func<Task<bool>> condition, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (!await condition())
            {
                await Task.Delay(PollInterval, cts.Token);
            }
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            Assert.Fail($"{what}: not within {timeout.TotalSeconds} s. run.sh's output:\n{Output}");
        }
    }

    /// <summary>How many lines of a log in PARLEY_HOME contain <paramref name="text"/>.</summary>
    public int CountInLog(string log, string text)
        => File.Exists(Path.Combine(Home, log)) ? File.ReadLines(Path.Combine(Home, log)).Count(l => l.Contains(text, StringComparison.Ordinal)) : 0;

    public bool Signal(int signal) => _process!.Signal(signal);

    /// <summary>Waits until run.sh has exited; false when it is still running after <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process!.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { } process)
        {
            if (!process.HasExited)
            {
                // A failed test: nothing run.sh started may outlive it.
                process.KillTree(TimeSpan.FromSeconds(10));
            }

            await WaitForExitAsync(TimeSpan.FromSeconds(10));
            process.Dispose();
        }

        try
        {
            Directory.Delete(Home, recursive: true);
        }
        catch (IOException ex)
        {
            // Left for the system's temp cleaning; a failure here must not hide the test's own result.
            Console.Error.WriteLine($"Could not delete {Home}: {ex.Message}");
        }
    }

    private void OnLine(string line)
    {
        lock (_output)
        {
            _output.AppendLine(line);
        }

        _lines.Writer.TryWrite(line);
    }

    private async Task CompleteWhenExitedAsync()
    {
        await _process!.WaitForExitAsync(CancellationToken.None);
        _lines.Writer.TryComplete();
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "scripts", "run.sh")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No repository root (a folder with scripts/run.sh) above {AppContext.BaseDirectory}.");
    }
}
