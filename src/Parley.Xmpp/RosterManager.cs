using System.Collections.Immutable;
using Parley.Xmpp.Core;
using Parley.Xmpp.Im;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp;

/// <summary>
/// The roster (RFC 6121 §2): fetches it, keeps a copy up to date from the server's roster pushes, and adds,
/// changes and removes contacts. Uses roster versioning (§2.6) when the server offers it.
/// </summary>
/// <remarks>
/// After a reconnect that did not resume the session, a roster fetched before is fetched again automatically.
/// The copy is kept while disconnected. Events run on the dispatch loop, in the order the server sent the changes.
/// </remarks>
public sealed class RosterManager
{
    /// <summary>The most items kept; a push that would add more is refused with <c>resource-constraint</c>.</summary>
    internal const int MaxItems = 50_000;

    private readonly XmppClient _client;
    private readonly Lock _lock = new();
    private ImmutableDictionary<Jid, RosterItem> _items = ImmutableDictionary<Jid, RosterItem>.Empty;
    private string? _version;
    private bool _loaded;
    private int _refetching;

    internal RosterManager(XmppClient client)
    {
        _client = client;

        // The roster namespace is not a disco feature of clients: pushes only ever come from our own server.
        client.SetIqHandler("query", XmppNamespaces.Roster, HandlePushAsync, announce: false);
        client.StateChanged += OnStateChanged;
    }

    /// <summary>Raised for each roster push: an item added, changed or removed (by this or another resource, or by the server after a subscription change).</summary>
    public event EventHandler<RosterChangedEventArgs>? Changed;

    /// <summary>Raised after the whole roster was (re)loaded by <see cref="GetAsync"/>, including the automatic fetch after a new session.</summary>
    public event EventHandler? Loaded;

    /// <summary>Whether the roster was fetched at least once.</summary>
    public bool IsLoaded => Volatile.Read(ref _loaded);

    /// <summary>The roster version the server gave last (RFC 6121 §2.6), or <see langword="null"/>.</summary>
    public string? Version
    {
        get
        {
            lock (_lock)
            {
                return _version;
            }
        }
    }

    /// <summary>A snapshot of the roster as last known.</summary>
    public IReadOnlyCollection<RosterItem> Items => Volatile.Read(ref _items).Values.ToList();

    /// <summary>The task of the automatic fetch after a new session, if one was started (for tests).</summary>
    internal Task? RefetchTask { get; private set; }

    /// <summary>Looks up a contact in the last known roster.</summary>
    /// <param name="jid">The contact's address as it is in the roster (normally bare).</param>
    /// <param name="item">The item, when found.</param>
    public bool TryGetItem(Jid jid, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out RosterItem? item)
    {
        ArgumentNullException.ThrowIfNull(jid);
        return Volatile.Read(ref _items).TryGetValue(jid, out item);
    }

