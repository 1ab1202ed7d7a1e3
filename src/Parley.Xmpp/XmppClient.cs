using Microsoft.Extensions.Logging;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;

namespace Parley.Xmpp;

/// <summary>
/// An XMPP client connection (RFC 6120/6121): STARTTLS or direct TLS, SCRAM authentication, resource binding,
/// stream management with resumption, automatic reconnect.
/// </summary>
/// <example>
/// <code>
/// await using var client = new XmppClient(new XmppClientOptions { Jid = Jid.Parse("bot@example.org"), Password = "…" });
/// client.OnMessage(async (message, ct) =>
/// {
///     if (message.Type is MessageType.Chat or MessageType.Normal &amp;&amp; message.Body is { } body)
///         await client.SendAsync(message.CreateReply(body), ct);
/// });
/// await client.ConnectAsync();
/// await client.SendPresenceAsync();
/// </code>
/// </example>
public sealed class XmppClient : XmppEndpoint
{
    private readonly ClientSession _session;

    /// <summary>Creates a client. Nothing happens on the network until <see cref="XmppEndpoint.ConnectAsync"/>.</summary>
    /// <param name="options">The account and connection settings.</param>
    /// <param name="loggerFactory">Where to log; the traffic log is category <c>Parley.Xmpp.Traffic</c> at Trace level, secrets redacted.</param>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public XmppClient(XmppClientOptions options, ILoggerFactory? loggerFactory = null)
        : this(options, loggerFactory, outbox: null)
    {
    }

    /// <summary>
    /// Creates a client whose stanzas go to the outbox <paramref name="outbox"/> makes instead of its connection; the outbox
    /// answers IQ requests through the <see cref="IqTracker"/> it is given (tests without a network).
    /// </summary>
    internal XmppClient(XmppClientOptions options, ILoggerFactory? loggerFactory, Func<IqTracker, IStanzaOutbox>? outbox)
        : base(options, loggerFactory, (events, logger, traffic) => new ClientSession(options, events, logger, traffic), outbox)
    {
        _session = (ClientSession)Session;
        Disco.AddIdentity(new Im.DiscoIdentity("client", "bot", options.SoftwareName));
        Roster = new RosterManager(this);
        Presences = new PresenceManager(this);
        Capabilities = new EntityCapabilities(this);
        _session.DecoratePresence = Capabilities.Decorate;
    }

    /// <summary>The roster (RFC 6121 §2): contacts, pushes, subscription management.</summary>
    public RosterManager Roster { get; }

    /// <summary>Presence of contacts and subscription requests (RFC 6121 §3–4).</summary>
    public PresenceManager Presences { get; }

    /// <summary>Entity capabilities (XEP-0115): our own hash and a cache of peers'.</summary>
    public EntityCapabilities Capabilities { get; }

    /// <summary>Whether stream management (XEP-0198) is active on the current connection.</summary>
    public bool IsStreamManagementEnabled => _session.IsStreamManagementEnabled;

    /// <summary>The account's bare JID (what roster pushes must come from).</summary>
    internal Jid AccountJid => _session.AccountJid;

    /// <summary>Whether the server announced roster versioning (RFC 6121 §2.6) on the current connection.</summary>
    internal bool RosterVersioningOffered
    {
        get => _session.RosterVersioningOffered;
        set => _session.RosterVersioningOffered = value;
    }

    /// <summary>The last broadcast available presence, or <see langword="null"/> when the last broadcast was unavailable or none was sent.</summary>
    internal Presence? LastBroadcastPresence => _session.LastBroadcastPresence;

    /// <summary>Broadcasts an available presence (and remembers it, to restore after a reconnect).</summary>
    /// <param name="show">The availability.</param>
    /// <param name="status">Optional status text.</param>
    /// <param name="priority">The resource priority.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <exception cref="XmppNotConnectedException">Not connected.</exception>
    public Task SendPresenceAsync(PresenceShow show = PresenceShow.Online, string? status = null, int priority = 0, CancellationToken cancellationToken = default)
    {
        var presence = new Presence { Show = show, Status = status };
        if (priority != 0)
        {
            presence.Priority = priority;
        }

        return SendAsync(presence, cancellationToken);
    }
}
