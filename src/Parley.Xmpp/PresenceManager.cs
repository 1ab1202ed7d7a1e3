using Parley.Xmpp.Core;
using Parley.Xmpp.Im;
using Parley.Xmpp.Stanzas;

namespace Parley.Xmpp;

/// <summary>
/// Presence (RFC 6121 §3–4): which resources of which contacts are available, with their latest presence and
/// capabilities; subscription requests and changes; sending subscription answers and directed presence.
/// </summary>
/// <remarks>
/// The table is updated before any handler registered with <see cref="XmppEndpoint.OnPresence"/> runs. Events run on the
/// dispatch loop, in arrival order; a slow subscriber delays the stanzas after it. After a reconnect that did not resume
/// the session, and after disconnecting, the table is emptied (<see cref="Cleared"/>): the server sends every contact's
/// presence again once our presence is restored.
/// </remarks>
public sealed class PresenceManager
{
    /// <summary>The most resources tracked for one contact.</summary>
    internal const int MaxResourcesPerContact = 64;

    /// <summary>The most resources tracked in all; anyone may send directed presence, so the table needs a ceiling (and overflow is logged at Debug only, so a flood cannot flood the log).</summary>
    internal const int MaxTrackedResources = 50_000;

    private readonly XmppClient _client;
    private readonly Lock _lock = new();
    private readonly Dictionary<Jid, Dictionary<Jid, ResourcePresence>> _contacts = [];
    private int _count;

    internal PresenceManager(XmppClient client)
    {
        _client = client;
        client.OnPresence(HandleAsync);
        client.StateChanged += OnStateChanged;
    }

    /// <summary>Raised when a contact's resource became available, changed its presence, or went away.</summary>
    public event EventHandler<PresenceChangedEventArgs>? PresenceChanged;

    /// <summary>Raised when someone asks to see our presence. The server re-delivers pending requests at every login until they are answered.</summary>
    public event EventHandler<SubscriptionRequestedEventArgs>? SubscriptionRequested;

    /// <summary>Raised when a contact approved, denied or revoked our subscription, or cancelled theirs.</summary>
    public event EventHandler<SubscriptionChangedEventArgs>? SubscriptionChanged;

    /// <summary>Raised when the table was emptied because the session ended (disconnect, or a reconnect without resumption).</summary>
    public event EventHandler? Cleared;

    /// <summary>The available resources of a contact, highest priority first.</summary>
    /// <param name="jid">The contact; a full JID is reduced to its bare JID.</param>
    /// <returns>The resources; empty when the contact is not available.</returns>
    public IReadOnlyList<ResourcePresence> GetResources(Jid jid)
    {
        ArgumentNullException.ThrowIfNull(jid);
        lock (_lock)
        {
            return _contacts.TryGetValue(jid.Bare, out var resources) ? [.. resources.Values.OrderByDescending(r => r.Priority)] : [];
        }
    }

    /// <summary>The latest presence of one resource, or <see langword="null"/> when it is not available.</summary>
    /// <param name="jid">The resource's full JID (or the bare JID of an entity without resources).</param>
    public ResourcePresence? GetPresence(Jid jid)
    {
        ArgumentNullException.ThrowIfNull(jid);
        lock (_lock)
        {
            return _contacts.TryGetValue(jid.Bare, out var resources) && resources.TryGetValue(jid, out var presence) ? presence : null;
        }
    }

    /// <summary>Whether a contact (bare JID: any of its resources) or one resource (full JID) is available.</summary>
    /// <param name="jid">A bare or full JID.</param>
    public bool IsAvailable(Jid jid)
    {
        ArgumentNullException.ThrowIfNull(jid);
        lock (_lock)
        {
            return _contacts.TryGetValue(jid.Bare, out var resources) && (jid.IsBare || resources.ContainsKey(jid));
        }
    }

    /// <summary>Asks a contact to let us see their presence (RFC 6121 §3.1.1).</summary>
    /// <param name="jid">The contact; a full JID is reduced to its bare JID.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <exception cref="XmppNotConnectedException">Not connected.</exception>
    /// <exception cref="XmppTransportException">The connection closed before the stanza was written.</exception>
    public Task SubscribeAsync(Jid jid, CancellationToken cancellationToken = default) => SendSubscriptionAsync(jid, PresenceType.Subscribe, cancellationToken);