    /// <summary>Fetches the roster from the server and replaces the local copy. With roster versioning, an unchanged roster is not sent again and the cached copy is returned.</summary>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <returns>The roster.</returns>
    /// <exception cref="XmppNotConnectedException">Not connected.</exception>
    /// <exception cref="XmppStanzaException">The server answered with an error.</exception>
    /// <exception cref="TimeoutException">No answer in time.</exception>
    /// <exception cref="XmppTransportException">The connection closed before the answer arrived.</exception>
    public async Task<IReadOnlyList<RosterItem>> GetAsync(CancellationToken cancellationToken = default)
    {
        var query = new XmppElement("query", XmppNamespaces.Roster);
        string? sentVersion = null;
        if (_client.RosterVersioningOffered)
        {
            // RFC 6121 §2.6.2: the empty string bootstraps versioning when we hold no cached copy.
            lock (_lock)
            {
                sentVersion = _loaded ? _version ?? string.Empty : string.Empty;
            }

            query.SetAttribute("ver", sentVersion);
        }

        var response = await _client.SendIqAsync(new Iq(IqType.Get, null, query), cancellationToken: cancellationToken).ConfigureAwait(false);
        var answer = response.Element("query", XmppNamespaces.Roster);
        IReadOnlyList<RosterItem> result;
        lock (_lock)
        {
            if (answer is null && sentVersion is { Length: > 0 } && _loaded)
            {
                // RFC 6121 §2.6.3: an empty result means "your copy is current"; changes, if any, follow as pushes.
                Log.RosterUnchanged(_client.Logger, sentVersion);
                result = [.. _items.Values];
            }
            else
            {
                var items = ImmutableDictionary.CreateBuilder<Jid, RosterItem>();
                var list = new List<RosterItem>();
                foreach (var element in answer?.Elements("item", XmppNamespaces.Roster) ?? [])
                {
                    if (items.Count >= MaxItems)
                    {
                        Log.InvalidRosterItem(_client.Logger, $"more than {MaxItems} items; the rest is ignored");
                        break;
                    }

                    var item = RosterItem.TryParse(element, out var reason);
                    if (item is null || item.Subscription == RosterSubscription.Remove)
                    {
                        Log.InvalidRosterItem(_client.Logger, reason ?? $"{item?.Jid} has subscription 'remove' in a roster result");
                        continue;
                    }

                    if (items.ContainsKey(item.Jid))
                    {
                        list.RemoveAll(i => i.Jid == item.Jid);
                    }

                    items[item.Jid] = item;
                    list.Add(item);
                }

                _items = items.ToImmutable();

                // An empty roster costs nothing to fetch again, so its version is not kept. Prosody 0.12 reports
                // version 1 for a roster never saved and again after its first change; keeping the first would
                // make a later fetch miss that change.
                _version = list.Count == 0 ? null : answer?.GetAttribute("ver");
                result = list;
                Log.RosterLoaded(_client.Logger, list.Count, _version);
            }

            Volatile.Write(ref _loaded, true);
        }

        EventInvoker.Raise(Loaded, this, _client.Logger, "roster Loaded");
        return result;
    }

