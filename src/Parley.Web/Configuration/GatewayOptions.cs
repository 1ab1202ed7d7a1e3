using Microsoft.Extensions.Options;
using Parley.Xmpp;
using Parley.Xmpp.Core;
using Parley.Xmpp.Xml;

namespace Parley.Web.Configuration;

/// <summary>The gateway's settings, bound from the <c>Parley</c> section (appsettings or <c>Parley__Owner</c>-style environment variables).</summary>
internal sealed class GatewayOptions
{
    public const string Section = "Parley";

    /// <summary>The owner's bare JID: every visitor's messages go there, and only its replies reach visitors.</summary>
    public string Owner { get; set; } = "";

    /// <summary>
    /// The owner's name as the page words presence ("Alex is online"); empty: neutral wording ("Online"). At most 64
    /// characters of text. (A key of its own: <c>Parley:Owner</c> is the owner's JID.)
    /// </summary>
    public string OwnerName { get; set; } = "";

    /// <summary>
    /// A PNG, JPEG, GIF or WebP file (at most 256 KiB) shown as the owner's avatar instead of the one in the owner's XMPP
    /// profile; empty: the profile's. Read once at start; the gateway serves it itself (<c>/api/owner/avatar</c>).
    /// </summary>
    public string OwnerAvatar { get; set; } = "";

    /// <summary>
    /// How often the owner's XMPP profile (name, avatar) is read again, besides when the link connects and when the
    /// owner's presence announces a new avatar (XEP-0153); between 1 second and 1 day.
    /// </summary>
    public TimeSpan OwnerProfileRefresh { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// Bare JIDs besides the owner who may list and run the owner's ad-hoc commands (XEP-0050) on the gateway's address:
    /// see the active visitors, block and unblock them, end conversations, set the away message.
    /// </summary>
    public List<string> Admins { get; set; } = [];

    /// <summary>How long a blocked guest's address may not sign in as a guest again, when the owner blocks it too.</summary>
    public TimeSpan AddressBlockTime { get; set; } = TimeSpan.FromDays(1);

    /// <summary>How long after their last visit a visitor still counts as active for the owner's "active visitors" command.</summary>
    public TimeSpan ActiveVisitorWindow { get; set; } = TimeSpan.FromHours(2);

    /// <summary>How visitors exist on XMPP: <see cref="GatewayMode.Component"/> (default) or <see cref="GatewayMode.Account"/>.</summary>
    public GatewayMode Mode { get; set; } = GatewayMode.Component;

    public ComponentSettings Component { get; set; } = new();

    /// <summary>Account mode: where the visitors' accounts live and how they are created.</summary>
    public AccountSettings Accounts { get; set; } = new();

    public GuestSettings Guests { get; set; } = new();

    public WidgetSettings Widget { get; set; } = new();

    public FileSettings Files { get; set; } = new();

    /// <summary>
    /// The gateway's public address (<c>https://chat.example.org</c>): the only base of the links it sends the owner (file
    /// downloads) and of sign-in redirect URIs, and the only host it answers for besides loopback and <c>AllowedHosts</c>. Required while
    /// files or sign-in providers are on.
    /// </summary>
    public string PublicUrl { get; set; } = "";

    /// <summary>The SQLite file (provider <c>Sqlite</c>, the default); created with its schema at start.</summary>
    public string DatabasePath { get; set; } = "parley-web.db";

    /// <summary>Which database holds the state: SQLite (one gateway) or PostgreSQL (one or several gateways).</summary>
    public DatabaseSettings Database { get; set; } = new();

    /// <summary>
    /// Where the cookie-protection keys live; empty: a <c>parley-web-keys</c> folder next to the SQLite file, or, with
    /// PostgreSQL, the database itself (so every gateway sharing it reads every gateway's cookies). Sign-ins survive a restart.
    /// </summary>
    public string DataProtectionKeysPath { get; set; } = "";

    /// <summary>Behind a reverse proxy on loopback: take the client address and scheme from X-Forwarded-For/-Proto (rate limits, Secure cookies).</summary>
    public bool TrustForwardedHeaders { get; set; }

    /// <summary>
    /// Whether every visitor asks the owner for a presence subscription (one authorization prompt per visitor in the
    /// owner's client, and each visitor in the owner's roster). Off (the default): in component mode the gateway's own
    /// address holds one subscription to the owner, approved once, and its view of the owner's presence is what every
    /// visitor's page shows. Account mode always subscribes per visitor: its visitors are ordinary accounts of the
    /// owner's server, and nothing else on that server could receive the owner's presence for them.
    /// </summary>
    public bool VisitorsInRoster { get; set; }

    /// <summary>
    /// Whether a visitor's tab tells the owner's client that it has shown a reply (XEP-0333 <c>displayed</c>, for replies
    /// that ask for it). Off: replies still become seen on the visitor's pages, but the owner is not told.
    /// </summary>
    public bool DisplayedMarkers { get; set; } = true;

    /// <summary>Whether the owner's presence comes through the gateway's own address (one subscription) rather than through each visitor's.</summary>
    internal bool SharesOwnerPresence => Mode == GatewayMode.Component && !VisitorsInRoster;

    /// <summary>How long a visitor stays available to the owner after their last tab closed (a reload must not flap presence).</summary>
    public TimeSpan PresenceLinger { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The largest stanza from the XMPP server that the gateway's links survive, in bytes. A stanza over the parser's
    /// per-stanza limits (256 KiB, depth 32, 64 attributes, …) is refused and its sender told, and the link stays up; only
    /// a larger one closes the link. Default 4 MiB; never below 256 KiB (what Prosody and ejabberd accept from a client).
    /// </summary>
    public int MaxSkippedStanzaBytes { get; set; } = XmlLimits.Default.MaxSkippedStanzaBytes;

    /// <summary>The parser limits of the gateway's XMPP links.</summary>
    internal XmlLimits XmlLimits => new() { MaxSkippedStanzaBytes = MaxSkippedStanzaBytes };

    /// <summary>Messages one visitor may send per minute.</summary>
    public int MessagesPerMinute { get; set; } = 30;

    /// <summary>The longest message text, in UTF-16 code units.</summary>
    public int MaxMessageLength { get; set; } = 4000;

    /// <summary>Open push connections one visitor may hold (tabs).</summary>
    public int MaxStreamsPerVisitor { get; set; } = 8;

    /// <summary>Text sent once per visitor per <see cref="OfflineAutoReplyPeriod"/> when they write while the owner is offline; empty: none.</summary>
    public string OfflineAutoReply { get; set; } = "";

    /// <summary>How long after an automatic reply the same visitor gets none again.</summary>
    public TimeSpan OfflineAutoReplyPeriod { get; set; } = TimeSpan.FromHours(12);

    /// <summary>How long the XMPP link may be down before <c>/healthz</c> says Unhealthy (503); before that it says Degraded (200).</summary>
    public TimeSpan XmppDownUnhealthyAfter { get; set; } = TimeSpan.FromMinutes(1);

    internal Jid OwnerJid => Jid.Parse(Owner).Bare;

    /// <summary>The owner and the administrators, as bare JIDs (entries that do not parse are refused at start-up).</summary>
    internal IReadOnlySet<Jid> Controllers => Admins
        .Select(static admin => Jid.TryParse(admin, out var jid) ? jid.Bare : null)
        .OfType<Jid>()
        .Append(OwnerJid)
        .ToHashSet();

    internal string KeysDirectory => DataProtectionKeysPath is { Length: > 0 } path
        ? Path.GetFullPath(path)
        : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(DatabasePath)) ?? ".", "parley-web-keys");