    /// <summary>Lets a contact see our presence: answers their request, or pre-approves one (RFC 6121 §3.1.4, §3.4).</summary>
    /// <param name="jid">The contact; a full JID is reduced to its bare JID.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <exception cref="XmppNotConnectedException">Not connected.</exception>
    /// <exception cref="XmppTransportException">The connection closed before the stanza was written.</exception>
    public Task ApproveSubscriptionAsync(Jid jid, CancellationToken cancellationToken = default) => SendSubscriptionAsync(jid, PresenceType.Subscribed, cancellationToken);

    /// <summary>Refuses a contact's request to see our presence, or revokes a subscription granted before (RFC 6121 §3.1.4, §3.2).</summary>
    /// <param name="jid">The contact; a full JID is reduced to its bare JID.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <exception cref="XmppNotConnectedException">Not connected.</exception>
    /// <exception cref="XmppTransportException">The connection closed before the stanza was written.</exception>
    public Task DenySubscriptionAsync(Jid jid, CancellationToken cancellationToken = default) => SendSubscriptionAsync(jid, PresenceType.Unsubscribed, cancellationToken);

    /// <summary>Stops seeing a contact's presence (RFC 6121 §3.3). The contact's resources leave the table (with <see cref="PresenceChanged"/>) once the request is sent.</summary>
    /// <param name="jid">The contact; a full JID is reduced to its bare JID.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <exception cref="XmppNotConnectedException">Not connected.</exception>
    /// <exception cref="XmppTransportException">The connection closed before the stanza was written.</exception>
    public async Task UnsubscribeAsync(Jid jid, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jid);
        var request = CreateSubscriptionStanza(jid, PresenceType.Unsubscribe);
        await _client.SendAsync(request, cancellationToken).ConfigureAwait(false);

