using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Parley.Testing.Internal;
using Parley.Xmpp.Core;

namespace Parley.Testing;

/// <summary>The state of a file transfer in Dino's database (<c>file_transfer.state</c>).</summary>
public enum DinoFileState
{
    /// <summary>Every byte is on disk.</summary>
    Complete = 0,

    /// <summary>Bytes are arriving.</summary>
    InProgress = 1,

    /// <summary>Dino waits for the user to click (files of 5 MB or more, or senders outside the roster).</summary>
    NotStarted = 2,

    /// <summary>Dino gave up.</summary>
    Failed = 3,
}

/// <summary>How the file reached Dino (<c>file_transfer.provider</c>).</summary>
public enum DinoFileProvider
{
    /// <summary>An HTTP link (XEP-0363 upload, XEP-0066 out-of-band), downloaded by Dino.</summary>
    Http = 0,

    /// <summary>Jingle file transfer (XEP-0234).</summary>
    Jingle = 1,
}

/// <summary>An incoming file as Dino recorded it.</summary>
/// <param name="FileName">The name Dino shows.</param>
/// <param name="State">Where the transfer stands.</param>
/// <param name="Provider">How the file came.</param>
/// <param name="Path">The file on disk (absolute) when Dino stored one, else <see langword="null"/>.</param>
/// <param name="Size">The size Dino recorded.</param>
public sealed record DinoFileTransfer(string FileName, DinoFileState State, DinoFileProvider Provider, string? Path, long Size);

/// <summary>
/// A real Dino 0.4.2 (Debian <c>dino-im</c>, GTK 4) logged in to a test server, for interop tests: it downloads HTTP
/// upload links by itself and accepts Jingle file offers under 5 MB from roster contacts without a click.
/// </summary>
/// <remarks>
/// <para>
/// Dino has no setting for the server's host or port: it looks up the domain's SRV record and then connects to the
/// domain at port 5222, and it only trusts certificates of the system's CA bundle. So Dino runs in a private mount
/// namespace (<c>unshare -m</c>, root only) where <c>/etc/hosts</c> maps the server's domain to a random 127.x.y.z
/// address, <c>/etc/resolv.conf</c> names a resolver that does not exist (the SRV lookup fails at once), and the CA
/// bundle has the server's self-signed certificate appended. A relay in the test process listens on that address at
/// port 5222 and forwards to the server's c2s port. The network namespace is the host's: Dino reaches the server's
/// proxy, upload service and Parley's streamhosts like any other client. GLib resolves with <c>AI_ADDRCONFIG</c>, which
/// needs a non-loopback IPv4 address on the machine.
/// </para>
/// <para>
/// Display: a private <c>Xvfb</c> with an X authority cookie; GTK renders with cairo (<c>GSK_RENDERER=cairo</c>, no GL).
/// A private D-Bus session bus. The account: Dino's first start creates <c>dino.db</c>; it is stopped, the account row
/// is inserted with <c>sqlite3</c>, and Dino is started again. Logged in means Dino has stored the roster, so seed at
/// least one roster item for the account before starting. Transfers are read from the <c>file_transfer</c> table.
/// </para>
/// <para>
/// Every process is a child of the test host with the parent-death signal (Dino itself through
/// <c>unshare</c> and <c>sh</c>, which exec). Disposal kills them and deletes the folder (kept with PARLEY_KEEP_SERVERS=1).
/// </para>
/// </remarks>
public sealed partial class DinoClient : IAsyncDisposable
{
    private const int DinoPort = 5222;
    private static readonly TimeSpan LoginTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan NotStartedGrace = TimeSpan.FromSeconds(5);

    private readonly InstanceDirectory _instance;
    private readonly StreamWriter _log;
    private readonly StreamWriter _dinoLog;
    private readonly Lock _logLock = new();
    private TcpRelay? _relay;
    private ChildProcess? _xvfb;
    private ChildProcess? _bus;
    private ChildProcess? _dino;
    private int _display;
    private int _disposed;
    private bool _logClosed;

