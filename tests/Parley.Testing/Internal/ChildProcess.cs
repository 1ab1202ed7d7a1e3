using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;

namespace Parley.Testing.Internal;

/// <summary>What to run: a program, its arguments and environment, optionally as another user.</summary>
internal sealed record LaunchSpec(string FileName, IReadOnlyList<string> Arguments)
{
    public string? WorkingDirectory { get; init; }

    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>Run as this system user (only possible as root; uses setpriv).</summary>
    public string? RunAsUser { get; init; }

    /// <summary>How the command appears in error messages (set it to hide passwords in the arguments).</summary>
    public string? Display { get; init; }

    public override string ToString() => Display ?? $"{FileName} {string.Join(' ', Arguments)}";
}

/// <summary>
/// Starts child processes so that they cannot outlive the test process, and receives their output.
/// </summary>
/// <remarks>
/// Every child is started through <c>setpriv --pdeathsig KILL</c>, so the kernel SIGKILLs it when its
/// parent dies, even when the test host is killed (blame-hang, OOM, crash). The kernel ties the
/// parent-death signal to the parent THREAD, not the process: a child forked from a thread-pool thread
/// would be killed when the pool retires that thread. So all forks happen on one dedicated thread that
/// lives as long as the process. Grandchildren are not covered by the kernel mechanism; server classes
/// whose launcher forks (ejabberdctl) chain another pdeathsig wrapper (see EjabberdServer), and the
/// pid files in the instance folder let the next run kill anything that still escaped.
/// </remarks>
internal sealed class ChildProcess : IDisposable
{
    private const string SetPriv = "/usr/bin/setpriv";
    private static readonly BlockingCollection<(ProcessStartInfo Info, TaskCompletionSource<Process> Done)> s_forkQueue = new();
    private static readonly Lazy<Thread> s_forkThread = new(StartForkThread);

    private readonly Process _process;
    private readonly Action<string> _onLine;
    private readonly TaskCompletionSource _outputDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _openStreams = 2;

    private ChildProcess(Process process, Action<string> onLine, ProcessIdentity identity)
    {
        _process = process;
        _onLine = onLine;
        Identity = identity;
    }

    public int Id => Identity.Pid;

    public ProcessIdentity Identity { get; }

    public bool HasExited => _process.HasExited;

    /// <summary>The exit code, or null while running.</summary>
    public int? ExitCode => _process.HasExited ? _process.ExitCode : null;

    /// <summary>Completes when the process has exited and its output was fully delivered.</summary>
    public async Task WaitForExitAsync(CancellationToken cancellationToken)
    {
        await _process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        await _outputDone.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Starts <paramref name="spec"/>; every line it writes to stdout or stderr goes to <paramref name="onLine"/>.</summary>
    /// <exception cref="XmppTestServerException">The program could not be started.</exception>
    public static async Task<ChildProcess> StartAsync(LaunchSpec spec, Action<string> onLine, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            WorkingDirectory = spec.WorkingDirectory ?? string.Empty,
        };

        if (File.Exists(SetPriv))
        {
            info.FileName = SetPriv;
            info.ArgumentList.Add("--pdeathsig");
            info.ArgumentList.Add("KILL");
            if (spec.RunAsUser is { } user)
            {
                info.ArgumentList.Add($"--reuid={user}");
                info.ArgumentList.Add($"--regid={user}");
                info.ArgumentList.Add("--init-groups");
            }

            info.ArgumentList.Add("--");
            info.ArgumentList.Add(spec.FileName);
        }
        else if (spec.RunAsUser is not null)
        {
            throw new XmppTestServerException($"{SetPriv} (util-linux) is needed to run {spec.FileName} as user {spec.RunAsUser}.");
        }
        else
        {
            info.FileName = spec.FileName;
        }

        foreach (var argument in spec.Arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in spec.Environment)
        {
            info.Environment[name] = value;
        }

        var done = new TaskCompletionSource<Process>(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = s_forkThread.Value;
        s_forkQueue.Add((info, done), cancellationToken);
        Process process;
        try
        {
            process = await done.Task.ConfigureAwait(false);
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            throw new XmppTestServerException($"Could not start {spec}: {e.Message}", e);
        }

        var identity = ProcessTree.Identify(process.Id) ?? new ProcessIdentity(process.Id, 0);
        var child = new ChildProcess(process, onLine, identity);
        process.OutputDataReceived += (_, e) => child.OnData(e.Data);
        process.ErrorDataReceived += (_, e) => child.OnData(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        // Servers and tools get EOF on stdin instead of waiting on a terminal.
        process.StandardInput.Close();
        return child;
    }

    /// <summary>Sends a signal to the process itself.</summary>
    public bool Signal(int signal) => !_process.HasExited && Posix.Signal(Id, signal);

    /// <summary>SIGKILLs the process and all its descendants, then waits (bounded) until it is reaped.</summary>
    public void KillTree(TimeSpan wait)
    {
        var descendants = ProcessTree.Descendants(Id);
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }

        // Process.Kill walks the tree from the root; anything re-parented meanwhile is caught here.
        foreach (var descendant in descendants)
        {
            if (descendant.IsAlive)
            {
                Posix.Signal(descendant.Pid, Posix.SigKill);
            }
        }

        _process.WaitForExit(wait);
    }

    public void Dispose() => _process.Dispose();

    private void OnData(string? line)
    {
        if (line is null)
        {
            if (Interlocked.Decrement(ref _openStreams) == 0)
            {
                _outputDone.TrySetResult();
            }

            return;
        }

        _onLine(line);
    }

    private static Thread StartForkThread()
    {
        var thread = new Thread(ForkLoop) { IsBackground = true, Name = "Parley.Testing fork thread" };
        thread.Start();
        return thread;
    }

    private static void ForkLoop()
    {
        // This thread never ends (see remarks): it is the parent thread of every child process.
        foreach (var (info, done) in s_forkQueue.GetConsumingEnumerable())
        {
            try
            {
                done.TrySetResult(Process.Start(info) ?? throw new InvalidOperationException($"{info.FileName} did not start."));
            }
            catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
            {
                done.TrySetException(e);
            }
        }
    }
}
