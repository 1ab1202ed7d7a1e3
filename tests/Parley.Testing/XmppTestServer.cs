using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.RegularExpressions;
using Parley.Testing.Internal;
using Parley.Xmpp;
using Parley.Xmpp.Core;

namespace Parley.Testing;

/// <summary>
/// A private XMPP server for integration tests: a child process listening only on 127.0.0.1 on free
/// ports, with its own folder (configuration, data, logs) and its own self-signed certificate.
/// </summary>
/// <remarks>
/// Create one with <see cref="ProsodyServer"/>, <see cref="EjabberdServer"/> or <see cref="Servers.Create"/>,
/// then <see cref="StartAsync"/>. Ports, certificate and data stay the same across stop/start cycles.
/// Disposing kills the process tree and deletes the folder (kept when PARLEY_KEEP_SERVERS=1).
/// Server processes cannot outlive the test process: they get SIGKILL from the kernel when it dies
/// (parent-death signal), are killed at process exit, and leftovers of a crashed run are killed by pid at
/// the next start.
/// </remarks>
public abstract partial class XmppTestServer : IAsyncDisposable
{
    private const int LogTailLines = 40;
    private static readonly ConcurrentDictionary<XmppTestServer, byte> s_live = new();
    private static int s_exitHookInstalled;

    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    private readonly Lock _processLock = new();
    private readonly Lock _consoleLock = new();
    private readonly StreamWriter _console;
    private ChildProcess? _process;
    private ServerPorts? _ports;
    private SelfSignedCertificate? _certificate;
    private bool _started;
    private bool _consoleClosed;
    private int _disposed;
    private int _accounts;

