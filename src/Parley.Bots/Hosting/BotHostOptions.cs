using Parley.Bots.Reports;

namespace Parley.Bots.Hosting;

/// <summary>Which bot an account runs.</summary>
public enum BotKind
{
    /// <summary><see cref="EchoBot"/>.</summary>
    Echo,
    /// <summary><see cref="AutoReplyBot"/>.</summary>
    AutoReply,
    /// <summary><see cref="ReportBot"/>.</summary>
    Report,
}

/// <summary>The bot host's settings: configuration section <c>Parley</c> (see README.md for an example).</summary>
public sealed class BotHostOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Parley";

    /// <summary>The bots, by name.</summary>
    public Dictionary<string, BotOptions> Bots { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Where bots keep state (the auto-reply memory). Default: <c>$STATE_DIRECTORY</c> (systemd) or <c>state</c> under the content root.</summary>
    public string? StateDirectory { get; set; }
}

/// <summary>One bot: its account, connection, common rules and the options of its kind.</summary>
public sealed class BotOptions
{
    /// <summary>Whether the bot runs. Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Which bot.</summary>
    public BotKind Kind { get; set; }

    /// <summary>The account, <c>user@domain</c> or <c>user@domain/resource</c>.</summary>
    public string Jid { get; set; } = string.Empty;

    /// <summary>The password (better: <see cref="PasswordFile"/> or the environment).</summary>
    public string? Password { get; set; }

    /// <summary>A file holding the password (trailing newline ignored).</summary>
    public string? PasswordFile { get; set; }

    /// <summary><c>host[:port]</c> to connect to instead of the domain's SRV records.</summary>
    public string? Server { get; set; }

    /// <summary>TLS from the first byte (XEP-0368) instead of STARTTLS.</summary>
    public bool DirectTls { get; set; }

    /// <summary>SHA-256 fingerprints of server certificates to trust (self-signed servers).</summary>
    public List<string> TrustedCertificateSha256 { get; set; } = [];

    /// <summary>Who may talk to the bot: <c>user@domain</c>, <c>domain</c>, <c>*.domain</c>. Empty: everyone.</summary>
    public List<string> AllowedSenders { get; set; } = [];

    /// <summary>Answer offline messages sent before the bot started. Default false.</summary>
    public bool AnswerOfflineMessages { get; set; }

    /// <summary>The per-sender rate limit.</summary>
    public RateLimitOptions RateLimit { get; set; } = new();

    /// <summary>Group chat rooms the bot joins (history: none), and where it answers when addressed.</summary>
    public List<RoomOptions> Rooms { get; set; } = [];

    /// <summary>The prefix that addresses the bot in a room besides its nickname ("!report 1234"). Default <c>!</c>; empty for none.</summary>
    public string CommandPrefix { get; set; } = "!";

    /// <summary>The auto-reply bot's options.</summary>
    public AutoReplyOptions AutoReply { get; set; } = new();

    /// <summary>The report bot's options.</summary>
    public ReportOptions Report { get; set; } = new();
}

/// <summary>A group chat room a bot joins.</summary>
public sealed class RoomOptions
{
    /// <summary>The room's bare JID, <c>room@conference.example.org</c>.</summary>
    public string Jid { get; set; } = string.Empty;

    /// <summary>The bot's nickname in the room; people address the bot with it ("reports: 1234").</summary>
    public string Nick { get; set; } = string.Empty;

    /// <summary>The room password, if the room has one.</summary>
    public string? Password { get; set; }
}

/// <summary>A token bucket per sender.</summary>
public sealed class RateLimitOptions
{
    /// <summary>Messages a sender may send at once. Default 5.</summary>
    public int Burst { get; set; } = 5;

    /// <summary>Messages per minute refilled. Default 12.</summary>
    public double PerMinute { get; set; } = 12;
}

/// <summary>The report bot's options.</summary>
public sealed class ReportOptions
{
    /// <summary>What a project number looks like (a regular expression matched against the whole input). Default 1 to 10 digits.</summary>
    public string ProjectPattern { get; set; } = "[0-9]{1,10}";

    /// <summary>A local folder with the reports (set this or <see cref="UrlTemplate"/>).</summary>
    public string? Folder { get; set; }

    /// <summary>An HTTP(S) URL with <c>{project}</c>, e.g. <c>https://intranet.example/reports/{project}.pdf</c>.</summary>
    public string? UrlTemplate { get; set; }

    /// <summary>The file name, with <c>{project}</c>: in the folder, and as shown to users. Default <c>{project}.pdf</c>.</summary>
    public string FileName { get; set; } = "{project}.pdf";

    /// <summary>How long an HTTP fetch may take. Default 30 s.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The largest report fetched over HTTP, in bytes. Default 50 MB.</summary>
    public long MaxBytes { get; set; } = 50L * 1024 * 1024;

    /// <summary>How to authenticate to the HTTP source.</summary>
    public HttpAuthenticationKind Authentication { get; set; }

    /// <summary>The user name for Basic authentication.</summary>
    public string? UserName { get; set; }

    /// <summary>The password (Basic) or token (Bearer).</summary>
    public string? Secret { get; set; }

    /// <summary>A file holding the password or token instead of <see cref="Secret"/>.</summary>
    public string? SecretFile { get; set; }

    /// <summary>How many requests are served at once. Default 4.</summary>
    public int MaxConcurrentRequests { get; set; } = 4;

    /// <summary>
    /// Send the report as a file (Jingle or SI, as the user's client supports), falling back to an upload link. Default
    /// true; false: always an upload link. The server's SOCKS5 proxy is found automatically.
    /// </summary>
    public bool FileTransfer { get; set; } = true;

    /// <summary>The addresses offered to clients for the bot's own SOCKS5 streamhost (e.g. a NAT's public address). Empty: the machine's addresses.</summary>
    public List<string> StreamhostAddresses { get; set; } = [];

    /// <summary>
    /// In a room that hides real JIDs, post the report in the room as an HTTP-upload link (everyone there can open it).
    /// Default false: the asker is told to ask in a private chat. In a room that shows real JIDs the report always goes
    /// privately to the asker.
    /// </summary>
    public bool LinksInRooms { get; set; }

    /// <summary>The port of the bot's own SOCKS5 streamhost (forward it behind NAT). Default 0: any free port.</summary>
    public int StreamhostPort { get; set; }
}
