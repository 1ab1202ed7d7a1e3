using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Parley.Testing.Internal;
using Parley.Xmpp.Core;

namespace Parley.Testing;

/// <summary>
/// A private ejabberd 23.01 (Debian package <c>ejabberd</c>) run with <c>ejabberdctl foreground</c> with:
/// c2s with STARTTLS, direct TLS c2s (<c>tls: true</c>, XEP-0368), in-band registration (XEP-0077), an
/// admin with ad-hoc commands (mod_adhoc + mod_configure, XEP-0133), stream management (XEP-0198),
/// carbons, ping, offline storage, websocket (<c>/ws</c>), group chat (XEP-0045, <c>mod_muc</c>), a XEP-0114 component, a SOCKS5 proxy (XEP-0065)
/// and HTTP upload (XEP-0363).
/// </summary>
/// <remarks>
/// ejabberdctl only runs as root or as user <c>ejabberd</c>. As root the instance folder is given to user
/// ejabberd and every ejabberdctl call runs as that user (setpriv). The Erlang distribution listens on its
/// own free loopback port (ERL_DIST_PORT), so no epmd is started; node name and cookie are unique per instance.
/// </remarks>
public sealed partial class EjabberdServer : XmppTestServer
{
    private const string SystemUser = "ejabberd";
    private const string ErlWrapperName = "erl-pdeathsig";
    private readonly string _nodeName = $"parley-{RandomSecret()[..10].ToLowerInvariant()}@localhost";
    private readonly string _cookie = RandomSecret();
    private readonly SemaphoreSlim _ctlSlots = new(2, 2);
    private int _distributionPort;

    /// <summary>Creates the server (not started yet; see <see cref="XmppTestServer.StartAsync"/>).</summary>
    /// <param name="options">Settings; defaults when <see langword="null"/>.</param>
    /// <exception cref="ArgumentException">The options are not usable.</exception>
    public EjabberdServer(XmppTestServerOptions? options = null)
        : base(Servers.Ejabberd, options)
    {
    }

    /// <inheritdoc/>
    public override string LogPath => Instance.File("logs/ejabberd.log");

    private protected override string WebSocketPath => "/ws";

    // Cold start creates the Mnesia schema; ~1-1.5 s on an idle machine, much more on a busy one.
    private protected override TimeSpan DefaultStartTimeout => TimeSpan.FromSeconds(90);

    private string CtlConfigPath => Instance.File("ejabberdctl.cfg");

    private static string? ServiceUser => Posix.IsRoot ? SystemUser : null;

    /// <summary>Creates and starts an ejabberd server.</summary>
    /// <exception cref="XmppTestServerException">It did not start; the message quotes its log.</exception>
    public static Task<EjabberdServer> StartNewAsync(XmppTestServerOptions? options = null, CancellationToken cancellationToken = default)
    {
        return Started.OrDisposedAsync(new EjabberdServer(options), static (server, ct) => server.StartAsync(ct), cancellationToken);
    }

    private protected override void OnPortsAllocated(Func<int> allocate) => _distributionPort = allocate();