    /// <summary>An absolute URL on the public address: <see cref="PublicUrl"/> without its trailing slash, then <paramref name="path"/>.</summary>
    /// <exception cref="InvalidOperationException"><see cref="PublicUrl"/> is empty; start-up validation refuses that for every feature that builds links.</exception>
    internal string PublicLink(string path)
        => PublicUrl.Length > 0
            ? PublicUrl.TrimEnd('/') + path
            : throw new InvalidOperationException($"{Section}:PublicUrl is not set; links are never built from a request's Host header.");

    internal sealed class DatabaseSettings
    {
        public const string Sqlite = "Sqlite";
        public const string PostgreSql = "PostgreSQL";

        /// <summary><c>Sqlite</c> (default, uses <see cref="DatabasePath"/>) or <c>PostgreSQL</c> (uses <see cref="ConnectionString"/>).</summary>
        public string Provider { get; set; } = Sqlite;

        /// <summary>The Npgsql connection string, e.g. <c>Host=127.0.0.1;Database=parley;Username=parley;Password=…</c>.</summary>
        public string ConnectionString { get; set; } = "";

        internal static bool IsPostgres(string? provider) => string.Equals(provider, PostgreSql, StringComparison.OrdinalIgnoreCase);

        internal static bool IsSqlite(string? provider) => string.IsNullOrEmpty(provider) || string.Equals(provider, Sqlite, StringComparison.OrdinalIgnoreCase);
    }

    internal sealed class ComponentSettings
    {
        /// <summary>The component's subdomain, e.g. chat.example.org; visitors are <c>id@</c> that.</summary>
        public string Domain { get; set; } = "";

        /// <summary>The shared secret configured on the server for the component.</summary>
        public string Secret { get; set; } = "";

        /// <summary>The server's host (XEP-0114 is plain TCP: keep it on loopback or a private network).</summary>
        public string Host { get; set; } = "127.0.0.1";

        /// <summary>The server's component port.</summary>
        public int Port { get; set; } = 5347;

