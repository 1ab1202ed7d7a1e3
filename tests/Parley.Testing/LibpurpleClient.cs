using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Parley.Testing.Internal;
using Parley.Xmpp.Core;

namespace Parley.Testing;

/// <summary>
/// A real libpurple 2.14 client (Pidgin's engine; Debian <c>finch</c>) logged in to a test server, for interop tests:
/// receives files into <see cref="DownloadDirectory"/> through its autoaccept plugin and sends files on request.
/// </summary>
/// <remarks>
/// <para>
/// Each instance has its own folder (profile, downloads, logs) under the harness root, its own D-Bus session bus
/// (<c>dbus-daemon</c>), a <c>dbus-monitor</c> that records libpurple's file-transfer signals, and its own tmux server
/// (finch needs a terminal) started in the foreground, so every process is a child of the test host with a parent-death
/// signal. The process ids are recorded like the servers', so a later run kills what a crashed one left.
/// finch runs without <c>-d</c>: its debug window re-renders on every line and slows in-band transfers a hundredfold.
/// </para>
/// <para>
/// Network: libpurple advertises its own streamhost at its <c>public_ip</c> preference (set to 127.0.0.1, with
/// automatic detection, UPnP and STUN off) first, then at every non-loopback address of the machine. Receivers try
/// streamhosts in order, so the loopback one is used; no network namespace (which would need the server and the test
/// host inside it too) is needed.
/// </para>
/// </remarks>
public sealed partial class LibpurpleClient : IAsyncDisposable
{
    private const string PurpleInterface = "im.pidgin.purple.PurpleInterface";
    private const int MaxSignals = 10_000;
    private static readonly string[] s_signals =
        ["FileRecvRequest", "FileRecvStart", "FileRecvComplete", "FileRecvCancel", "FileSendStart", "FileSendComplete", "FileSendCancel"];

    private readonly InstanceDirectory _instance;
    private readonly Lock _signalLock = new();
    private readonly List<PurpleSignal> _signals = [];
    private readonly Dictionary<string, int> _consumed = [];
    private readonly StreamWriter _log;
    private readonly Lock _logLock = new();
    private TaskCompletionSource _signalArrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ChildProcess? _bus;
    private ChildProcess? _monitor;
    private ChildProcess? _tmux;
    private TaskCompletionSource? _monitorReady;
    private int _connection;
    private int _disposed;
    private bool _logClosed;