    private protected override async Task ConfigureAsync(CancellationToken cancellationToken)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("The XMPP test servers run on Linux only.");
        }

        if (!Posix.IsRoot && Environment.UserName != SystemUser)
        {
            throw new XmppTestServerException($"ejabberdctl only runs as root or as user '{SystemUser}'; the tests run as '{Environment.UserName}'.");
        }

        // ejabberdctl uses these paths unquoted in places, and the cfg file is sourced by bash.
        if (!SafePathPattern().IsMatch(Instance.Path))
        {
            throw new XmppTestServerException($"ejabberd needs a folder path without spaces or shell characters, not '{Instance.Path}'. Set {InstanceDirectory.RootVariable}.");
        }

        foreach (var sub in new[] { "logs", "spool", "upload" })
        {
            Directory.CreateDirectory(Instance.File(sub));
        }

        var key = await File.ReadAllTextAsync(Certificate.KeyPath, cancellationToken).ConfigureAwait(false);
        var certificate = await File.ReadAllTextAsync(Certificate.CertificatePath, cancellationToken).ConfigureAwait(false);
        await File.WriteAllTextAsync(Instance.File("server.pem"), key + certificate, cancellationToken).ConfigureAwait(false);
        // Our own inetrc: without one every ejabberdctl call prints inet_config errors.
        await File.WriteAllTextAsync(Instance.File("inetrc"),
            "{lookup,[\"file\",\"native\"]}.\n{host,{127,0,0,1}, [\"localhost\"]}.\n{file, resolv, \"/etc/resolv.conf\"}.\n", cancellationToken).ConfigureAwait(false);
        await File.WriteAllTextAsync(Instance.File("ejabberd.yml"), BuildConfig(), cancellationToken).ConfigureAwait(false);
        await File.WriteAllTextAsync(CtlConfigPath, BuildCtlConfig(), cancellationToken).ConfigureAwait(false);

        // ejabberdctl runs "$ERL" as a child and stays its parent, so the kernel's parent-death signal on
        // ejabberdctl alone would orphan the Erlang VM. The wrapper gives the VM its own parent-death signal,
        // tied to ejabberdctl: killing the test host kills ejabberdctl kills beam.
        var wrapper = Instance.File(ErlWrapperName);
        await File.WriteAllTextAsync(wrapper, "#!/bin/sh\nexec /usr/bin/setpriv --pdeathsig KILL -- /usr/bin/erl \"$@\"\n", cancellationToken).ConfigureAwait(false);
        File.SetUnixFileMode(wrapper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);

        if (ServiceUser is { } user)
        {
            await CommandRunner.RunCheckedAsync(new LaunchSpec("chown", ["-R", $"{user}:{user}", Instance.Path]), TimeSpan.FromSeconds(30), cancellationToken)
                .ConfigureAwait(false);
        }
    }

    private protected override LaunchSpec CreateLaunchSpec() => Ejabberdctl(["foreground"]);

    private protected override Task OnFirstStartAsync(CancellationToken cancellationToken) =>
        RegisterAsync("admin", AdminPassword, cancellationToken);

    private protected override int StopSignalTarget(ChildProcess launched, IReadOnlyList<ProcessIdentity> descendants)
    {
        // SIGTERM to ejabberdctl (bash) would kill the script and orphan the VM; the VM itself shuts down cleanly on SIGTERM.
        foreach (var process in descendants)
        {
            if (ProcessTree.CommandLine(process.Pid) is { } commandLine && commandLine.Contains("beam", StringComparison.Ordinal)
                && commandLine.Contains(_nodeName, StringComparison.Ordinal))
            {
                return process.Pid;
            }
        }

        return launched.Id;
    }

    private protected override Task RegisterAsync(string localpart, string password, CancellationToken cancellationToken) =>
        CtlAsync(["register", localpart, Domain, password], $"register {localpart} {Domain}", cancellationToken);

    private protected override Task UnregisterAsync(string localpart, CancellationToken cancellationToken) =>
        CtlAsync(["unregister", localpart, Domain], null, cancellationToken);

    private protected override Task AddRosterItemCoreAsync(string ownerLocal, Jid contact, string name, string subscription, CancellationToken cancellationToken) =>
        // Empty group = no group. mod_admin_extra pushes the item to the owner's online sessions.
        CtlAsync(["add_rosteritem", ownerLocal, Domain, contact.Local!, contact.Domain, name, string.Empty, subscription], null, cancellationToken);

    private async Task CtlAsync(IReadOnlyList<string> arguments, string? display, CancellationToken cancellationToken)
    {
        // Each call boots an Erlang VM (~0.3 s CPU); more than two at once only queue on the CPU.
        await _ctlSlots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var spec = Ejabberdctl(arguments) with { Display = display is null ? null : $"ejabberdctl {display}" };
            for (var attempt = 1; ; attempt++)
            {
                var result = await CommandRunner.RunAsync(spec, TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);
                if (result.ExitCode == 0)
                {
                    return;
                }

                // ejabberdctl names its client node with 3 random hex digits; two concurrent calls can collide.
                if (attempt < 3 && result.Output.Contains("Failed RPC connection", StringComparison.Ordinal))
                {
                    continue;
                }

                throw new XmppTestServerException($"'{spec}' exited with {result.ExitCode}:\n{result.Output.Trim()}");
            }
        }
        finally
        {
            _ctlSlots.Release();
        }
    }

    private LaunchSpec Ejabberdctl(IReadOnlyList<string> arguments) =>
        new("ejabberdctl", ["--ctl-config", CtlConfigPath, .. arguments])
        {
            WorkingDirectory = Instance.File("spool"),
            RunAsUser = ServiceUser,
            // erl reads .erlang / .erlang.cookie under $HOME; the user ejabberd cannot use root's, and instances must not share one.
            Environment = new Dictionary<string, string> { ["HOME"] = Instance.Path },
        };

    private string BuildCtlConfig()
    {
        var dir = Instance.Path;
        return string.Create(CultureInfo.InvariantCulture, $$"""
            # Generated by Parley.Testing; sourced by ejabberdctl (bash) after its command line is parsed.
            ERLANG_NODE={{_nodeName}}
            CONFIG_DIR={{dir}}
            LOGS_DIR={{dir}}/logs
            SPOOL_DIR={{dir}}/spool
            EJABBERD_CONFIG_PATH={{dir}}/ejabberd.yml
            EJABBERD_PID_PATH={{dir}}/ejabberd.pid
            ERL={{dir}}/{{ErlWrapperName}}
            # Distribution only on loopback, on a fixed free port: no epmd at all.
            ERL_OPTIONS="-env ERL_CRASH_DUMP_BYTES 0 -kernel inet_dist_use_interface {127,0,0,1} -setcookie {{_cookie}}"
            ERL_DIST_PORT={{_distributionPort}}
            ERL_EPMD_ADDRESS=127.0.0.1
            EJABBERD_BYPASS_WARNINGS=true

            """);
    }

    private string BuildConfig()
    {
        var dir = Instance.Path;
        var loglevel = Options.EffectiveDebugLogging ? "debug" : "info";
        var requireTls = Options.RequireEncryption ? "true" : "false";
        return string.Create(CultureInfo.InvariantCulture, $$"""
            # Generated by Parley.Testing for one private test instance; rewritten at every first start.
            hosts:
              - {{Yaml(Domain)}}
            loglevel: {{loglevel}}
            hide_sensitive_log_data: false
            certfiles:
              - {{Yaml(dir + "/server.pem")}}
            registration_timeout: infinity

            listen:
              - port: {{ClientPort}}
                ip: "127.0.0.1"
                module: ejabberd_c2s
                max_stanza_size: 262144
                shaper: c2s_shaper
                access: c2s
                starttls: true
                starttls_required: {{requireTls}}
                backlog: 128
              - port: {{DirectTlsPort}}
                ip: "127.0.0.1"
                module: ejabberd_c2s
                max_stanza_size: 262144
                shaper: c2s_shaper
                access: c2s
                tls: true
                backlog: 128
              - port: {{HttpPort}}
                ip: "127.0.0.1"
                module: ejabberd_http
                request_handlers:
                  {{WebSocketPath}}: ejabberd_http_ws
                  /upload: mod_http_upload
              - port: {{ComponentPort}}
                ip: "127.0.0.1"
                module: ejabberd_service
                hosts:
                  {{Yaml(ComponentDomain)}}:
                    password: {{Yaml(ComponentSecret)}}

            acl:
              local:
                user_regexp: ""
              admin:
                user: {{Yaml(AdminJid)}}
              loopback:
                ip:
                  - 127.0.0.0/8
                  - ::1/128

            access_rules:
              local:
                allow: local
              c2s:
                deny: blocked
                allow: all
              announce:
                allow: admin
              configure:
                allow: admin
              register:
                allow: all
              trusted_network:
                allow: loopback

            shaper:
              normal:
                rate: 3000
                burst_size: 20000
              fast: 100000000

            shaper_rules:
              max_user_sessions: 10
              max_user_offline_messages: 5000
              c2s_shaper:
                none: all

            modules:
              mod_adhoc: {}
              mod_admin_extra: {}
              mod_caps: {}
              mod_carboncopy: {}
              mod_configure: {}
              mod_disco: {}
              mod_muc:
                hosts:
                  - {{Yaml(MucJid)}}
                access_create: local
              mod_offline:
                access_max_user_messages: max_user_offline_messages
              mod_ping: {}
              mod_private: {}
              mod_roster: {}
              mod_stream_mgmt: {}
              mod_vcard: {}
              mod_version: {}
              mod_register:
                ip_access: trusted_network
                access: register
              mod_proxy65:
                hosts:
                  - {{Yaml(ProxyJid)}}
                ip: 127.0.0.1
                port: {{ProxyPort}}
                hostname: 127.0.0.1
                access: local
                shaper: none
              mod_http_upload:
                hosts:
                  - {{Yaml(UploadJid)}}
                put_url: "http://127.0.0.1:{{HttpPort}}/upload"
                docroot: {{Yaml(dir + "/upload")}}
                max_size: 104857600

            """);
    }

    /// <summary>A YAML double-quoted scalar.</summary>
    private static string Yaml(string value) => "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    [GeneratedRegex("^[A-Za-z0-9/._-]+$")]
    private static partial Regex SafePathPattern();
}
