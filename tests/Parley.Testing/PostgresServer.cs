using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Parley.Testing.Internal;

namespace Parley.Testing;

/// <summary>
/// A private PostgreSQL 15 (Debian package <c>postgresql</c>, binaries in <see cref="BinDirectory"/>): <c>initdb</c>
/// into a fresh instance folder, <c>postgres</c> run as a child process listening only on 127.0.0.1 with a free port,
/// its unix socket in the instance folder, trust authentication for the superuser <see cref="SuperUser"/>, no fsync.
/// Stopped (fast shutdown) and deleted at dispose.
/// </summary>
/// <remarks>
/// initdb and postgres refuse to run as root. As root the instance folder is given to the system user
/// <c>postgres</c> (created by the package) and both run as that user (setpriv). The postmaster is started with
/// a parent-death signal (see <c>ChildProcess</c>); its backends exit by themselves when the postmaster dies.
/// </remarks>
public sealed class PostgresServer : IAsyncDisposable
{
    /// <summary>Where Debian 12 installs the PostgreSQL 15 server programs.</summary>
    public const string BinDirectory = "/usr/lib/postgresql/15/bin";

    /// <summary>The superuser initdb creates (trust authentication: no password).</summary>
    public const string SuperUser = "parley";

    private const string SystemUser = "postgres";
    private const int MaxLogChars = 256 * 1024;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(20);

    private readonly InstanceDirectory _instance;
    private readonly StringBuilder _log = new();
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    private ChildProcess? _process;
    private bool _initialized;
    private int _databases;
    private bool _disposed;
    private bool _everStarted;

    private PostgresServer(InstanceDirectory instance) => _instance = instance;

    /// <summary>Always 127.0.0.1.</summary>
    public string Host => "127.0.0.1";

    /// <summary>The TCP port (chosen free at the first start, kept across restarts).</summary>
    public int Port { get; private set; }

    /// <summary>The instance folder (data in <c>data/</c>, the unix socket beside it).</summary>
    public string InstancePath => _instance.Path;

    /// <summary>Whether the server process is running.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Everything the server printed so far (bounded), for failure messages.</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    private static string? ServiceUser => Posix.IsRoot ? SystemUser : null;

    private string DataPath => _instance.File("data");

    /// <summary>Creates the instance folder, runs initdb and starts the server.</summary>
    /// <exception cref="XmppTestServerException">initdb or the server failed; the message quotes the output.</exception>
    /// <exception cref="PlatformNotSupportedException">Not on Linux.</exception>
    public static Task<PostgresServer> StartNewAsync(CancellationToken cancellationToken = default)
    {
        return Started.OrDisposedAsync(new PostgresServer(InstanceDirectory.Create("postgres")), static (server, ct) => server.StartAsync(ct), cancellationToken);
    }

    /// <summary>A connection string (Npgsql keywords) for a database of this server as the superuser.</summary>
    public string ConnectionString(string database) =>
        string.Create(CultureInfo.InvariantCulture, $"Host={Host};Port={Port};Username={SuperUser};Database={database};Timeout=5;Command Timeout=30");

    /// <summary>Creates a new, empty database with a unique name and returns its connection string.</summary>
    /// <exception cref="XmppTestServerException">createdb failed.</exception>
    public async Task<string> CreateDatabaseAsync(CancellationToken cancellationToken = default)
    {
        var name = string.Create(CultureInfo.InvariantCulture, $"test_{Interlocked.Increment(ref _databases)}_{RandomNumberGenerator.GetHexString(8, lowercase: true)}");
        await CommandRunner.RunCheckedAsync(
            new LaunchSpec(Path.Combine(BinDirectory, "createdb"), ["-h", Host, "-p", Port.ToString(CultureInfo.InvariantCulture), "-U", SuperUser, name]),
            TimeSpan.FromSeconds(30),
            cancellationToken).ConfigureAwait(false);
        return ConnectionString(name);
    }

    /// <summary>Starts the server (again): same port, same data. Returns when it accepts connections.</summary>
    /// <exception cref="XmppTestServerException">It did not start; the message quotes its output.</exception>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await _lifecycle.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (IsRunning)
            {
                return;
            }

            if (!_initialized)
            {
                await InitializeAsync(cancellationToken).ConfigureAwait(false);
                _initialized = true;
            }

