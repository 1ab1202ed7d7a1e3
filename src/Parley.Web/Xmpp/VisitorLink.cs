using Parley.Web.Storage;
using Parley.Xmpp.Accounts;
using Parley.Xmpp.Core;
using Parley.Xmpp.Profiles;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Web.Xmpp;

/// <summary>
/// How visitors exist on XMPP — the one thing the two identity modes do differently. A link only carries stanzas:
/// <see cref="ComponentLink"/> as one XEP-0114 component for every visitor, <see cref="AccountLink"/> as one client
/// session per visitor on a real account. What to send and when is decided above it: <see cref="OutboxSender"/>,
/// <see cref="PresenceTracker"/> (also when a session is no longer needed) and <see cref="OwnerInbox"/>.
/// </summary>
internal abstract class VisitorLink : IAsyncDisposable
{
    /// <summary>XEP-0172 user nickname: the visitor's display name on their messages and presence.</summary>
    public const string NickNamespace = "http://jabber.org/protocol/nick";

    private Func<Message, CancellationToken, ValueTask>? _onMessage;
    private Func<Presence, CancellationToken, ValueTask>? _onPresence;

    /// <summary>Raised when the link comes up (true) or goes down (false).</summary>
    public event Action<bool>? ConnectionChanged;

    /// <summary>Raised when one visitor's own connection was lost for good (links with a session per visitor).</summary>
    public event Action<string>? VisitorLost;

    /// <summary>
    /// Raised when a visitor's own session was opened or used (links with a session per visitor): it stays open until
    /// <see cref="ReleaseAsync"/> or <see cref="LeaveAsync"/>.
    /// </summary>
    public event Action<string>? SessionUsed;

    /// <summary>For logs and the health check, e.g. "component chat.example.org".</summary>
    public abstract string Name { get; }

    /// <summary>Whether stanzas can go out now.</summary>
    public abstract bool IsConnected { get; }

    /// <summary>Whether <see cref="ConnectAsync"/> has something to do (a permanent connection that is down).</summary>
    public abstract bool NeedsConnect { get; }

    /// <summary>The visitor's XMPP address (bare).</summary>
    public abstract Jid VisitorJid(string visitorId);

    /// <summary>
    /// The gateway's own address on XMPP (the component's domain), which holds the one subscription to the owner's
    /// presence; <see langword="null"/> for a link without one.
    /// </summary>
    public virtual Jid? GatewayJid => null;

    /// <summary>
    /// Reads the owner's XMPP profile from <see cref="GatewayJid"/> (which the owner's server lets see the owner's PEP
    /// nodes, once the owner approved its subscription); <see langword="null"/> for a link without an address of its own.
    /// </summary>
    public virtual ContactProfiles? OwnerProfiles => null;

    /// <summary>Sends a stanza from <see cref="GatewayJid"/>; false when it cannot go out now or the link has no address of its own.</summary>
    public virtual Task<bool> TrySendAsGatewayAsync(Stanza stanza, CancellationToken cancellationToken) => Task.FromResult(false);

    /// <summary>The visitor an address belongs to, or <see langword="null"/> when it is nobody's.</summary>
    public abstract string? VisitorIdOf(Jid address);

    /// <summary>Opens the link's permanent connection, if it has one.</summary>
    /// <exception cref="XmppException">The server refused or could not be reached (the gateway retries with backoff).</exception>
    /// <exception cref="TimeoutException">The server did not answer in time.</exception>
    public abstract Task ConnectAsync(CancellationToken cancellationToken);

    /// <summary>Makes the visitor available to the owner; false when that is not possible now (retried later).</summary>
    public abstract Task<bool> AnnounceAsync(Visitor visitor, CancellationToken cancellationToken);

    /// <summary>Makes an announced visitor unavailable (their last tab closed some time ago).</summary>
    public abstract Task LeaveAsync(string visitorId, CancellationToken cancellationToken);

    /// <summary>
    /// Closes what the link keeps open for a visitor who was not announced (a session opened to send their messages)
    /// once nothing has used it for a while; a link without sessions per visitor has nothing to close.
    /// </summary>
    public virtual Task ReleaseAsync(string visitorId, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Sends a stanza as the visitor; false when it cannot go out now (the caller keeps it for later).
    /// <paramref name="openSession"/>: a link with per-visitor sessions may open one for this (a message from the
    /// outbox); otherwise only an open session is used (typing notifications, presence answers).
    /// </summary>
    public abstract Task<bool> TrySendAsync(string visitorId, Stanza stanza, bool openSession, CancellationToken cancellationToken);

    /// <summary>
    /// Waits until the server has confirmed every stanza sent so far for these visitors (stream management's
    /// acknowledgement, or a ping answered after them on the same stream) and returns the visitors whose stanzas it
    /// confirmed; for the others the link was lost first, and what was sent for them may never have arrived.
    /// </summary>
    public abstract Task<IReadOnlyCollection<string>> ConfirmSentAsync(IReadOnlyCollection<string> visitorIds, CancellationToken cancellationToken);

    /// <summary>
    /// Offers ad-hoc commands (XEP-0050) on the gateway's own address; false when the link has no address of its own that
    /// stays connected (then the commands are not offered).
    /// </summary>
    public virtual bool OfferCommands(AdHocCommandHost commands) => false;

    /// <inheritdoc/>
    public abstract ValueTask DisposeAsync();

    /// <summary>Where incoming stanzas for visitors go (set once, by <see cref="OwnerInbox"/>, before the link connects).</summary>
    public void SetHandlers(Func<Message, CancellationToken, ValueTask> onMessage, Func<Presence, CancellationToken, ValueTask> onPresence)
    {
        _onMessage = onMessage;
        _onPresence = onPresence;
    }

    /// <summary>The XEP-0172 nickname element.</summary>
    internal static XmppElement Nick(string name) => new("nick", NickNamespace) { Text = name };

    protected ValueTask OnMessageAsync(Message message, CancellationToken cancellationToken)
        => _onMessage?.Invoke(message, cancellationToken) ?? ValueTask.CompletedTask;

    protected ValueTask OnPresenceAsync(Presence presence, CancellationToken cancellationToken)
        => _onPresence?.Invoke(presence, cancellationToken) ?? ValueTask.CompletedTask;

    protected void RaiseConnectionChanged(bool connected) => ConnectionChanged?.Invoke(connected);

    protected void RaiseVisitorLost(string visitorId) => VisitorLost?.Invoke(visitorId);

    protected void RaiseSessionUsed(string visitorId) => SessionUsed?.Invoke(visitorId);
}