    /// <summary>
    /// Adds a contact or changes its name and groups. The subscription state is the server's to set and is not sent.
    /// The local copy and <see cref="Changed"/> follow the server's roster push.
    /// </summary>
    /// <param name="item">The contact: its JID, name and groups.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <exception cref="ArgumentException">The item says <see cref="RosterSubscription.Remove"/> (use <see cref="RemoveAsync"/>), or a group or name is empty, too long or duplicated.</exception>
    /// <exception cref="XmppNotConnectedException">Not connected.</exception>
    /// <exception cref="XmppStanzaException">The server refused the change (e.g. <c>not-acceptable</c>).</exception>
    /// <exception cref="TimeoutException">No answer in time.</exception>
    /// <exception cref="XmppTransportException">The connection closed before the answer arrived.</exception>
    public async Task SetAsync(RosterItem item, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(item);
        if (item.Subscription == RosterSubscription.Remove)
        {
            throw new ArgumentException("Use RemoveAsync to remove a contact.", nameof(item));
        }

        if (item.Name is { Length: 0 or > RosterItem.MaxTextLength })
        {
            throw new ArgumentException($"The name must be 1 to {RosterItem.MaxTextLength} characters, or null.", nameof(item));
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var group in item.Groups)
        {
            if (string.IsNullOrEmpty(group) || group.Length > RosterItem.MaxTextLength)
            {
                throw new ArgumentException($"Group names must be 1 to {RosterItem.MaxTextLength} characters (RFC 6121 §2.1.2.5).", nameof(item));
            }

            if (!seen.Add(group))
            {
                throw new ArgumentException($"The group '{group}' is listed twice (RFC 6121 §2.3.3).", nameof(item));
            }
        }

        if (seen.Count > RosterItem.MaxGroups)
        {
            throw new ArgumentException($"At most {RosterItem.MaxGroups} groups per contact.", nameof(item));
        }

        var query = new XmppElement("query", XmppNamespaces.Roster);
        query.Add(item.ToSetElement());
        await _client.SendIqAsync(new Iq(IqType.Set, null, query), cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Removes a contact from the roster; the server also cancels the subscriptions both ways (RFC 6121 §2.5).</summary>
    /// <param name="jid">The contact's address as it is in the roster.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <exception cref="XmppNotConnectedException">Not connected.</exception>
    /// <exception cref="XmppStanzaException">The server refused, e.g. <c>item-not-found</c> when the contact is not in the roster.</exception>
    /// <exception cref="TimeoutException">No answer in time.</exception>
    /// <exception cref="XmppTransportException">The connection closed before the answer arrived.</exception>
    public async Task RemoveAsync(Jid jid, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jid);
        var query = new XmppElement("query", XmppNamespaces.Roster);
        var element = query.AddChild("item");
        element.SetAttribute("jid", jid.ToString());
        element.SetAttribute("subscription", "remove");
        await _client.SendIqAsync(new Iq(IqType.Set, null, query), cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Internal so unit tests can play a reconnect without a network.</summary>
    internal void OnStateChanged(object? sender, ConnectionStateChangedEventArgs e)
    {
        if (e.NewState != XmppConnectionState.Connected || e.Resumed || !IsLoaded || Interlocked.Exchange(ref _refetching, 1) == 1)
        {
            return;
        }

        // StateChanged runs under the endpoint's send lock; the fetch must not.
        var lifetime = _client.Lifetime;
        RefetchTask = Task.Run(() => RefetchAsync(lifetime), CancellationToken.None);
    }

    private async Task RefetchAsync(CancellationToken lifetime)
    {
        try
        {
            await GetAsync(lifetime).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (lifetime.IsCancellationRequested)
        {
            // Disconnected meanwhile.
        }
        catch (Exception ex) when (ex is XmppException or TimeoutException)
        {
            Log.RosterRefetchFailed(_client.Logger, ex.Message, ex);
        }
        finally
        {
            Volatile.Write(ref _refetching, 0);
        }
    }

    private ValueTask<XmppElement?> HandlePushAsync(Iq request, CancellationToken cancellationToken)
    {
        // RFC 6121 §2.1.6: only our own account may push. Anyone else gets the answer an unknown request gets,
        // so a stranger learns nothing and cannot plant contacts.
        var from = request.GetAttribute("from");
        if (from is not null && !(Jid.TryParse(from, out var sender) && sender == _client.AccountJid))
        {
            Log.RosterPushRefused(_client.Logger, from);
            throw new XmppStanzaException(StanzaError.ServiceUnavailable());
        }

        if (request.Type != IqType.Set)
        {
            throw new XmppStanzaException(StanzaError.ServiceUnavailable());
        }

        var query = request.Payload!;
        XmppElement? single = null;
        foreach (var element in query.Elements("item", XmppNamespaces.Roster))
        {
            if (single is not null)
            {
                throw new XmppStanzaException(StanzaError.BadRequest("A roster push carries exactly one item (RFC 6121 §2.1.6)."));
            }

            single = element;
        }

        if (single is null)
        {
            throw new XmppStanzaException(StanzaError.BadRequest("A roster push carries exactly one item (RFC 6121 §2.1.6)."));
        }

        var item = RosterItem.TryParse(single, out var reason) ?? throw new XmppStanzaException(StanzaError.BadRequest(reason));
        lock (_lock)
        {
            if (item.Subscription == RosterSubscription.Remove)
            {
                _items = _items.Remove(item.Jid);
            }
            else
            {
                if (!_items.ContainsKey(item.Jid) && _items.Count >= MaxItems)
                {
                    throw new XmppStanzaException(StanzaError.ResourceConstraint($"This client keeps at most {MaxItems} contacts."));
                }

                _items = _items.SetItem(item.Jid, item);
            }

            if (query.GetAttribute("ver") is { } version)
            {
                _version = version;
            }
        }

        EventInvoker.Raise(Changed, this, new RosterChangedEventArgs(item), _client.Logger, "roster Changed");
        return ValueTask.FromResult<XmppElement?>(null);
    }
}
