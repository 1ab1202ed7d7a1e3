using System.Globalization;
using System.Text;
using System.Xml.Linq;

namespace Parley.Testing.Internal;

/// <summary>
/// Writes a libpurple 2.x configuration folder (<c>.purple</c>) that logs in without any prompt: the account, the
/// buddy list with the auto-accept setting per contact, the preferences, and the server certificate pinned.
/// </summary>
internal static class PurpleProfile
{
    /// <summary>
    /// libpurple's jabber roster puts items without a group into this group (JABBER_ROSTER_DEFAULT_GROUP, "Buddies" in the C
    /// locale). A local contact in any other group is removed and re-added when the server's roster arrives, which drops its
    /// settings, among them the auto-accept one.
    /// </summary>
    public const string RosterGroup = "Buddies";

    /// <summary>Writes the profile into <paramref name="configDirectory"/>.</summary>
    /// <param name="configDirectory">The folder given to finch with <c>-c</c>.</param>
    /// <param name="settings">What to write.</param>
    public static void Write(string configDirectory, PurpleProfileSettings settings)
    {
        Directory.CreateDirectory(configDirectory);

        // libpurple verifies the certificate against the host it connects to (connect_server, 127.0.0.1), not the XMPP
        // domain; a PEM in its tls_peers cache whose fingerprint matches is accepted without any prompt.
        var peers = Path.Combine(configDirectory, "certificates", "x509", "tls_peers");
        Directory.CreateDirectory(peers);
        File.Copy(settings.CertificatePemPath, Path.Combine(peers, settings.ConnectHost), overwrite: true);
        File.Copy(settings.CertificatePemPath, Path.Combine(peers, settings.Jid.Domain), overwrite: true);

        Save(Accounts(settings), Path.Combine(configDirectory, "accounts.xml"));
        Save(BuddyList(settings), Path.Combine(configDirectory, "blist.xml"));
        Save(Preferences(settings), Path.Combine(configDirectory, "prefs.xml"));
    }

    private static XElement Accounts(PurpleProfileSettings s) =>
        new("account", new XAttribute("version", "1.0"),
            new XElement("account",
                new XElement("protocol", "prpl-jabber"),
                new XElement("name", s.Jid.ToString()),
                new XElement("password", s.Password),
                new XElement("statuses",
                    new XElement("status", new XAttribute("type", "available"), new XAttribute("name", "Available"), new XAttribute("active", "true"), new XElement("attributes"))),
                new XElement("settings",
                    Setting("connect_server", "string", s.ConnectHost),
                    Setting("port", "int", s.Port.ToString(CultureInfo.InvariantCulture)),
                    Setting("connection_security", "string", "require_tls"),
                    Setting("auth_plain_in_clear", "bool", "0"),
                    Setting("ft_proxies", "string", s.ProxyJid ?? string.Empty),
                    Setting("bosh_url", "string", string.Empty)),
                // "Enabled" is a per-UI setting: gnt-purple is finch, gtk-gaim is pidgin.
                new XElement("settings", new XAttribute("ui", "gnt-purple"), Setting("auto-login", "bool", "1")),
                new XElement("settings", new XAttribute("ui", "gtk-gaim"), Setting("auto-login", "bool", "1"))));

    private static XElement BuddyList(PurpleProfileSettings s) =>
        new("purple", new XAttribute("version", "1.0"),
            new XElement("blist",
                new XElement("group", new XAttribute("name", RosterGroup),
                    s.AutoAcceptFrom.Select(buddy =>
                        new XElement("contact",
                            // The autoaccept plugin reads this int from the CONTACT node (0 ask, 1 accept, 2 reject).
                            Setting("autoaccept", "int", "1"),
                            new XElement("buddy", new XAttribute("account", s.Jid.ToString()), new XAttribute("proto", "prpl-jabber"),
                                new XElement("name", buddy.ToString())))))),
            new XElement("privacy",
                new XElement("account", new XAttribute("proto", "prpl-jabber"), new XAttribute("name", s.Jid.ToString()), new XAttribute("mode", "1"))));

    private static XElement Preferences(PurpleProfileSettings s) =>
        Pref("/", null, null,
            Pref("plugins", null, null,
                Pref("core", null, null,
                    Pref("core-plugin_pack-autoaccept", null, null,
                        Pref("path", "string", s.DownloadDirectory),
                        Pref("stranger", "int", "1"),
                        Pref("notify", "bool", "0"),
                        Pref("newdir", "bool", "0"),
                        Pref("escape", "bool", "1")))),
            Pref("purple", null, null,
                Pref("network", null, null,
                    // No UPnP/NAT-PMP/STUN; our own streamhost is advertised as public_ip (loopback) first.
                    Pref("map_ports", "bool", "0"),
                    Pref("auto_ip", "bool", "0"),
                    Pref("public_ip", "string", s.PublicAddress),
                    Pref("stun_server", "string", string.Empty),
                    Pref("turn_server", "string", string.Empty),
                    Pref("ports_range_use", "bool", "1"),
                    Pref("ports_range_start", "int", s.StreamhostPort.ToString(CultureInfo.InvariantCulture)),
                    Pref("ports_range_end", "int", s.StreamhostPort.ToString(CultureInfo.InvariantCulture))),
                Pref("proxy", null, null, Pref("type", "string", "none")),
                Pref("logging", null, null,
                    Pref("log_ims", "bool", "0"),
                    Pref("log_chats", "bool", "0"),
                    Pref("log_system", "bool", "0")),
                Pref("away", null, null, Pref("idle_reporting", "string", "none"))),
            Pref("finch", null, null,
                Pref("plugins", null, null,
                    new XElement("pref", new XAttribute("name", "loaded"), new XAttribute("type", "pathlist"),
                        new XElement("item", new XAttribute("value", s.AutoAcceptPlugin)))),
                Pref("sound", null, null, Pref("method", "string", "nosound"))));

    private static XElement Setting(string name, string type, string value) =>
        new("setting", new XAttribute("name", name), new XAttribute("type", type), value);

    private static XElement Pref(string name, string? type, string? value, params object[] children)
    {
        var element = new XElement("pref", new XAttribute("name", name));
        if (type is not null)
        {
            element.Add(new XAttribute("type", type), new XAttribute("value", value ?? string.Empty));
        }
        else if (name == "/")
        {
            element.Add(new XAttribute("version", "1"));
        }

        element.Add(children);
        return element;
    }

    /// <summary>Writes UTF-8 without a byte order mark: libpurple reads prefs.xml with GMarkup, which rejects a BOM and then silently uses the defaults.</summary>
    private static void Save(XElement root, string path)
    {
        using var writer = new StreamWriter(path, append: false, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        new XDocument(new XDeclaration("1.0", "UTF-8", null), root).Save(writer);
    }
}

/// <summary>The values of a libpurple profile.</summary>
internal sealed record PurpleProfileSettings(
    Parley.Xmpp.Core.Jid Jid,
    string Password,
    string ConnectHost,
    int Port,
    string? ProxyJid,
    string CertificatePemPath,
    IReadOnlyList<Parley.Xmpp.Core.Jid> AutoAcceptFrom,
    string DownloadDirectory,
    string PublicAddress,
    int StreamhostPort,
    string AutoAcceptPlugin);