    private LibpurpleClient(InstanceDirectory instance, Jid jid)
    {
        _instance = instance;
        Jid = jid;
        _log = new StreamWriter(new FileStream(instance.File("harness.log"), FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
    }

    /// <summary>The account's full JID (with the resource libpurple binds).</summary>
    public Jid Jid { get; }

    /// <summary>Where the autoaccept plugin saves received files (under their offered names).</summary>
    public string DownloadDirectory => _instance.File("downloads");

    /// <summary>The instance folder: profile (<c>purple/</c>), downloads, logs.</summary>
    public string DirectoryPath => _instance.Path;

    /// <summary>The port libpurple's own SOCKS5 streamhost listens on when it sends a file.</summary>
    public int StreamhostPort { get; private set; }

    /// <summary>How long finch took from start until its account was connected.</summary>
    public TimeSpan LoginTime { get; private set; }

    private string BusAddress => "unix:path=" + _instance.File("bus");

    private string TmuxSocket => _instance.File("tmux.sock");

    private string ConfigDirectory => _instance.File("purple");

    /// <summary>
    /// Writes a profile for <paramref name="account"/> (server certificate pinned, autoaccept plugin on, files from
    /// <paramref name="autoAcceptFrom"/> and from strangers accepted without asking), starts finch and waits until the
    /// account is connected. Seed the roster items on the server before, so libpurple finds them at login.
    /// </summary>
    /// <param name="server">The running test server to log in to (c2s port, STARTTLS required by the client).</param>
    /// <param name="account">The account libpurple logs in with.</param>
    /// <param name="autoAcceptFrom">Bare JIDs put on libpurple's buddy list with auto-accept on.</param>
    /// <param name="resource">The resource libpurple binds.</param>
    /// <param name="cancellationToken">Cancels the start (everything started so far is killed).</param>
    /// <returns>The connected client.</returns>
    /// <exception cref="LibpurpleClientException">finch, tmux or dbus is missing, or finch did not connect; the message quotes its screen and logs.</exception>
    /// <exception cref="XmppTestServerException">A helper program could not be started.</exception>
    /// <exception cref="ArgumentException">The resource is not usable.</exception>
    public static async Task<LibpurpleClient> StartAsync(XmppTestServer server, TestAccount account, IEnumerable<Jid> autoAcceptFrom, string resource = "finch", CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(account);
        ArgumentNullException.ThrowIfNull(autoAcceptFrom);
        if (!ResourcePattern().IsMatch(resource))
        {
            throw new ArgumentException($"'{resource}' is not a usable resource (ASCII letters, digits, '.', '_', '-', at most 64).", nameof(resource));
        }

        foreach (var program in (ReadOnlySpan<string>)["finch", "tmux", "dbus-daemon", "dbus-monitor", "purple-send"])
        {
            if (FindProgram(program) is null)
            {
                throw new LibpurpleClientException($"{program} is not installed (scripts/install-deps.sh test installs finch, libpurple-bin, tmux and dbus).");
            }
        }

        var plugin = FindAutoAcceptPlugin()
            ?? throw new LibpurpleClientException("libpurple's autoaccept plugin (purple-2/autoaccept.so) is not installed (Debian package libpurple0).");
        var client = new LibpurpleClient(InstanceDirectory.Create("libpurple"), account.Jid.WithResource(resource));
        try
        {
            await client.LaunchAsync(server, account, [.. autoAcceptFrom.Select(j => j.Bare)], plugin, cancellationToken).ConfigureAwait(false);
            return client;
        }
        catch
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Asks libpurple to send a file (D-Bus <c>ServSendFile</c>); it offers SI with SOCKS5 and in-band bytestreams.</summary>
    /// <param name="to">The receiver's full JID; libpurple must see it online (roster subscription and presence).</param>
    /// <param name="path">The file to send (absolute).</param>
    /// <param name="cancellationToken">Stops waiting for the call.</param>
    /// <exception cref="LibpurpleClientException">The call failed.</exception>
    public async Task SendFileAsync(Jid to, string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(to);
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!Path.IsPathFullyQualified(path))
        {
            throw new ArgumentException("libpurple needs an absolute path.", nameof(path));
        }

        await CallAsync("ServSendFile", [Int(_connection), Text(to.ToString()), Text(path)], cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends a chat message as the user would: opens an IM conversation (D-Bus <c>PurpleConversationNew</c>) and sends in it (<c>PurpleConvImSend</c>).</summary>
    /// <param name="to">The receiver (bare or full JID).</param>
    /// <param name="text">The message; libpurple treats it as HTML, so plain text without markup arrives unchanged.</param>
    /// <param name="cancellationToken">Stops waiting for the calls.</param>
    /// <exception cref="LibpurpleClientException">A call failed.</exception>
    public async Task SendMessageAsync(Jid to, string text, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(to);
        ArgumentException.ThrowIfNullOrEmpty(text);
        const int ImConversation = 1; // PURPLE_CONV_TYPE_IM
        var account = await FindConnectedAccountAsync(cancellationToken).ConfigureAwait(false);
        var conversation = ParseInt(await CallAsync("PurpleConversationNew", [Int(ImConversation), Int(account), Text(to.ToString())], cancellationToken).ConfigureAwait(false));
        var im = ParseInt(await CallAsync("PurpleConvIm", [Int(conversation)], cancellationToken).ConfigureAwait(false));
        await CallAsync("PurpleConvImSend", [Int(im), Text(text)], cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Whether libpurple sees the contact online (any resource), through its buddy list.</summary>
    /// <param name="contact">The contact; a full JID is reduced to its bare JID.</param>
    /// <param name="cancellationToken">Stops waiting for the calls.</param>
    /// <exception cref="LibpurpleClientException">A call failed.</exception>
    public async Task<bool> IsOnlineAsync(Jid contact, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(contact);
        var account = await FindConnectedAccountAsync(cancellationToken).ConfigureAwait(false);
        var buddy = ParseInt(await CallAsync("PurpleFindBuddy", [Int(account), Text(contact.Bare.ToString())], cancellationToken).ConfigureAwait(false));
        if (buddy == 0)
        {
            return false;
        }

        var presence = ParseInt(await CallAsync("PurpleBuddyGetPresence", [Int(buddy)], cancellationToken).ConfigureAwait(false));
        return ParseInt(await CallAsync("PurplePresenceIsOnline", [Int(presence)], cancellationToken).ConfigureAwait(false)) != 0;
    }

    /// <summary>Waits until libpurple sees the contact online.</summary>
    /// <param name="contact">The contact.</param>
    /// <param name="timeout">How long to wait.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <exception cref="TimeoutException">Not online in time; the message quotes the client's state.</exception>
    public async Task WaitUntilOnlineAsync(Jid contact, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var stopwatch = Stopwatch.StartNew();
        while (!await IsOnlineAsync(contact, cancellationToken).ConfigureAwait(false))
        {
            if (stopwatch.Elapsed > timeout)
            {
                throw new TimeoutException($"libpurple did not see {contact} online within {timeout.TotalSeconds:0} s.\n{Diagnostics()}");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Waits until libpurple reported a received file complete (D-Bus signal <c>FileRecvComplete</c>) and the file in
    /// <see cref="DownloadDirectory"/> has its full size, and returns its path. Fails at once when libpurple cancels a
    /// receive (<c>FileRecvCancel</c>). Each call consumes one signal: the second call waits for the second file.
    /// </summary>
    /// <param name="fileName">The name the file is saved under.</param>
    /// <param name="size">Its expected size.</param>
    /// <param name="timeout">How long to wait.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <exception cref="LibpurpleClientException">libpurple cancelled the transfer.</exception>
    /// <exception cref="TimeoutException">Not complete in time; the message quotes the client's state.</exception>
    public async Task<string> WaitForReceivedFileAsync(string fileName, long size, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(fileName);
        var path = Path.Combine(DownloadDirectory, fileName);
        await WaitForSignalAsync("FileRecvComplete", "FileRecvCancel", timeout, cancellationToken).ConfigureAwait(false);

        // The signal is emitted before libpurple closes the file; wait for the last buffered bytes.
        var stopwatch = Stopwatch.StartNew();
        while (!File.Exists(path) || new FileInfo(path).Length != size)
        {
            if (stopwatch.Elapsed > TimeSpan.FromSeconds(10))
            {
                var found = Directory.Exists(DownloadDirectory)
                    ? string.Join(", ", new DirectoryInfo(DownloadDirectory).GetFiles().Select(f => $"'{f.Name}' ({f.Length} bytes)"))
                    : "no download folder";
                throw new TimeoutException($"libpurple reported the file complete, but {path} does not have {size} bytes; found: {found}.\n{Diagnostics()}");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(20), cancellationToken).ConfigureAwait(false);
        }

        return path;
    }

    /// <summary>Waits until libpurple reported a sent file complete (<c>FileSendComplete</c>); fails at once on <c>FileSendCancel</c>. Each call consumes one signal.</summary>
    /// <param name="timeout">How long to wait.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <exception cref="LibpurpleClientException">libpurple cancelled the transfer.</exception>
    /// <exception cref="TimeoutException">Not complete in time.</exception>
    public Task WaitForSentFileAsync(TimeSpan timeout, CancellationToken cancellationToken = default) =>
        WaitForSignalAsync("FileSendComplete", "FileSendCancel", timeout, cancellationToken);

    /// <summary>The file-transfer signals libpurple emitted so far, in order (e.g. <c>FileRecvComplete</c>).</summary>
    public IReadOnlyList<string> Signals
    {
        get
        {
            lock (_signalLock)
            {
                return [.. _signals.Select(s => s.Member)];
            }
        }
    }

    /// <summary>What finch shows on its screen, its stderr, the signals seen and the harness log, for failure messages.</summary>
    public string Diagnostics()
    {
        var text = new StringBuilder();
        text.Append("--- libpurple client ").Append(Jid).Append(" in ").Append(DirectoryPath).Append(" ---\n");
        text.Append("signals: ").Append(string.Join(", ", Signals)).Append('\n');
        if (_tmux is { HasExited: false })
        {
            try
            {
                // Synchronous on purpose: diagnostics are built inside exception messages.
                var screen = CommandRunner.RunAsync(Tmux(["capture-pane", "-p", "-t", "finch"]), TimeSpan.FromSeconds(10), CancellationToken.None).GetAwaiter().GetResult();
                text.Append("--- finch screen ---\n").Append(screen.Output.TrimEnd()).Append('\n');
            }
            catch (XmppTestServerException e)
            {
                text.Append("(no screen: ").Append(e.Message).Append(")\n");
            }
        }

        foreach (var log in (ReadOnlySpan<string>)["finch-stderr.log", "harness.log"])
        {
            text.Append("--- ").Append(log).Append(" ---\n").Append(Tail(_instance.File(log), 30)).Append('\n');
        }

        return text.ToString();
    }

    /// <summary>Kills finch, the tmux server and the bus, and deletes the folder (kept when PARLEY_KEEP_SERVERS=1).</summary>
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return ValueTask.CompletedTask;
        }

        foreach (var process in new[] { _tmux, _monitor, _bus })
        {
            if (process is not null)
            {
                process.KillTree(TimeSpan.FromSeconds(10));
                process.Dispose();
            }
        }

        lock (_logLock)
        {
            _logClosed = true;
            _log.Dispose();
        }

        _instance.Release();
        return ValueTask.CompletedTask;
    }

    private async Task LaunchAsync(XmppTestServer server, TestAccount account, IReadOnlyList<Jid> buddies, string plugin, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(DownloadDirectory);
        StreamhostPort = FreePorts.Allocate(1)[0];
        PurpleProfile.Write(ConfigDirectory, new PurpleProfileSettings(
            Jid, account.Password, server.Host, server.ClientPort, server.ProxyJid, server.CertificatePemPath, buddies,
            DownloadDirectory, PublicAddress: "127.0.0.1", StreamhostPort, plugin));

        // The private session bus: libpurple registers im.pidgin.purple.PurpleService on it.
        (_bus, var busReady) = await SessionBus.StartAsync(BusAddress, Log, cancellationToken).ConfigureAwait(false);
        await WaitAsync(busReady, _bus, "dbus-daemon to listen", cancellationToken).ConfigureAwait(false);

        // Monitors lose every bus name at once: the NameLost signal says the match rules are in place.
        _monitorReady = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var rules = s_signals.Select(member => $"type='signal',interface='{PurpleInterface}',member='{member}'")
            .Append("type='signal',sender='org.freedesktop.DBus',member='NameLost'");
        _monitor = await ChildProcess.StartAsync(new LaunchSpec("dbus-monitor", ["--address", BusAddress, .. rules]), OnMonitorLine, cancellationToken).ConfigureAwait(false);
        await WaitAsync(_monitorReady.Task, _monitor, "dbus-monitor to subscribe", cancellationToken).ConfigureAwait(false);

        // finch needs a terminal: a private tmux server in the foreground (-D), so it is our child.
        _tmux = await ChildProcess.StartAsync(Tmux(["-D"]), line => Log("tmux: " + line), cancellationToken).ConfigureAwait(false);
        await WaitAsync(WaitForFileAsync(TmuxSocket, cancellationToken), _tmux, "tmux to listen", cancellationToken).ConfigureAwait(false);
        var environment = new Dictionary<string, string>
        {
            ["HOME"] = _instance.Path,
            ["DBUS_SESSION_BUS_ADDRESS"] = BusAddress,
            ["TERM"] = "xterm-256color",
            ["LC_ALL"] = "C.UTF-8", // the roster's default group is the translated "Buddies"
            ["TMPDIR"] = _instance.Path,
        };
        var finch = "exec env " + string.Join(' ', environment.Select(e => $"{e.Key}={ShellQuote(e.Value)}"))
            + $" finch -c {ShellQuote(ConfigDirectory)} 2>>{ShellQuote(_instance.File("finch-stderr.log"))}";
        var stopwatch = Stopwatch.StartNew();
        await CommandRunner.RunCheckedAsync(Tmux(["new-session", "-d", "-s", "finch", "-x", "200", "-y", "50", finch]), TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
        var panes = await CommandRunner.RunCheckedAsync(Tmux(["list-panes", "-t", "finch", "-F", "#{pane_pid}"]), TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
        var finchPid = int.Parse(panes.Trim(), NumberStyles.None, CultureInfo.InvariantCulture);
        _instance.RecordProcesses([_bus.Identity, _monitor.Identity, _tmux.Identity, .. ProcessTree.Descendants(_tmux.Id)]);
        Log($"finch started (pid {finchPid}), waiting for the account to connect");

        var accountId = 0;
        while (accountId == 0)
        {
            if (!(ProcessTree.Identify(finchPid)?.IsAlive ?? false))
            {
                throw new LibpurpleClientException($"finch exited before its account connected.\n{Diagnostics()}");
            }

            if (stopwatch.Elapsed > TimeSpan.FromSeconds(60))
            {
                throw new LibpurpleClientException($"finch did not connect {Jid} within 60 s.\n{Diagnostics()}");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50), cancellationToken).ConfigureAwait(false);
            accountId = await FindConnectedAccountAsync(cancellationToken, quiet: true).ConfigureAwait(false);
        }

        LoginTime = stopwatch.Elapsed;
        _connection = ParseInt(await CallAsync("PurpleAccountGetConnection", [Int(accountId)], cancellationToken).ConfigureAwait(false));
        Log($"connected after {LoginTime.TotalSeconds:0.000} s (account {accountId}, connection {_connection})");
    }

    private async Task<int> FindConnectedAccountAsync(CancellationToken cancellationToken, bool quiet = false)
    {
        var spec = PurpleSend("PurpleAccountsFindConnected", ["string:", "string:prpl-jabber"]);
        var result = await CommandRunner.RunAsync(spec, TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            // Before libpurple registered its service name the bus answers ServiceUnknown.
            return quiet ? 0 : throw new LibpurpleClientException($"purple-send PurpleAccountsFindConnected failed:\n{result.Output}");
        }

        return ParseInt(result.Output);
    }

    private async Task<string> CallAsync(string method, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var result = await CommandRunner.RunAsync(PurpleSend(method, arguments), TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw new LibpurpleClientException($"purple-send {method} failed (exit {result.ExitCode}):\n{result.Output}\n{Diagnostics()}");
        }

        return result.Output;
    }

    /// <summary>
    /// Waits for the next <paramref name="success"/> signal not yet consumed by an earlier wait of the same kind, and
    /// consumes it; throws on an unconsumed <paramref name="failure"/> signal.
    /// </summary>
    private async Task WaitForSignalAsync(string success, string failure, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        while (true)
        {
            Task arrived;
            string? cancelled = null;
            lock (_signalLock)
            {
                var failures = _signals.Where(s => s.Member == failure).ToList();
                var consumedFailures = _consumed.GetValueOrDefault(failure);
                if (failures.Count > consumedFailures)
                {
                    _consumed[failure] = consumedFailures + 1;
                    cancelled = failures[consumedFailures].ToString();
                }

                var consumed = _consumed.GetValueOrDefault(success);
                if (cancelled is null && _signals.Count(s => s.Member == success) > consumed)
                {
                    _consumed[success] = consumed + 1;
                    return;
                }

                arrived = _signalArrived.Task;
            }

            if (cancelled is not null)
            {
                throw new LibpurpleClientException($"libpurple cancelled the transfer ({cancelled}).\n{Diagnostics()}");
            }

            try
            {
                await arrived.WaitAsync(deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"libpurple did not signal {success} within {timeout.TotalSeconds:0} s.\n{Diagnostics()}");
            }
        }
    }

    private void OnMonitorLine(string line)
    {
        // dbus-monitor prints "signal time=… member=FileRecvComplete" and then one indented line per argument.
        if (line.StartsWith("signal ", StringComparison.Ordinal))
        {
            var member = MemberPattern().Match(line) is { Success: true } m ? m.Groups[1].Value : "?";
            if (member is "NameLost" or "NameAcquired")
            {
                if (member == "NameLost")
                {
                    _monitorReady?.TrySetResult();
                }

                return;
            }

            TaskCompletionSource arrived;
            lock (_signalLock)
            {
                if (_signals.Count >= MaxSignals)
                {
                    return;
                }

                _signals.Add(new PurpleSignal(member, []));
                arrived = _signalArrived;
                _signalArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            Log("signal " + member);
            arrived.TrySetResult();
        }
        else if (line.StartsWith(' '))
        {
            lock (_signalLock)
            {
                if (_signals.Count > 0 && _signals[^1].Arguments.Count < 16)
                {
                    _signals[^1].Arguments.Add(line.Trim());
                }
            }
        }
    }

    private async Task WaitAsync(Task ready, ChildProcess process, string what, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        var exited = process.WaitForExitAsync(timeout.Token);
        try
        {
            if (await Task.WhenAny(ready, exited).WaitAsync(timeout.Token).ConfigureAwait(false) == ready)
            {
                return;
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new LibpurpleClientException($"Timed out waiting for {what}.\n{Diagnostics()}");
        }

        throw new LibpurpleClientException($"Exited (code {process.ExitCode}) while waiting for {what}.\n{Diagnostics()}");
    }

    private static async Task WaitForFileAsync(string path, CancellationToken cancellationToken)
    {
        while (!File.Exists(path))
        {
            await Task.Delay(TimeSpan.FromMilliseconds(20), cancellationToken).ConfigureAwait(false);
        }
    }

    private LaunchSpec Tmux(IReadOnlyList<string> arguments) =>
        new("tmux", ["-S", TmuxSocket, "-f", "/dev/null", .. arguments])
        {
            Environment = new Dictionary<string, string> { ["TERM"] = "xterm-256color" },
        };

    private LaunchSpec PurpleSend(string method, IReadOnlyList<string> arguments) =>
        new("purple-send", [method, .. arguments])
        {
            Environment = new Dictionary<string, string> { ["DBUS_SESSION_BUS_ADDRESS"] = BusAddress },
        };

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

    private static string Int(int value) => "int32:" + value.ToString(CultureInfo.InvariantCulture);

    private static string Text(string value) => "string:" + value;

    /// <summary>The first <c>int32 N</c> of a purple-send reply.</summary>
    private static int ParseInt(string reply) =>
        Int32Pattern().Match(reply) is { Success: true } m ? int.Parse(m.Groups[1].Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture)
            : throw new LibpurpleClientException($"Unexpected purple-send reply:\n{reply}");

    private static string ShellQuote(string value) => "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    private static string? FindProgram(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name)).FirstOrDefault(File.Exists);

    private static string? FindAutoAcceptPlugin()
    {
        // Debian: /usr/lib/<multiarch triplet>/purple-2/autoaccept.so
        var candidates = new List<string> { "/usr/lib/purple-2/autoaccept.so", "/usr/lib64/purple-2/autoaccept.so" };
        if (Directory.Exists("/usr/lib"))
        {
            candidates.AddRange(Directory.EnumerateDirectories("/usr/lib").Select(dir => Path.Combine(dir, "purple-2", "autoaccept.so")));
        }

        return candidates.FirstOrDefault(File.Exists);
    }

    private static string Tail(string path, int lines)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            const int MaxBytes = 16 * 1024;
            if (stream.Length > MaxBytes)
            {
                stream.Seek(-MaxBytes, SeekOrigin.End);
            }

            using var reader = new StreamReader(stream, Encoding.UTF8);
            return string.Join('\n', reader.ReadToEnd().Split('\n').TakeLast(lines + 1)).TrimEnd();
        }
        catch (IOException e)
        {
            return $"(not readable: {e.Message})";
        }
    }

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$")]
    private static partial Regex ResourcePattern();

    [GeneratedRegex("member=([A-Za-z]+)")]
    private static partial Regex MemberPattern();

    [GeneratedRegex(@"int32 (-?\d+)")]
    private static partial Regex Int32Pattern();

    private sealed record PurpleSignal(string Member, List<string> Arguments)
    {
        public override string ToString() => $"{Member}({string.Join(", ", Arguments)})";
    }
}