    private protected XmppTestServer(string kind, XmppTestServerOptions? options)
    {
        Kind = kind;
        Options = options ?? new XmppTestServerOptions();
        Domain = Options.Domain ?? $"{kind}.test";
        if (!DomainPattern().IsMatch(Domain))
        {
            throw new ArgumentException($"'{Domain}' is not a usable test domain (lower-case letters, digits, dots, dashes).", nameof(options));
        }

        Instance = InstanceDirectory.Create(kind);
        ComponentSecret = RandomSecret();
        AdminPassword = RandomSecret();
        _console = new StreamWriter(new FileStream(ConsoleLogPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        s_live[this] = 0;
        if (Interlocked.Exchange(ref s_exitHookInstalled, 1) == 0)
        {
            AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAllAtExit();
        }
    }

    /// <summary>Which server this is: <c>"prosody"</c> or <c>"ejabberd"</c> (see <see cref="Servers"/>).</summary>
    public string Kind { get; }

    /// <summary>The XMPP domain served (the virtual host).</summary>
    public string Domain { get; }

    /// <summary>The address every port listens on: always <c>127.0.0.1</c>.</summary>
    public string Host => "127.0.0.1";

    /// <summary>The c2s port (STARTTLS offered).</summary>
    /// <exception cref="InvalidOperationException">The server was never started.</exception>
    public int ClientPort => Ports.Client;

    /// <summary>The c2s port with TLS from the first byte (XEP-0368).</summary>
    /// <exception cref="InvalidOperationException">The server was never started.</exception>
    public int DirectTlsPort => Ports.DirectTls;

    /// <summary>The XEP-0114 external component port.</summary>
    /// <exception cref="InvalidOperationException">The server was never started.</exception>
    public int ComponentPort => Ports.Component;

    /// <summary>The address an external component connects as (<c>component.&lt;domain&gt;</c>).</summary>
    public string ComponentDomain => "component." + Domain;

    /// <summary>The shared secret of the XEP-0114 component.</summary>
    public string ComponentSecret { get; }

    /// <summary>The XEP-0065 SOCKS5 proxy service (<c>proxy.&lt;domain&gt;</c>).</summary>
    public string ProxyJid => "proxy." + Domain;

    /// <summary>The port of the SOCKS5 proxy's streamhost (on <see cref="Host"/>).</summary>
    /// <exception cref="InvalidOperationException">The server was never started.</exception>
    public int ProxyPort => Ports.Proxy;

    /// <summary>The XEP-0363 HTTP upload service (<c>upload.&lt;domain&gt;</c>).</summary>
    public string UploadJid => "upload." + Domain;

    /// <summary>The XEP-0045 group chat service (<c>conference.&lt;domain&gt;</c>); anyone may create rooms.</summary>
    public string MucJid => "conference." + Domain;

    /// <summary>The plain HTTP port (file upload, websocket).</summary>
    /// <exception cref="InvalidOperationException">The server was never started.</exception>
    public int HttpPort => Ports.Http;

    /// <summary>The RFC 7395 websocket endpoint.</summary>
    /// <exception cref="InvalidOperationException">The server was never started.</exception>
    public Uri WebSocketUri => new(string.Create(CultureInfo.InvariantCulture, $"ws://{Host}:{HttpPort}{WebSocketPath}"));

    /// <summary>The server certificate (PEM). Valid for the domain, <c>*.domain</c>, <c>localhost</c> and <c>127.0.0.1</c>; self-signed.</summary>
    /// <exception cref="InvalidOperationException">The server was never started.</exception>
    public string CertificatePemPath => Certificate.CertificatePath;

    /// <summary>SHA-256 of the certificate's DER bytes, lower-case hex: the value a client pins.</summary>
    /// <exception cref="InvalidOperationException">The server was never started.</exception>
    public string CertificateSha256 => Certificate.Sha256;

    /// <summary>The administrator (XEP-0133 service administration), registered at the first start.</summary>
    public string AdminJid => "admin@" + Domain;

    /// <summary>The administrator's password.</summary>
    public string AdminPassword { get; }

    /// <summary>The instance folder (configuration, data, logs, certificate).</summary>
    public string DirectoryPath => Instance.Path;

    /// <summary>The server's own log file.</summary>
    public abstract string LogPath { get; }

    /// <summary>Everything the server process wrote to stdout and stderr.</summary>
    public string ConsoleLogPath => Instance.File("console.log");

    /// <summary>Whether the server process is running.</summary>
    public bool IsRunning
    {
        get
        {
            lock (_processLock)
            {
                return _process is { HasExited: false };
            }
        }
    }

    /// <summary>The settings this server was created with.</summary>
    public XmppTestServerOptions Options { get; }

    private protected InstanceDirectory Instance { get; }

    private protected abstract string WebSocketPath { get; }

    private protected abstract TimeSpan DefaultStartTimeout { get; }

    private protected ServerPorts Ports => _ports ?? throw new InvalidOperationException($"The {Kind} server was never started.");

    private protected SelfSignedCertificate Certificate => _certificate ?? throw new InvalidOperationException($"The {Kind} server was never started.");

    /// <summary>
    /// Starts the server and waits until it answers a stream header with its features and all its ports
    /// accept connections. The first start creates the certificate, configuration and admin account; later
    /// starts (after <see cref="StopAsync"/> or <see cref="Kill"/>) reuse ports and data. Does nothing when running.
    /// </summary>
    /// <exception cref="XmppTestServerException">The server did not become ready in time or exited; the message quotes its log.</exception>
    /// <exception cref="ObjectDisposedException">The server was disposed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        await _lifecycle.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (IsRunning)
            {
                return;
            }

            if (_started)
            {
                await LaunchAsync(cancellationToken).ConfigureAwait(false);
                return;
            }

            _certificate ??= await SelfSignedCertificate.CreateAsync(Instance.Path, Domain, cancellationToken).ConfigureAwait(false);
            for (var attempt = 1; ; attempt++)
            {
                _ports = AllocatePorts();
                try
                {
                    await ConfigureAsync(cancellationToken).ConfigureAwait(false);
                    await LaunchAsync(cancellationToken).ConfigureAwait(false);
                    break;
                }
                catch (XmppTestServerException e) when (e.AddressInUse && attempt < 3)
                {
                    // Another process took one of the ports between allocation and bind: new ports, new config.
                    WriteConsole($"[Parley.Testing] port taken, retrying with new ports (attempt {attempt + 1})");
                }
            }

            try
            {
                await OnFirstStartAsync(cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                Kill(); // Not half-started: the next StartAsync begins from scratch.
                throw;
            }

            _started = true;
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>Stops the server gracefully (SIGTERM) and waits until it exited; SIGKILL after 30 s. Does nothing when not running.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled (the server is then killed).</exception>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        await _lifecycle.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ChildProcess? process;
            lock (_processLock)
            {
                process = _process;
            }

            if (process is null)
            {
                return;
            }

            var descendants = ProcessTree.Descendants(process.Id);
            try
            {
                if (!process.HasExited)
                {
                    Posix.Signal(StopSignalTarget(process, descendants), Posix.SigTerm);
                }

                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(TimeSpan.FromSeconds(30));
                await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                WriteConsole("[Parley.Testing] no exit 30 s after SIGTERM, killing");
            }
            finally
            {
                Kill();
                foreach (var descendant in descendants.Where(d => d.IsAlive))
                {
                    Posix.Signal(descendant.Pid, Posix.SigKill);
                }
            }
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>Kills the server's process tree at once (SIGKILL), for fault tests; <see cref="StartAsync"/> can start it again.</summary>
    public void Kill()
    {
        ChildProcess? process;
        lock (_processLock)
        {
            process = _process;
            _process = null;
        }

        if (process is not null)
        {
            process.KillTree(TimeSpan.FromSeconds(10));
            process.Dispose();
        }
    }

    /// <summary>
    /// Freezes the server's process tree (SIGSTOP), for fault tests: its sockets stay open and accept bytes into their
    /// buffers, but nothing is read, answered or routed until <see cref="Resume"/> or <see cref="Kill"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The server is not running.</exception>
    public void Suspend() => SignalTree(Posix.SigStop);

    /// <summary>Lets a server frozen by <see cref="Suspend"/> run again (SIGCONT).</summary>
    /// <exception cref="InvalidOperationException">The server is not running.</exception>
    public void Resume() => SignalTree(Posix.SigCont);

    private void SignalTree(int signal)
    {
        ChildProcess? process;
        lock (_processLock)
        {
            process = _process;
        }

        if (process is null || process.HasExited)
        {
            throw new InvalidOperationException($"{this} is not running.");
        }

        Posix.Signal(process.Id, signal);
        foreach (var descendant in ProcessTree.Descendants(process.Id).Where(d => d.IsAlive))
        {
            Posix.Signal(descendant.Pid, signal);
        }
    }

    /// <summary>Registers an account, also while the server runs (ejabberd: only while it runs).</summary>
    /// <param name="localpart">The user name (ASCII <c>[a-z0-9._-]</c>, at most 64); a unique one when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the registration.</param>
    /// <returns>The account with its random password.</returns>
    /// <exception cref="ArgumentException"><paramref name="localpart"/> is not usable.</exception>
    /// <exception cref="XmppTestServerException">The server refused (e.g. the account exists) or its admin tool failed.</exception>
    /// <exception cref="InvalidOperationException">The server was never started.</exception>
    public async Task<TestAccount> CreateAccountAsync(string? localpart = null, CancellationToken cancellationToken = default)
    {
        localpart ??= string.Create(CultureInfo.InvariantCulture, $"u{Interlocked.Increment(ref _accounts)}x{RandomNumberGenerator.GetHexString(6, lowercase: true)}");
        ValidateLocalpart(localpart, nameof(localpart));
        _ = Ports;
        var account = new TestAccount(localpart, Domain, RandomSecret());
        await RegisterAsync(account.Localpart, account.Password, cancellationToken).ConfigureAwait(false);
        return account;
    }

    /// <summary>Deletes an account (ejabberd: only while the server runs).</summary>
    /// <param name="localpart">The user name.</param>
    /// <param name="cancellationToken">Cancels the deletion.</param>
    /// <exception cref="ArgumentException"><paramref name="localpart"/> is not usable.</exception>
    /// <exception cref="XmppTestServerException">The admin tool failed.</exception>
    /// <exception cref="InvalidOperationException">The server was never started.</exception>
    public Task DeleteAccountAsync(string localpart, CancellationToken cancellationToken = default)
    {
        ValidateLocalpart(localpart, nameof(localpart));
        _ = Ports;
        return UnregisterAsync(localpart, cancellationToken);
    }

    /// <summary>
    /// Puts <paramref name="contactJid"/> on the roster of <paramref name="ownerLocal"/> with the given subscription
    /// state, without any subscription handshake (call it for both accounts to seed a mutual subscription).
    /// Online sessions of the owner get a roster push. The server must be running.
    /// </summary>
    /// <param name="ownerLocal">The owner's user name on this server.</param>
    /// <param name="contactJid">The contact's bare JID (with a localpart).</param>
    /// <param name="name">The display name of the item (at most 256 characters, no control characters).</param>
    /// <param name="subscription"><c>none</c>, <c>to</c>, <c>from</c> or <c>both</c>.</param>
    /// <param name="cancellationToken">Cancels the change.</param>
    /// <exception cref="ArgumentException">An argument is not usable.</exception>
    /// <exception cref="XmppTestServerException">The server is not running or its admin tool failed.</exception>
    public Task AddRosterItemAsync(string ownerLocal, string contactJid, string name, string subscription = "both", CancellationToken cancellationToken = default)
    {
        ValidateLocalpart(ownerLocal, nameof(ownerLocal));
        ArgumentNullException.ThrowIfNull(contactJid);
        ArgumentNullException.ThrowIfNull(name);
        if (!Jid.TryParse(contactJid, out var contact) || contact.Local is null || !contact.IsBare || contactJid.Length > 1024)
        {
            throw new ArgumentException($"'{contactJid}' is not a bare JID with a localpart.", nameof(contactJid));
        }

        if (name.Length > 256 || name.Any(char.IsControl))
        {
            throw new ArgumentException("The name must be at most 256 characters without control characters.", nameof(name));
        }

        if (subscription is not ("none" or "to" or "from" or "both"))
        {
            throw new ArgumentException($"'{subscription}' is not a subscription state (none, to, from, both).", nameof(subscription));
        }

        if (!IsRunning)
        {
            throw new XmppTestServerException($"The {Kind} server must be running to change a roster.");
        }

        return AddRosterItemCoreAsync(ownerLocal, contact, name, subscription, cancellationToken);
    }

    /// <summary>Whether <paramref name="certificate"/> is this server's certificate (SHA-256 pin).</summary>
    public bool IsServerCertificate(X509Certificate? certificate) =>
        certificate is not null
        && string.Equals(Convert.ToHexStringLower(SHA256.HashData(certificate.GetRawCertData())), CertificateSha256, StringComparison.Ordinal);

    /// <summary>A <see cref="RemoteCertificateValidationCallback"/> that accepts exactly this server's certificate (pinning), whatever the chain says.</summary>
    public bool ValidateCertificatePin(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors sslPolicyErrors) =>
        IsServerCertificate(certificate);

    /// <summary>
    /// Options for a test client of <paramref name="account"/> on this server: loopback host and client port, the
    /// server's certificate pinned, no reconnect, no keep-alive pings. Change what a test needs on the result.
    /// </summary>
    /// <param name="account">The account (e.g. from <see cref="CreateAccountAsync"/>).</param>
    /// <param name="resource">The resource to bind; <see langword="null"/> lets the server pick one.</param>
    public XmppClientOptions ClientOptions(TestAccount account, string? resource = null)
    {
        ArgumentNullException.ThrowIfNull(account);
        var options = new XmppClientOptions
        {
            Jid = resource is null ? account.Jid : account.Jid.WithResource(resource),
            Password = account.Password,
            Host = Host,
            Port = ClientPort,
            Reconnect = ReconnectPolicy.Disabled,
            KeepAliveInterval = TimeSpan.Zero,
        };
        options.TrustCertificate(CertificateSha256);
        return options;
    }

    /// <summary>Loads the server certificate, e.g. for <see cref="X509ChainPolicy.CustomTrustStore"/>. The caller disposes it.</summary>
    /// <exception cref="InvalidOperationException">The server was never started.</exception>
    public X509Certificate2 LoadCertificate() =>
        X509CertificateLoader.LoadCertificate(SelfSignedCertificate.ReadDer(File.ReadAllText(CertificatePemPath)));

    /// <summary>The last lines of the server log and of its console output, for failure messages.</summary>
    public string ReadLogTail(int lines = LogTailLines) =>
        $"--- {LogPath} (last {lines} lines) ---\n{Tail(LogPath, lines)}\n--- {ConsoleLogPath} (last {lines} lines) ---\n{Tail(ConsoleLogPath, lines)}";

    /// <summary>Kills the process tree and deletes the instance folder (kept when PARLEY_KEEP_SERVERS=1).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // Wait for a start or stop in progress, so the folder is not deleted under it.
        await _lifecycle.WaitAsync().ConfigureAwait(false);
        try
        {
            ReleaseResources();
        }
        finally
        {
            _lifecycle.Release();
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>The kind and domain, for test output.</summary>
    public override string ToString() => $"{Kind} ({Domain}) in {DirectoryPath}";

    /// <summary>Writes the configuration for the current ports; called before every first-start attempt.</summary>
    private protected abstract Task ConfigureAsync(CancellationToken cancellationToken);

    /// <summary>The command that runs the server in the foreground.</summary>
    private protected abstract LaunchSpec CreateLaunchSpec();

    /// <summary>Runs once after the first successful start (e.g. registering the admin).</summary>
    private protected virtual Task OnFirstStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Which process gets SIGTERM on stop; the launched process unless it is a wrapper.</summary>
    private protected virtual int StopSignalTarget(ChildProcess launched, IReadOnlyList<ProcessIdentity> descendants) => launched.Id;

    private protected abstract Task RegisterAsync(string localpart, string password, CancellationToken cancellationToken);

    private protected abstract Task UnregisterAsync(string localpart, CancellationToken cancellationToken);

    private protected abstract Task AddRosterItemCoreAsync(string ownerLocal, Jid contact, string name, string subscription, CancellationToken cancellationToken);

    /// <summary>Extra free ports a subclass needs besides the five public ones (e.g. the Erlang distribution port).</summary>
    private protected virtual void OnPortsAllocated(Func<int> allocate)
    {
    }

    private protected static string RandomSecret() =>
        RandomNumberGenerator.GetString("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789", 24);

    /// <summary>Runs an admin tool; failures carry the tool output.</summary>
    private protected static Task<string> RunToolAsync(LaunchSpec spec, CancellationToken cancellationToken) =>
        CommandRunner.RunCheckedAsync(spec, TimeSpan.FromSeconds(60), cancellationToken);

    private protected void WriteConsole(string line)
    {
        lock (_consoleLock)
        {
            if (!_consoleClosed)
            {
                _console.WriteLine(line);
            }
        }
    }

    private ServerPorts AllocatePorts()
    {
        var ports = FreePorts.Allocate(5);
        OnPortsAllocated(() => FreePorts.Allocate(1)[0]);
        return new ServerPorts(ports[0], ports[1], ports[2], ports[3], ports[4]);
    }

    private async Task LaunchAsync(CancellationToken cancellationToken)
    {
        Kill(); // Reap a crashed previous run, if any.
        var spec = CreateLaunchSpec();
        WriteConsole($"[Parley.Testing] {DateTime.UtcNow:O} starting: {spec}");
        var stopwatch = Stopwatch.StartNew();
        var process = await ChildProcess.StartAsync(spec, WriteConsole, cancellationToken).ConfigureAwait(false);
        lock (_processLock)
        {
            _process = process;
        }

        try
        {
            var timeout = Options.StartTimeout ?? DefaultStartTimeout;
            await WaitUntilAsync(process, stopwatch, timeout, $"to answer a stream header with features on port {ClientPort}",
                ct => StreamProbe.AnswersWithFeaturesAsync(ClientPort, Domain, TimeSpan.FromSeconds(2), ct), cancellationToken).ConfigureAwait(false);
            foreach (var (port, what) in new[] { (DirectTlsPort, "direct TLS"), (ComponentPort, "component"), (ProxyPort, "proxy65"), (HttpPort, "http") })
            {
                await WaitUntilAsync(process, stopwatch, timeout, $"to accept connections on its {what} port {port}",
                    ct => StreamProbe.AcceptsAsync(port, ct), cancellationToken).ConfigureAwait(false);
            }

            Instance.RecordProcesses([process.Identity, .. ProcessTree.Descendants(process.Id)]);
            WriteConsole($"[Parley.Testing] ready after {stopwatch.Elapsed.TotalSeconds:0.000} s");
        }
        catch
        {
            Kill();
            throw;
        }
    }

    private async Task WaitUntilAsync(ChildProcess process, Stopwatch stopwatch, TimeSpan timeout, string what,
        Func<CancellationToken, Task<bool>> probe, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (process.HasExited)
            {
                // Let the last console lines arrive before quoting them.
                using var drain = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                try
                {
                    await process.WaitForExitAsync(drain.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // Quote what is there.
                }

                throw StartFailure($"exited with code {process.ExitCode} before it was ready ({what})");
            }

            if (await probe(cancellationToken).ConfigureAwait(false))
            {
                return;
            }

            if (stopwatch.Elapsed > timeout)
            {
                throw StartFailure($"did not manage {what} within {timeout.TotalSeconds:0} s");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(20), cancellationToken).ConfigureAwait(false);
        }
    }

    private XmppTestServerException StartFailure(string reason)
    {
        var tail = ReadLogTail();
        return new XmppTestServerException($"The {Kind} test server in {DirectoryPath} {reason}.\n{tail}")
        {
            AddressInUse = tail.Contains("address already in use", StringComparison.OrdinalIgnoreCase)
                || tail.Contains("eaddrinuse", StringComparison.OrdinalIgnoreCase),
        };
    }

    private void ReleaseResources()
    {
        Kill();
        s_live.TryRemove(this, out _);
        lock (_consoleLock)
        {
            _consoleClosed = true;
            _console.Dispose();
        }

        Instance.Release();
    }

    private static void KillAllAtExit()
    {
        foreach (var server in s_live.Keys)
        {
            if (Interlocked.Exchange(ref server._disposed, 1) == 0)
            {
                server.ReleaseResources();
            }
        }
    }

    private static void ValidateLocalpart(string localpart, string parameterName)
    {
        ArgumentNullException.ThrowIfNull(localpart, parameterName);
        if (!LocalpartPattern().IsMatch(localpart))
        {
            throw new ArgumentException($"'{localpart}' is not a usable test user name (ASCII [a-z0-9._-], 1 to 64 characters).", parameterName);
        }
    }

    private static string Tail(string path, int lines)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            const int MaxBytes = 32 * 1024;
            if (stream.Length > MaxBytes)
            {
                stream.Seek(-MaxBytes, SeekOrigin.End);
            }

            using var reader = new StreamReader(stream, Encoding.UTF8);
            var all = reader.ReadToEnd().Split('\n');
            return string.Join('\n', all.TakeLast(lines + 1)).TrimEnd();
        }
        catch (IOException e)
        {
            return $"(not readable: {e.Message})";
        }
    }

    [GeneratedRegex("^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$")]
    private static partial Regex DomainPattern();

    [GeneratedRegex("^[a-z0-9._-]{1,64}$")]
    private static partial Regex LocalpartPattern();
}

/// <summary>The five public ports of a test server.</summary>
internal sealed record ServerPorts(int Client, int DirectTls, int Component, int Proxy, int Http);
