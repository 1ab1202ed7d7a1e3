using System.Globalization;
using System.Text;
using Parley.Testing.Internal;
using Parley.Xmpp.Core;

namespace Parley.Testing;

/// <summary>
/// A private Prosody 0.12 (Debian package <c>prosody</c>) run in the foreground (<c>prosody -F</c>) with:
/// c2s with STARTTLS, direct TLS c2s (XEP-0368), in-band registration (XEP-0077), an admin with ad-hoc
/// commands (XEP-0133), stream management (XEP-0198, mod_smacks is in core since 0.12), carbons, ping,
/// offline storage, websocket, group chat (XEP-0045, <c>muc</c>), a XEP-0114 component, a SOCKS5 proxy (XEP-0065) and HTTP file upload
/// (XEP-0363). No s2s. Nagle is off (stop-and-wait protocols such as IBB would stall on delayed ACKs).
/// </summary>
public sealed class ProsodyServer : XmppTestServer
{
    private static readonly string[] s_modules =
    [
        "roster", "saslauth", "tls", "disco", "carbons", "pep", "private", "blocklist", "vcard_legacy",
        "version", "uptime", "time", "ping", "register", "admin_adhoc", "admin_shell", "websocket",
        "offline", "smacks", "posix",
    ];

    /// <summary>Creates the server (not started yet; see <see cref="XmppTestServer.StartAsync"/>).</summary>
    /// <param name="options">Settings; defaults when <see langword="null"/>.</param>
    /// <exception cref="ArgumentException">The options are not usable.</exception>
    public ProsodyServer(XmppTestServerOptions? options = null)
        : base(Servers.Prosody, options)
    {
    }

    /// <inheritdoc/>
    public override string LogPath => Instance.File("prosody.log");

    private protected override string WebSocketPath => "/xmpp-websocket";

    private protected override TimeSpan DefaultStartTimeout => TimeSpan.FromSeconds(30);

    private string ConfigPath => Instance.File("prosody.cfg.lua");

    /// <summary>Creates and starts a Prosody server.</summary>
    /// <exception cref="XmppTestServerException">It did not start; the message quotes its log.</exception>
    public static Task<ProsodyServer> StartNewAsync(XmppTestServerOptions? options = null, CancellationToken cancellationToken = default)
    {
        return Started.OrDisposedAsync(new ProsodyServer(options), static (server, ct) => server.StartAsync(ct), cancellationToken);
    }