            // A free port can be taken by someone else before the server binds it: then try another (first start only).
            for (var attempt = 1; ; attempt++)
            {
                if (Port == 0)
                {
                    Port = FreePorts.Allocate(1)[0];
                }

                try
                {
                    await LaunchAsync(cancellationToken).ConfigureAwait(false);
                    return;
                }
                catch (XmppTestServerException e) when (e.AddressInUse && attempt < 3 && !_everStarted)
                {
                    Port = 0;
                }
            }
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>Stops the server (fast shutdown: open sessions are ended, committed data is kept) and waits for it to exit.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        await _lifecycle.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await StopCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>Stops the server and deletes its folder (kept with PARLEY_KEEP_SERVERS=1).</summary>
    public async ValueTask DisposeAsync()
    {
        await _lifecycle.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            await StopCoreAsync(CancellationToken.None).ConfigureAwait(false);
            _instance.Release();
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    private async Task InitializeAsync(CancellationToken cancellationToken)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("The test PostgreSQL runs on Linux only.");
        }

        var initdb = Path.Combine(BinDirectory, "initdb");
        if (!File.Exists(initdb))
        {
            throw new XmppTestServerException($"{initdb} is missing: install the Debian package 'postgresql' (scripts/install-deps.sh).");
        }

        if (ServiceUser is { } user)
        {
            await CommandRunner.RunCheckedAsync(new LaunchSpec("chown", ["-R", $"{user}:{user}", _instance.Path]), TimeSpan.FromSeconds(30), cancellationToken)
                .ConfigureAwait(false);
        }

        await CommandRunner.RunCheckedAsync(
            new LaunchSpec(initdb, ["-D", DataPath, "-U", SuperUser, "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions"])
            {
                RunAsUser = ServiceUser,
                WorkingDirectory = _instance.Path,
            },
            TimeSpan.FromSeconds(120),
            cancellationToken).ConfigureAwait(false);
    }

    private async Task LaunchAsync(CancellationToken cancellationToken)
    {
        var port = Port.ToString(CultureInfo.InvariantCulture);
        var spec = new LaunchSpec(
            Path.Combine(BinDirectory, "postgres"),
            [
                "-D", DataPath,
                "-c", "listen_addresses=127.0.0.1",
                "-c", $"port={port}",
                "-c", $"unix_socket_directories={_instance.Path}",
                "-c", "max_connections=100",
                "-c", "shared_buffers=32MB",
                // Test data: durability across an OS crash is not needed, speed is.
                "-c", "fsync=off",
                "-c", "synchronous_commit=off",
                "-c", "full_page_writes=off",
                "-c", "log_min_messages=warning",
                "-c", "log_line_prefix=%m [%p] ",
            ])
        {
            RunAsUser = ServiceUser,
            WorkingDirectory = _instance.Path,
        };

        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var addressInUse = false;
        void OnLine(string line)
        {
            lock (_log)
            {
                if (_log.Length < MaxLogChars)
                {
                    _log.AppendLine(line);
                }
            }

            if (line.Contains("ready to accept connections", StringComparison.Ordinal))
            {
                ready.TrySetResult();
            }
            else if (line.Contains("could not bind", StringComparison.Ordinal) || line.Contains("Address already in use", StringComparison.Ordinal))
            {
                addressInUse = true;
            }
        }

        var stopwatch = Stopwatch.StartNew();
        var process = await ChildProcess.StartAsync(spec, OnLine, cancellationToken).ConfigureAwait(false);
        _process = process;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(StartTimeout);
            var exited = process.WaitForExitAsync(timeout.Token);
            var first = await Task.WhenAny(ready.Task, exited).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            if (first != ready.Task)
            {
                throw new XmppTestServerException(process.HasExited
                    ? $"PostgreSQL exited with {process.ExitCode} during start. Output:\n{Log}"
                    : $"PostgreSQL did not accept connections within {StartTimeout.TotalSeconds:0} s. Output:\n{Log}")
                {
                    AddressInUse = addressInUse,
                };
            }

            _instance.RecordProcesses([process.Identity, .. ProcessTree.Descendants(process.Id)]);
            _everStarted = true;
            OnLine(string.Create(CultureInfo.InvariantCulture, $"[Parley.Testing] PostgreSQL ready on {Host}:{Port} after {stopwatch.Elapsed.TotalSeconds:0.000} s"));
        }
        catch
        {
            process.KillTree(TimeSpan.FromSeconds(5));
            process.Dispose();
            _process = null;
            throw;
        }
    }

    private async Task StopCoreAsync(CancellationToken cancellationToken)
    {
        if (_process is not { } process)
        {
            return;
        }

        _process = null;
        try
        {
            // SIGINT = fast shutdown: ends sessions, writes a checkpoint, exits.
            const int SigInt = 2;
            process.Signal(SigInt);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(StopTimeout);
            try
            {
                await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                process.KillTree(TimeSpan.FromSeconds(5));
            }
        }
        finally
        {
            process.Dispose();
        }
    }
}