        // RFC 6121 §3.3.3 has the contact's server send unavailable presence from each resource, but Prosody 0.12
        // does not; what we knew of their presence is stale either way.
        Remove(jid.Bare, null, request);
    }

    /// <summary>Sends our presence to one entity only (RFC 6121 §4.6), with our entity capabilities; e.g. to someone not in the roster we talk to.</summary>
    /// <param name="to">The addressee (bare or full JID).</param>
    /// <param name="show">The availability.</param>
    /// <param name="status">Optional status text.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <exception cref="XmppNotConnectedException">Not connected.</exception>
    /// <exception cref="XmppTransportException">The connection closed before the stanza was written.</exception>
    public Task SendDirectedPresenceAsync(Jid to, PresenceShow show = PresenceShow.Online, string? status = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(to);
        var presence = new Presence(PresenceType.Available, to) { Show = show, Status = status };
        _client.Capabilities.Decorate(presence);
        return _client.SendAsync(presence, cancellationToken);
    }

    /// <summary>Tells one entity we are no longer available to it (ends a directed presence, RFC 6121 §4.6.3).</summary>
    /// <param name="to">The addressee.</param>
    /// <param name="status">Optional status text.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <exception cref="XmppNotConnectedException">Not connected.</exception>
    /// <exception cref="XmppTransportException">The connection closed before the stanza was written.</exception>
    public Task SendDirectedUnavailableAsync(Jid to, string? status = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(to);
        return _client.SendAsync(new Presence(PresenceType.Unavailable, to) { Status = status }, cancellationToken);
    }

    /// <summary>Internal so unit tests can play a reconnect without a network.</summary>
    internal void OnStateChanged(object? sender, ConnectionStateChangedEventArgs e)
    {
        if (e.NewState == XmppConnectionState.Disconnected || (e.NewState == XmppConnectionState.Connected && !e.Resumed))
        {
            Clear(e.NewState == XmppConnectionState.Disconnected ? "disconnected" : "new session");
        }
    }

    private Task SendSubscriptionAsync(Jid jid, PresenceType type, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jid);
        return _client.SendAsync(CreateSubscriptionStanza(jid, type), cancellationToken);
    }

    /// <summary>RFC 6121 §3.1.1: subscription stanzas go to the bare JID and SHOULD carry an id.</summary>
    private static Presence CreateSubscriptionStanza(Jid jid, PresenceType type) => new(type, jid.Bare) { Id = Stanza.NewId() };

    private void Clear(string reason)
    {
        int count;
        lock (_lock)
        {
            count = _count;
            _contacts.Clear();
            _count = 0;
        }

        if (count > 0)
        {
            Log.PresenceTableCleared(_client.Logger, count, reason);
            EventInvoker.Raise(Cleared, this, _client.Logger, "presence Cleared");
        }
    }

    private ValueTask HandleAsync(Presence presence, CancellationToken cancellationToken)
    {
        if (!Jid.TryParse(presence.GetAttribute("from"), out var from))
        {
            return ValueTask.CompletedTask;
        }

        switch (presence.Type)
        {
            case PresenceType.Available:
                // The server reflects our own broadcast back to us (RFC 6121 §4.2.2); that is not a contact.
                if (from != _client.Jid)
                {
                    OnAvailable(from, presence);
                }

                break;
            case PresenceType.Unavailable:
                // From a bare JID it means the whole entity; from a full JID, that resource.
                Remove(from.Bare, from.IsBare ? null : from, presence);
                break;
            case PresenceType.Error:
                // RFC 6121 §4.3.2: an error means we cannot know the contact's presence any more.
                Remove(from.Bare, null, presence);
                break;
            case PresenceType.Subscribe:
                EventInvoker.Raise(SubscriptionRequested, this, new SubscriptionRequestedEventArgs(from.Bare, presence), _client.Logger, "presence SubscriptionRequested");
                break;
            case PresenceType.Subscribed:
                RaiseSubscriptionChanged(from, SubscriptionChange.Subscribed, presence);
                break;
            case PresenceType.Unsubscribe:
                RaiseSubscriptionChanged(from, SubscriptionChange.Unsubscribe, presence);
                break;
            case PresenceType.Unsubscribed:
                // We no longer see their presence; the server sends unavailable for each resource, but not every server does.
                Remove(from.Bare, null, presence);
                RaiseSubscriptionChanged(from, SubscriptionChange.Unsubscribed, presence);
                break;
            case PresenceType.Probe:
                break; // Servers answer probes, clients never see them (RFC 6121 §4.3).
        }

        return ValueTask.CompletedTask;
    }

    private void RaiseSubscriptionChanged(Jid from, SubscriptionChange change, Presence presence)
        => EventInvoker.Raise(SubscriptionChanged, this, new SubscriptionChangedEventArgs(from.Bare, change, presence), _client.Logger, "presence SubscriptionChanged");

    private void OnAvailable(Jid from, Presence presence)
    {
        ResourcePresence current;
        lock (_lock)
        {
            var bare = from.Bare;
            var isNew = !_contacts.TryGetValue(bare, out var resources);
            ResourcePresence? previous = null;
            if (resources is not null && resources.Remove(from, out previous))
            {
                _count--;
            }
            else if (_count >= MaxTrackedResources || (resources?.Count ?? 0) >= MaxResourcesPerContact)
            {
                Log.PresenceTableFull(_client.Logger, from.ToString(), _count >= MaxTrackedResources ? MaxTrackedResources : MaxResourcesPerContact);
                return;
            }

            if (isNew)
            {
                resources = [];
                _contacts[bare] = resources;
            }

            // Servers may strip repeated caps (XEP-0115 §8.4): a presence without <c/> keeps what the resource announced before.
            var copy = (Presence)presence.Clone();
            current = new ResourcePresence(from, copy, CapsDescriptor.FromPresence(copy) ?? previous?.Caps);
            resources![from] = current;
            _count++;
        }

        EventInvoker.Raise(PresenceChanged, this, new PresenceChangedEventArgs(from, presence, current), _client.Logger, "presence PresenceChanged");
    }

    private void Remove(Jid bare, Jid? resource, Presence presence)
    {
        List<Jid> removed = [];
        lock (_lock)
        {
            if (!_contacts.TryGetValue(bare, out var resources))
            {
                return;
            }

            if (resource is null)
            {
                removed.AddRange(resources.Keys);
                _contacts.Remove(bare);
            }
            else if (resources.Remove(resource))
            {
                removed.Add(resource);
                if (resources.Count == 0)
                {
                    _contacts.Remove(bare);
                }
            }

            _count -= removed.Count;
        }

        foreach (var jid in removed)
        {
            EventInvoker.Raise(PresenceChanged, this, new PresenceChangedEventArgs(jid, presence, null), _client.Logger, "presence PresenceChanged");
        }
    }
}