        /// <summary>
        /// Whether a visitor's message counts as sent only once the server answered a ping sent after it on the same
        /// connection. Turn it off only when the server spreads one component domain over several connections at
        /// random, answers included (ejabberd with several gateways on one domain): an answer that lands on another
        /// gateway's connection would never confirm anything. Off, a message counts as sent once written.
        /// </summary>
        public bool ConfirmSent { get; set; } = true;
    }

    internal sealed class FileSettings
    {
        /// <summary>Whether visitors may send files.</summary>
        public bool Enabled { get; set; } = true;

        /// <summary>The largest file a visitor may send, in bytes.</summary>
        public long MaxBytes { get; set; } = 10 * 1024 * 1024;

        /// <summary>Where files are kept; empty: a <c>parley-web-files</c> folder next to the database.</summary>
        public string Directory { get; set; } = "";
    }

    internal sealed class AccountSettings
    {
        /// <summary>The owner's server domain the visitors' accounts are made on, e.g. example.org.</summary>
        public string Domain { get; set; } = "";

        /// <summary>The server's host; empty: DNS SRV for <see cref="Domain"/>, then the domain itself.</summary>
        public string Host { get; set; } = "";

        /// <summary>The client port (with <see cref="Host"/>).</summary>
        public int Port { get; set; } = 5222;

        /// <summary>Trust the server's certificate by the SHA-256 of its DER bytes (self-signed servers); empty: normal validation.</summary>
        public string CertificateSha256 { get; set; } = "";

        /// <summary>How accounts are created: XEP-0133 add-user as an administrator (default), XEP-0077 in-band registration, or Openfire's REST API.</summary>
        public AccountProvisioning Provisioning { get; set; } = AccountProvisioning.AdminCommand;

        /// <summary>The administrator account for <see cref="AccountProvisioning.AdminCommand"/> (and HTTP Basic for <see cref="AccountProvisioning.OpenfireRest"/> without a secret).</summary>
        public string AdminJid { get; set; } = "";

        /// <summary>Its password.</summary>
        public string AdminPassword { get; set; } = "";

        /// <summary>For <see cref="AccountProvisioning.OpenfireRest"/>: the REST API plugin's base URL, e.g. <c>http://127.0.0.1:9090/plugins/restapi/v1/</c> (https, or http to this machine).</summary>
        public string RestApiUrl { get; set; } = "";

        /// <summary>For <see cref="AccountProvisioning.OpenfireRest"/>: the plugin's shared secret key; empty: the administrator account over HTTP Basic.</summary>
        public string RestApiSecret { get; set; } = "";

        /// <summary>Accounts are named this prefix + the visitor id (26 lower-case letters and digits).</summary>
        public string UsernamePrefix { get; set; } = "web-";

        /// <summary>The resource every visitor session binds.</summary>
        public string Resource { get; set; } = "web";
    }

    internal sealed class WidgetSettings
    {
        /// <summary>Origins (<c>https://www.example.com</c>) whose pages may frame the chat (CSP frame-ancestors); empty: none may.</summary>
        public List<string> AllowedOrigins { get; set; } = [];

        /// <summary>Sites whose server signs its signed-in users into the chat (issuer <c>embed:</c> + the site's name).</summary>
        public List<SiteSettings> Sites { get; set; } = [];

        /// <summary>How old a site's sign-in token may be (its timestamp); a token is accepted once.</summary>
        public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromMinutes(10);
    }

    internal sealed class SiteSettings
    {
        /// <summary>The site's name in tokens and identities (<c>data-site</c>), e.g. <c>shop.example.com</c>.</summary>
        public string Host { get; set; } = "";

        /// <summary>The secret the site's server computes token signatures with (HMAC-SHA256, at least 32 characters).</summary>
        public string Secret { get; set; } = "";
    }

    internal sealed class GuestSettings
    {
        /// <summary>Whether visitors may sign in with a display name only.</summary>
        public bool Enabled { get; set; } = true;

        /// <summary>Guest sign-ins allowed per client address per minute.</summary>
        public int PerMinute { get; set; } = 5;
    }
}

/// <summary>How visitors exist on XMPP.</summary>
internal enum GatewayMode
{
    /// <summary>One XEP-0114 component; visitors are addresses on its subdomain.</summary>
    Component,

    /// <summary>Each visitor has a real account on the owner's server, with a client session while active.</summary>
    Account,
}

/// <summary>How account mode creates a visitor's account.</summary>
internal enum AccountProvisioning
{
    /// <summary>XEP-0133 add-user, run by an administrator account.</summary>
    AdminCommand,

    /// <summary>XEP-0077 in-band registration (the server must allow it).</summary>
    Registration,

    /// <summary>Openfire's REST API plugin (<c>POST /plugins/restapi/v1/users</c>).</summary>
    OpenfireRest,
}