    private protected override async Task ConfigureAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Instance.File("data"));
        await File.WriteAllTextAsync(ConfigPath, BuildConfig(), cancellationToken).ConfigureAwait(false);
        // prosodyctl works on the storage files directly, so the admin exists before the first start.
        await RunToolAsync(Prosodyctl(["register", "admin", Domain, AdminPassword], "register admin"), cancellationToken).ConfigureAwait(false);
    }

    private protected override LaunchSpec CreateLaunchSpec() =>
        new("prosody", ["--config", ConfigPath, "-F"]) { WorkingDirectory = Instance.Path };

    private protected override Task RegisterAsync(string localpart, string password, CancellationToken cancellationToken)
    {
        // prosodyctl register silently resets the password of an existing account; ejabberd refuses. Refuse too.
        if (File.Exists(Path.Combine(Instance.File("data"), StorageName(Domain), "accounts", StorageName(localpart) + ".dat")))
        {
            throw new XmppTestServerException($"conflict: {localpart}@{Domain} is already registered.");
        }

        return RunToolAsync(Prosodyctl(["register", localpart, Domain, password], $"register {localpart}"), cancellationToken);
    }

    private protected override Task UnregisterAsync(string localpart, CancellationToken cancellationToken) =>
        RunToolAsync(Prosodyctl(["deluser", $"{localpart}@{Domain}"]), cancellationToken);

    private protected override async Task AddRosterItemCoreAsync(string ownerLocal, Jid contact, string name, string subscription, CancellationToken cancellationToken)
    {
        // Through the admin shell, so the running server's rostermanager updates the live roster of online
        // sessions and sends roster pushes (writing the storage file would bypass both).
        const string Marker = "parley-roster-ok";
        var lua = string.Create(CultureInfo.InvariantCulture,
            $"> local rm = require \"core.rostermanager\"; local u, h, c = {Lua(ownerLocal)}, {Lua(Domain)}, {Lua(contact.ToString())}; " +
            $"local r = assert(rm.load_roster(u, h)); r[c] = {{ subscription = {Lua(subscription)}, name = {Lua(name)}, groups = {{}} }}; " +
            $"assert(rm.save_roster(u, h, r, c)); rm.roster_push(u, h, c); return {Lua(Marker)}");
        var output = await RunToolAsync(Prosodyctl(["shell", lua], $"shell (roster of {ownerLocal})"), cancellationToken).ConfigureAwait(false);
        if (!output.Contains(Marker, StringComparison.Ordinal))
        {
            throw new XmppTestServerException($"prosodyctl shell did not confirm the roster change:\n{output}");
        }
    }

    /// <summary>Runs one Lua statement in the running server through its admin shell (<c>prosodyctl shell</c>); returns what the shell printed.</summary>
    /// <param name="lua">The statement; its return value is printed.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <exception cref="XmppTestServerException">prosodyctl failed.</exception>
    public Task<string> RunShellAsync(string lua, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(lua);
        return RunToolAsync(Prosodyctl(["shell", "> " + lua], "shell"), cancellationToken);
    }

    private LaunchSpec Prosodyctl(IReadOnlyList<string> arguments, string? display = null) =>
        new("prosodyctl", ["--config", ConfigPath, .. arguments])
        {
            WorkingDirectory = Instance.Path,
            Display = display is null ? null : $"prosodyctl {display}",
        };

    private string BuildConfig()
    {
        var c = new StringBuilder();
        void Line(string text) => c.Append(text).Append('\n');
        var dir = Instance.Path;
        Line("-- Generated by Parley.Testing for one private test instance; rewritten at every first start.");
        if (Posix.IsRoot)
        {
            Line("run_as_root = true -- the test runner is root; mod_posix refuses root otherwise");
        }

        Line($"pidfile = {Lua(Path.Combine(dir, "prosody.pid"))}");
        Line($"data_path = {Lua(Path.Combine(dir, "data"))}");
        Line($"certificates = {Lua(dir)}");
        Line($"admins = {{ {Lua(AdminJid)} }}");
        Line("interfaces = { \"127.0.0.1\" }");
        Line("local_interfaces = { \"127.0.0.1\" }");
        Line(Invariant($"c2s_ports = {{ {ClientPort} }}"));
        Line(Invariant($"c2s_direct_tls_ports = {{ {DirectTlsPort} }}"));
        Line("legacy_ssl_ports = { }");
        Line("s2s_ports = { }");
        Line(Invariant($"component_ports = {{ {ComponentPort} }}"));
        Line("component_interfaces = { \"127.0.0.1\" }");
        Line(Invariant($"http_ports = {{ {HttpPort} }}"));
        Line("http_interfaces = { \"127.0.0.1\" }");
        Line("https_ports = { }");
        Line(Invariant($"proxy65_ports = {{ {ProxyPort} }}"));
        Line("proxy65_interfaces = { \"127.0.0.1\" }");
        Line($"http_default_host = {Lua(Domain)} -- requests for Host: 127.0.0.1 (websocket) land here");
        Line($"ssl = {{ certificate = {Lua(Certificate.CertificatePath)}; key = {Lua(Certificate.KeyPath)}; }}");
        Line($"modules_enabled = {{ {string.Join("; ", s_modules.Select(Lua))}; }}");
        Line("modules_disabled = { \"s2s\" }");
        Line("allow_registration = true");
        Line($"c2s_require_encryption = {(Options.RequireEncryption ? "true" : "false")}");
        Line("authentication = \"internal_hashed\"");
        Line("storage = \"internal\"");
        Line("consider_websocket_secure = true -- plain ws:// on loopback");
        Line("cross_domain_websocket = true");
        Line("network_settings = { nagle = false }");
        var level = Options.EffectiveDebugLogging ? "debug" : "info";
        Line($"log = {{ {{ levels = {{ min = {Lua(level)} }}, to = \"file\", filename = {Lua(LogPath)} }}; {{ levels = {{ min = \"error\" }}, to = \"console\" }}; }}");
        Line(string.Empty);
        Line($"VirtualHost {Lua(Domain)}");
        Line(string.Empty);
        Line($"Component {Lua(ProxyJid)} \"proxy65\"");
        Line("  proxy65_address = \"127.0.0.1\"");
        Line(string.Empty);
        Line($"Component {Lua(UploadJid)} \"http_file_share\"");
        Line("  http_host = \"127.0.0.1\" -- slot URLs become http://127.0.0.1:<http port>/file_share/...");
        Line("  http_file_share_size_limit = 100 * 1024 * 1024");
        Line("  http_file_share_daily_quota = 10 * 1024 * 1024 * 1024");
        Line(string.Empty);
        Line($"Component {Lua(MucJid)} \"muc\"");
        Line("  muc_room_locking = false -- a new room is usable at once, as on ejabberd");
        Line("  restrict_room_creation = false");
        Line(string.Empty);
        Line($"Component {Lua(ComponentDomain)}");
        Line($"  component_secret = {Lua(ComponentSecret)}");
        return c.ToString();
    }

    /// <summary>Prosody's file storage name for a node or host: every non-alphanumeric character as %xx.</summary>
    private static string StorageName(string value)
    {
        var name = new StringBuilder(value.Length * 3);
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            if (char.IsAsciiLetterOrDigit((char)b))
            {
                name.Append((char)b);
            }
            else
            {
                name.Append('%').Append(b.ToString("x2", CultureInfo.InvariantCulture));
            }
        }

        return name.ToString();
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>A Lua string literal for any text: printable ASCII as is, everything else as decimal byte escapes.</summary>
    internal static string Lua(string value)
    {
        var literal = new StringBuilder(value.Length + 2).Append('"');
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            if (b is >= 0x20 and < 0x7f and not (byte)'"' and not (byte)'\\')
            {
                literal.Append((char)b);
            }
            else
            {
                literal.Append('\\').Append(b.ToString("D3", CultureInfo.InvariantCulture));
            }
        }

        return literal.Append('"').ToString();
    }
}