    private DinoClient(InstanceDirectory instance, Jid jid)
    {
        _instance = instance;
        Jid = jid;
        _log = new StreamWriter(new FileStream(instance.File("harness.log"), FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        _dinoLog = new StreamWriter(new FileStream(instance.File("dino.log"), FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
    }

    /// <summary>The account's full JID (with the resource Dino binds).</summary>
    public Jid Jid { get; }

    /// <summary>The instance folder: home (<c>home/</c>), logs, the files bind-mounted over <c>/etc</c>.</summary>
    public string DirectoryPath => _instance.Path;

    /// <summary>Dino's data folder: <c>dino.db</c> and the received files under <c>files/</c>.</summary>
    public string DataDirectory => _instance.File("home/.local/share/dino");

    /// <summary>How long Dino took from its second start until it had logged in and stored the roster.</summary>
    public TimeSpan LoginTime { get; private set; }

    private string Database => Path.Combine(DataDirectory, "dino.db");

    private string BusAddress => "unix:path=" + _instance.File("bus");

    /// <summary>
    /// Starts Dino logged in as <paramref name="account"/> on <paramref name="server"/> and waits until it has fetched its
    /// roster. Seed the roster first (at least one item; contacts with subscription both get files auto-accepted).
    /// </summary>
    /// <param name="server">The running test server (its certificate is trusted inside Dino's namespace).</param>
    /// <param name="account">The account Dino logs in with.</param>
    /// <param name="resource">The resource Dino binds.</param>
    /// <param name="cancellationToken">Cancels the start (everything started so far is killed).</param>
    /// <returns>The logged-in client.</returns>
    /// <exception cref="DinoClientException">Not root, a program is missing, or Dino did not log in; the message quotes its log.</exception>
    /// <exception cref="XmppTestServerException">A helper program could not be started.</exception>
    /// <exception cref="ArgumentException">The resource is not usable.</exception>
    public static async Task<DinoClient> StartAsync(XmppTestServer server, TestAccount account, string resource = "dino", CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(account);
        if (!ResourcePattern().IsMatch(resource))
        {
            throw new ArgumentException($"'{resource}' is not a usable resource (ASCII letters, digits, '.', '_', '-', at most 64).", nameof(resource));
        }

        if (!Posix.IsRoot)
        {
            throw new DinoClientException("Dino runs in a private mount namespace (its own /etc/hosts and CA bundle), which needs root.");
        }

        foreach (var program in (ReadOnlySpan<string>)["dino-im", "Xvfb", "xauth", "dbus-daemon", "unshare", "sqlite3"])
        {
            if (FindProgram(program) is null)
            {
                throw new DinoClientException($"{program} is not installed (scripts/install-deps.sh test installs dino-im, xvfb, xauth, dbus, sqlite3 and util-linux).");
            }
        }

        var client = new DinoClient(InstanceDirectory.Create("dino"), account.Jid.WithResource(resource));
        try
        {
            await client.LaunchAsync(server, account, cancellationToken).ConfigureAwait(false);
            return client;
        }
        catch
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The latest incoming transfer of a file with that name, or <see langword="null"/> when Dino has none.</summary>
    /// <param name="fileName">The file name as offered.</param>
    /// <param name="cancellationToken">Stops the query.</param>
    /// <exception cref="XmppTestServerException">sqlite3 failed.</exception>
    public async Task<DinoFileTransfer?> FindIncomingFileAsync(string fileName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(fileName);
        var sql = $"SELECT state, provider, ifnull(path, ''), ifnull(size, -1) FROM file_transfer WHERE direction = 0 AND file_name = {SqlText(fileName)} ORDER BY id DESC LIMIT 1;";
        var result = await CommandRunner.RunAsync(Sqlite(sql, readOnly: true), TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            // Dino may hold a write lock for a moment; the next poll sees the row.
            return result.Output.Contains("locked", StringComparison.OrdinalIgnoreCase)
                ? null
                : throw new XmppTestServerException($"sqlite3 could not read {Database}: {result.Output}");
        }

        var line = result.Output.Trim();
        if (line.Length == 0)
        {
            return null;
        }

        var fields = line.Split('|');
        if (fields.Length != 4
            || !int.TryParse(fields[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var state)
            || !int.TryParse(fields[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var provider)
            || !long.TryParse(fields[3], NumberStyles.Integer, CultureInfo.InvariantCulture, out var size))
        {
            throw new XmppTestServerException($"Unexpected file_transfer row from sqlite3: '{line}'.");
        }

        var path = fields[2].Length > 0 ? Path.Combine(DataDirectory, "files", fields[2]) : null;
        return new DinoFileTransfer(fileName, (DinoFileState)state, (DinoFileProvider)provider, path, size);
    }

    /// <summary>
    /// Waits until Dino's latest incoming transfer of <paramref name="fileName"/> is complete or failed, or has waited for
    /// a click for 5 s, and returns it. For a complete one the file on disk has the recorded size.
    /// </summary>
    /// <param name="fileName">The file name as offered.</param>
    /// <param name="timeout">How long to wait.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The transfer in its final state.</returns>
    /// <exception cref="TimeoutException">No final state in time; the message quotes Dino's log.</exception>
    /// <exception cref="XmppTestServerException">sqlite3 failed.</exception>
    public async Task<DinoFileTransfer> WaitForIncomingFileAsync(string fileName, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var stopwatch = Stopwatch.StartNew();
        TimeSpan? notStartedSince = null;
        DinoFileTransfer? last = null;
        while (stopwatch.Elapsed < timeout)
        {
            last = await FindIncomingFileAsync(fileName, cancellationToken).ConfigureAwait(false);
            switch (last?.State)
            {
                case DinoFileState.Complete when last.Path is { } path && File.Exists(path) && new FileInfo(path).Length == last.Size:
                    Log($"{fileName}: complete via {last.Provider} after {stopwatch.Elapsed.TotalSeconds:0.000} s");
                    return last;
                case DinoFileState.Failed:
                    Log($"{fileName}: failed via {last.Provider} after {stopwatch.Elapsed.TotalSeconds:0.000} s");
                    return last;
                case DinoFileState.NotStarted:
                    notStartedSince ??= stopwatch.Elapsed;
                    if (stopwatch.Elapsed - notStartedSince > NotStartedGrace)
                    {
                        return last;
                    }

                    break;
                default:
                    notStartedSince = null;
                    break;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken).ConfigureAwait(false);
        }

        throw new TimeoutException($"Dino recorded no final state for {fileName} within {timeout.TotalSeconds:0} s (last: {last?.ToString() ?? "no row"}).\n{Diagnostics()}");
    }

    /// <summary>
    /// Waits until Dino has a conversation with <paramref name="contact"/>. Dino 0.4.2 silently ignores Jingle file offers
    /// from a contact without one (<c>JingleFileProvider</c> drops the offer when <c>get_conversation</c> returns null),
    /// even a roster contact: send a chat message first, which opens it.
    /// </summary>
    /// <param name="contact">The contact (reduced to its bare JID).</param>
    /// <param name="timeout">How long to wait.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <exception cref="TimeoutException">No conversation in time; the message quotes Dino's log.</exception>
    public async Task WaitForConversationAsync(Jid contact, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(contact);
        var sql = $"SELECT count(*) FROM conversation c JOIN jid j ON c.jid_id = j.id WHERE j.bare_jid = {SqlText(contact.Bare.ToString())};";
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await WaitForQueryAsync(sql, output => output.Trim() is { Length: > 0 } n && n != "0", deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"Dino opened no conversation with {contact.Bare} within {timeout.TotalSeconds:0} s.\n{Diagnostics()}");
        }
    }

    /// <summary>The lines of Dino's own log (GLib debug output) that contain <paramref name="text"/>.</summary>
    /// <param name="text">What to look for (ordinal).</param>
    public IReadOnlyList<string> LogLines(string text)
    {
        lock (_logLock)
        {
            if (!_logClosed)
            {
                _dinoLog.Flush();
            }
        }

        using var reader = new StreamReader(new FileStream(_instance.File("dino.log"), FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
        var lines = new List<string>();
        while (reader.ReadLine() is { } line)
        {
            if (line.Contains(text, StringComparison.Ordinal) && lines.Count < 1000)
            {
                lines.Add(line);
            }
        }

        return lines;
    }

    /// <summary>Dino's warnings, the tail of its log and of the harness log, for failure messages.</summary>
    public string Diagnostics()
    {
        var text = new StringBuilder();
        text.Append("--- Dino ").Append(Jid).Append(" in ").Append(DirectoryPath).Append(" ---\n");
        text.Append("dino: ").Append(_dino is { HasExited: false } ? "running" : "not running").Append('\n');
        foreach (var line in LogLines("WARNING").Take(20))
        {
            text.Append(line).Append('\n');
        }

        foreach (var log in (ReadOnlySpan<string>)["dino.log", "harness.log"])
        {
            text.Append("--- ").Append(log).Append(" (tail) ---\n").Append(Tail(_instance.File(log), 25)).Append('\n');
        }

        return text.ToString();
    }

    /// <summary>Kills Dino, the bus and the X server, stops the relay and deletes the folder (kept when PARLEY_KEEP_SERVERS=1).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        StopDino();
        foreach (var process in new[] { _bus, _xvfb })
        {
            if (process is not null)
            {
                // SIGTERM first: Xvfb then removes its lock file and socket.
                process.Signal(Posix.SigTerm);
                using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(3));
                try
                {
                    await process.WaitForExitAsync(grace.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    process.KillTree(TimeSpan.FromSeconds(10));
                }

                process.Dispose();
            }
        }

        if (_xvfb is not null)
        {
            RemoveDisplayLeftovers(_display, _xvfb.Id);
        }

        if (_relay is not null)
        {
            await _relay.DisposeAsync().ConfigureAwait(false);
        }

        lock (_logLock)
        {
            _logClosed = true;
            _log.Dispose();
            _dinoLog.Dispose();
        }

        _instance.Release();
    }

    private async Task LaunchAsync(XmppTestServer server, TestAccount account, CancellationToken cancellationToken)
    {
        _relay = TcpRelay.StartOnRandomLoopback(DinoPort, new IPEndPoint(IPAddress.Parse(server.Host), server.ClientPort), Log);
        var address = _relay.LocalEndPoint.Address.ToString();
        Log($"relay {address}:{DinoPort} -> {server.Host}:{server.ClientPort}");
        WriteNamespaceFiles(server, address);

        await StartXvfbAsync(cancellationToken).ConfigureAwait(false);
        (_bus, var busReady) = await SessionBus.StartAsync(BusAddress, Log, cancellationToken).ConfigureAwait(false);
        await WaitAsync(busReady, _bus, "dbus-daemon to listen", TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);

        // First start: Dino creates its database; the account row can only be written while it is stopped.
        await StartDinoAsync(cancellationToken).ConfigureAwait(false);
        await WaitAsync(WaitForQueryAsync("SELECT count(*) FROM account;", _ => true, cancellationToken), _dino!, "Dino to create dino.db", TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);
        StopDino();
        var insert = $"INSERT INTO account (bare_jid, resourcepart, password, alias, enabled) VALUES ({SqlText(account.Jid.Bare.ToString())}, {SqlText(Jid.Resource!)}, {SqlText(account.Password)}, {SqlText(account.Localpart)}, 1);";
        await CommandRunner.RunCheckedAsync(Sqlite(insert, readOnly: false) with { Display = "sqlite3 dino.db (insert account)" }, TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);

        var stopwatch = Stopwatch.StartNew();
        await StartDinoAsync(cancellationToken).ConfigureAwait(false);
        _instance.RecordProcesses([_xvfb!.Identity, _bus.Identity, _dino!.Identity]);
        await WaitAsync(WaitForQueryAsync("SELECT count(*) FROM roster;", output => output.Trim() is { Length: > 0 } n && n != "0", cancellationToken),
            _dino, $"Dino to log in as {Jid} and store its roster", LoginTimeout, cancellationToken).ConfigureAwait(false);
        LoginTime = stopwatch.Elapsed;
        Log($"logged in after {LoginTime.TotalSeconds:0.000} s (relay connections: {_relay.Accepted})");
    }

    private void WriteNamespaceFiles(XmppTestServer server, string address)
    {
        var etc = Directory.CreateDirectory(_instance.File("etc")).FullName;
        var domain = server.Domain;
        File.WriteAllText(Path.Combine(etc, "hosts"), $"127.0.0.1 localhost\n{address} {domain} {server.UploadJid} {server.ProxyJid}\n");

        // Nothing listens on port 53 of that address: the SRV lookup is refused at once and Dino falls back to port 5222.
        File.WriteAllText(Path.Combine(etc, "resolv.conf"), $"nameserver {address}\noptions timeout:1 attempts:1\n");
        var bundle = new StringBuilder(File.ReadAllText(SystemCaBundle));
        bundle.Append('\n').Append(File.ReadAllText(server.CertificatePemPath));
        File.WriteAllText(Path.Combine(etc, "ca-certificates.crt"), bundle.ToString());

        foreach (var folder in (ReadOnlySpan<string>)["home/.local/share", "home/.config", "home/.cache", "tmp"])
        {
            Directory.CreateDirectory(_instance.File(folder));
        }

        // XDG_RUNTIME_DIR must be private to its user (InstanceDirectory already refused anything but Linux).
        _ = OperatingSystem.IsLinux() ? Directory.CreateDirectory(_instance.File("run"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute) : null;
    }

    private async Task StartXvfbAsync(CancellationToken cancellationToken)
    {
        var authority = _instance.File("Xauthority");
        for (var attempt = 0; attempt < 10; attempt++)
        {
            var display = Random.Shared.Next(200, 30000);
            if (File.Exists($"/tmp/.X{display}-lock") || File.Exists($"/tmp/.X11-unix/X{display}"))
            {
                continue;
            }

            var cookie = RandomNumberGenerator.GetHexString(32, lowercase: true);
            await CommandRunner.RunCheckedAsync(new LaunchSpec("xauth", ["-f", authority, "add", $":{display}", ".", cookie]) { Display = "xauth add" }, TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
            var xvfb = await ChildProcess.StartAsync(
                new LaunchSpec("Xvfb", [$":{display}", "-screen", "0", "1280x800x24", "-nolisten", "tcp", "-auth", authority]),
                line => Log("Xvfb: " + line),
                cancellationToken).ConfigureAwait(false);
            var socket = $"/tmp/.X11-unix/X{display}";
            var stopwatch = Stopwatch.StartNew();
            while (!xvfb.HasExited && !File.Exists(socket) && stopwatch.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(TimeSpan.FromMilliseconds(20), cancellationToken).ConfigureAwait(false);
            }

            if (!xvfb.HasExited && File.Exists(socket))
            {
                _xvfb = xvfb;
                _display = display;
                Log($"Xvfb :{display} ready after {stopwatch.Elapsed.TotalSeconds:0.000} s");
                return;
            }

            // Taken by another X server meanwhile, or it failed: try another number.
            xvfb.KillTree(TimeSpan.FromSeconds(5));
            xvfb.Dispose();
        }

        throw new DinoClientException($"Xvfb did not start on any display.\n{Diagnostics()}");
    }

    private async Task StartDinoAsync(CancellationToken cancellationToken)
    {
        var etc = _instance.File("etc");
        var environment = new Dictionary<string, string>
        {
            ["HOME"] = _instance.File("home"),
            ["XDG_DATA_HOME"] = _instance.File("home/.local/share"),
            ["XDG_CONFIG_HOME"] = _instance.File("home/.config"),
            ["XDG_CACHE_HOME"] = _instance.File("home/.cache"),
            ["XDG_RUNTIME_DIR"] = _instance.File("run"),
            ["TMPDIR"] = _instance.File("tmp"),
            ["DISPLAY"] = string.Create(CultureInfo.InvariantCulture, $":{_display}"),
            ["XAUTHORITY"] = _instance.File("Xauthority"),
            ["DBUS_SESSION_BUS_ADDRESS"] = BusAddress,
            ["GSK_RENDERER"] = "cairo",
            ["NO_AT_BRIDGE"] = "1",
            ["GTK_A11Y"] = "none",
            ["G_MESSAGES_DEBUG"] = "all",
            ["LC_ALL"] = "C.UTF-8",
        };

        // unshare and sh exec, so Dino keeps the parent-death signal and is the process we hold.
        var script = $"mount --bind {ShellQuote(Path.Combine(etc, "hosts"))} /etc/hosts"
            + $" && mount --bind {ShellQuote(Path.Combine(etc, "resolv.conf"))} /etc/resolv.conf"
            + $" && mount --bind {ShellQuote(Path.Combine(etc, "ca-certificates.crt"))} {SystemCaBundle}"
            + " && exec dino-im";
        _dino = await ChildProcess.StartAsync(
            new LaunchSpec("unshare", ["--mount", "--propagation", "private", "--", "sh", "-c", script]) { Environment = environment, WorkingDirectory = _instance.File("home") },
            OnDinoLine,
            cancellationToken).ConfigureAwait(false);
        Log($"dino-im started (pid {_dino.Id})");
    }

    private void StopDino()
    {
        if (_dino is not { } dino)
        {
            return;
        }

        _dino = null;
        dino.Signal(Posix.SigTerm);
        if (!dino.WaitForExitAsync(CancellationToken.None).Wait(TimeSpan.FromSeconds(5)))
        {
            dino.KillTree(TimeSpan.FromSeconds(10));
        }

        Log($"dino-im stopped (exit {dino.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "?"})");
        dino.Dispose();
    }

    private async Task WaitForQueryAsync(string sql, Func<string, bool> done, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (File.Exists(Database))
            {
                var result = await CommandRunner.RunAsync(Sqlite(sql, readOnly: true), TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
                if (result.ExitCode == 0 && done(result.Output))
                {
                    return;
                }
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task WaitAsync(Task ready, ChildProcess process, string what, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var exited = process.WaitForExitAsync(deadline.Token);
        try
        {
            if (await Task.WhenAny(ready, exited).WaitAsync(deadline.Token).ConfigureAwait(false) == ready)
            {
                await ready.ConfigureAwait(false);
                return;
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new DinoClientException($"Timed out after {timeout.TotalSeconds:0} s waiting for {what}.\n{Diagnostics()}");
        }

        throw new DinoClientException($"Exited (code {process.ExitCode}) while waiting for {what}.\n{Diagnostics()}");
    }

    private LaunchSpec Sqlite(string sql, bool readOnly) =>
        new("sqlite3", readOnly ? ["-readonly", "-cmd", ".timeout 2000", Database, sql] : ["-cmd", ".timeout 5000", Database, sql]) { Display = "sqlite3 dino.db" };

    private void OnDinoLine(string line)
    {
        lock (_logLock)
        {
            if (!_logClosed)
            {
                _dinoLog.WriteLine(line);
            }
        }
    }

    private void Log(string line)
    {
        lock (_logLock)
        {
            if (!_logClosed)
            {
                _log.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {line}");
            }
        }
    }

    private static void RemoveDisplayLeftovers(int display, int pid)
    {
        var lockFile = $"/tmp/.X{display}-lock";
        try
        {
            // Only what our Xvfb left (killed before it could clean up).
            if (File.Exists(lockFile) && int.TryParse(File.ReadAllText(lockFile).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var owner) && owner == pid)
            {
                File.Delete($"/tmp/.X11-unix/X{display}");
                File.Delete(lockFile);
            }
        }
        catch (IOException)
        {
            // Gone meanwhile.
        }
    }

    private const string SystemCaBundle = "/etc/ssl/certs/ca-certificates.crt";

    private static string SqlText(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";

    private static string ShellQuote(string value) => "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    private static string? FindProgram(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/sbin", "/sbin"]).Select(dir => Path.Combine(dir, name)).FirstOrDefault(File.Exists);

    private static string Tail(string path, int lines)
    {
        try
        {
            using var reader = new StreamReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
            var queue = new Queue<string>();
            while (reader.ReadLine() is { } line)
            {
                queue.Enqueue(line.Length > 400 ? line[..400] + "…" : line);
                if (queue.Count > lines)
                {
                    queue.Dequeue();
                }
            }

            return string.Join('\n', queue);
        }
        catch (IOException e)
        {
            return "(unreadable: " + e.Message + ")";
        }
    }

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$")]
    private static partial Regex ResourcePattern();
}
