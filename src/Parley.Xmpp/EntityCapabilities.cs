using Parley.Xmpp.Core;
using Parley.Xmpp.Im;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp;

/// <summary>
/// Entity capabilities (XEP-0115): announces a hash of our disco#info in every available presence, answers
/// disco#info for that hash, and learns what contacts' resources support — once per distinct client
/// version, verified by recomputing the hash before it is cached.
/// </summary>
public sealed class EntityCapabilities
{
    /// <summary>The default <see cref="Node"/>.</summary>
    public const string DefaultNode = "https://parley.invalid";

    /// <summary>How many verified (hash, ver) answers are kept; the least recently used goes first.</summary>
    internal const int MaxCacheEntries = 1000;

    private const int MaxNodeLength = 1024;

    private readonly XmppClient _client;
    private readonly Lock _lock = new();
    private readonly Dictionary<(string Hash, string Ver), LinkedListNode<CacheEntry>> _cache = [];
    private readonly LinkedList<CacheEntry> _lru = new();
    private readonly Dictionary<(string Hash, string Ver), Task<DiscoInfo?>> _inflight = [];
    private string _node = DefaultNode;
    private CapsDescriptor _own;
    private int _rebroadcastScheduled;

    internal EntityCapabilities(XmppClient client)
    {
        _client = client;
        _own = Compute(_node);
        client.Disco.IsOwnCapsNode = IsOwnCapsNode;
        client.Disco.Changed += (_, _) => Recompute();
        client.Disco.AddFeature(XmppNamespaces.Caps);
    }

    /// <summary>The URI that names this software in caps (XEP-0115 §4), e.g. the project's web site.</summary>
    /// <exception cref="ArgumentException">The value is empty or longer than 1024 characters.</exception>
    public string Node
    {
        get => Volatile.Read(ref _node);
        set
        {
            ArgumentException.ThrowIfNullOrEmpty(value);
            if (value.Length > MaxNodeLength)
            {
                throw new ArgumentException($"The node must be at most {MaxNodeLength} characters.", nameof(value));
            }

            Volatile.Write(ref _node, value);
            Recompute();
        }
    }

    /// <summary>What we announce now: node, hash and the ver computed from <see cref="XmppEndpoint.Disco"/>.</summary>
    public CapsDescriptor Current => Volatile.Read(ref _own);

    /// <summary>The delay that gathers a burst of feature changes into one presence broadcast.</summary>
    internal TimeSpan RebroadcastDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The task of the last scheduled re-broadcast (for tests).</summary>
    internal Task? RebroadcastTask { get; private set; }

    /// <summary>Computes the XEP-0115 SHA-1 verification string of a disco#info answer (§5.1).</summary>
    /// <param name="info">The identities, features and XEP-0128 forms.</param>
    /// <returns>The base64 ver.</returns>
    /// <exception cref="ArgumentException">The information is ill-formed (§5.4): a duplicate identity, or two forms with the same FORM_TYPE.</exception>
    public static string ComputeVer(DiscoInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        if (!CapsHash.TryCompute(info.Identities, info.Features, info.Extensions, CapsHash.Sha1, out var ver, out var problem))
        {
            throw new ArgumentException($"The disco#info is ill-formed: {problem}.", nameof(info));
        }

        return ver;
    }

    /// <summary>
    /// What a resource supports. When its last presence carried caps we already verified, answers from the cache
    /// without a query; otherwise asks it (disco#info on <c>node#ver</c>) and caches the answer if it matches the ver.
    /// </summary>
    /// <param name="jid">The resource's full JID (or any entity's JID).</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <returns>Its identities, features and forms.</returns>
    /// <exception cref="XmppNotConnectedException">Not connected.</exception>
    /// <exception cref="XmppStanzaException">The entity answered with an error.</exception>
    /// <exception cref="TimeoutException">No answer in time.</exception>
    /// <exception cref="XmppTransportException">The connection closed before the answer arrived.</exception>
    public async Task<DiscoInfo> GetInfoAsync(Jid jid, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jid);
        if (jid == _client.Jid)
        {
            return _client.Disco.GetOwnInfo();
        }

        var caps = _client.Presences.GetPresence(jid)?.Caps;
        if (caps is null || !CapsHash.IsSupported(caps.Hash))
        {
            // §5.4 2: an unknown hash cannot be verified, so the answer belongs to this JID only.
            return DiscoInfo.Parse(await QueryAsync(jid, caps is null ? null : $"{caps.Node}#{caps.Ver}", cancellationToken).ConfigureAwait(false));
        }

        var key = (caps.Hash, caps.Ver);
        TaskCompletionSource<DiscoInfo?>? mine = null;
        Task<DiscoInfo?>? shared;
        lock (_lock)
        {
            if (TryGetCachedLocked(key, out var cached))
            {
                return cached;
            }

            if (!_inflight.TryGetValue(key, out shared))
            {
                mine = new TaskCompletionSource<DiscoInfo?>(TaskCreationOptions.RunContinuationsAsynchronously);
                _inflight[key] = mine.Task;
            }
        }

        if (mine is null)
        {
            // Another resource with the same ver is being asked; its verified answer serves us too.
            if (await shared!.WaitAsync(cancellationToken).ConfigureAwait(false) is { } verified)
            {
                return verified;
            }

            return await QueryAndVerifyAsync(jid, caps, cancellationToken).ConfigureAwait(false);
        }

        DiscoInfo? result = null;
        try
        {
            var info = await QueryAndVerifyAsync(jid, caps, cancellationToken).ConfigureAwait(false);
            lock (_lock)
            {
                result = TryGetCachedLocked(key, out var cached) ? cached : null;
            }

            return info;
        }
        finally
        {
            lock (_lock)
            {
                _inflight.Remove(key);
            }

            mine.TrySetResult(result);
        }
    }

    /// <summary>
    /// What each available resource of a contact supports (e.g. to choose a file transfer method).
    /// Resources that answer with an error or not in time are left out.
    /// </summary>
    /// <param name="jid">The contact; a full JID is reduced to its bare JID.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <returns>One entry per resource that answered; empty when the contact is not available.</returns>
    /// <exception cref="XmppNotConnectedException">Not connected.</exception>
    /// <exception cref="XmppTransportException">The connection closed before the answers arrived.</exception>
    public async Task<IReadOnlyList<(Jid Resource, DiscoInfo Info)>> GetResourcesInfoAsync(Jid jid, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jid);
        var resources = _client.Presences.GetResources(jid.Bare);
        var lookups = resources.Select(r => TryGetInfoAsync(r.Jid, cancellationToken)).ToArray();
        var answers = await Task.WhenAll(lookups).ConfigureAwait(false);
        var result = new List<(Jid, DiscoInfo)>(answers.Length);
        for (var i = 0; i < answers.Length; i++)
        {
            if (answers[i] is { } info)
            {
                result.Add((resources[i].Jid, info));
            }
        }

        return result;
    }

    /// <summary>Adds (or replaces) our <c>&lt;c/&gt;</c> on an outgoing available presence.</summary>
    internal void Decorate(Presence presence)
    {
        presence.RemoveAll("c", XmppNamespaces.Caps);
        presence.Add(Current.ToElement());
    }

    /// <summary>Whether a cached, verified answer exists for a (hash, ver) (for tests).</summary>
    internal bool IsCached(string hash, string ver)
    {
        lock (_lock)
        {
            return _cache.ContainsKey((hash, ver));
        }
    }

    private async Task<DiscoInfo?> TryGetInfoAsync(Jid jid, CancellationToken cancellationToken)
    {
        try
        {
            return await GetInfoAsync(jid, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is XmppStanzaException or TimeoutException)
        {
            Log.ResourceInfoFailed(_client.Logger, jid.ToString(), ex.Message);
            return null;
        }
    }

    private async Task<DiscoInfo> QueryAndVerifyAsync(Jid jid, CapsDescriptor caps, CancellationToken cancellationToken)
    {
        XmppElement query;
        try
        {
            query = await QueryAsync(jid, $"{caps.Node}#{caps.Ver}", cancellationToken).ConfigureAwait(false);
        }
        catch (XmppStanzaException ex) when (ex.Condition is "item-not-found" or "feature-not-implemented")
        {
            // Its ver moved on (or it does not know caps nodes): what it says without a node is true for it, but not for that ver.
            return DiscoInfo.Parse(await QueryAsync(jid, null, cancellationToken).ConfigureAwait(false));
        }

        var info = DiscoInfo.Parse(query);
        if (CapsHash.TryCompute(query, caps.Hash, out var computed, out var problem) && computed == caps.Ver)
        {
            lock (_lock)
            {
                AddToCacheLocked((caps.Hash, caps.Ver), info);
            }

            Log.CapsCached(_client.Logger, caps.Hash, caps.Ver, jid.ToString());
        }
        else
        {
            // §5.4 3.9: a mismatch is never cached, so one lying entity cannot poison what we believe of others.
            Log.CapsVerificationFailed(_client.Logger, jid.ToString(), caps.Ver, problem ?? computed);
        }

        return info;
    }

    private async Task<XmppElement> QueryAsync(Jid jid, string? node, CancellationToken cancellationToken)
    {
        var request = new XmppElement("query", XmppNamespaces.DiscoInfo);
        request.SetAttribute("node", node);
        var response = await _client.SendIqAsync(new Iq(IqType.Get, jid, request), cancellationToken: cancellationToken).ConfigureAwait(false);
        return response.Element("query", XmppNamespaces.DiscoInfo)
            ?? throw new XmppStanzaException(StanzaError.BadRequest("The disco#info answer has no query."), response.From);
    }

    private bool TryGetCachedLocked((string, string) key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out DiscoInfo? info)
    {
        if (_cache.TryGetValue(key, out var node))
        {
            _lru.Remove(node);
            _lru.AddFirst(node);
            info = node.Value.Info;
            return true;
        }

        info = null;
        return false;
    }

    private void AddToCacheLocked((string Hash, string Ver) key, DiscoInfo info)
    {
        if (_cache.TryGetValue(key, out var existing))
        {
            _lru.Remove(existing);
        }
        else if (_cache.Count >= MaxCacheEntries && _lru.Last is { } oldest)
        {
            _lru.RemoveLast();
            _cache.Remove(oldest.Value.Key);
        }

        _cache[key] = _lru.AddFirst(new CacheEntry(key, info));
    }

    private bool IsOwnCapsNode(string node)
    {
        var own = Current;
        return node.Length == own.Node.Length + 1 + own.Ver.Length
            && node.StartsWith(own.Node, StringComparison.Ordinal)
            && node[own.Node.Length] == '#'
            && node.EndsWith(own.Ver, StringComparison.Ordinal);
    }

    private CapsDescriptor Compute(string node) => new(node, CapsHash.Sha1, ComputeVer(_client.Disco.GetOwnInfo()));

    private void Recompute()
    {
        CapsDescriptor updated;
        bool changed;
        lock (_lock)
        {
            // Serialized, so the snapshot published last is the newest.
            updated = Compute(Node);
            changed = updated != _own;
            Volatile.Write(ref _own, updated);
        }

        if (!changed)
        {
            return;
        }

        Log.OwnCapsChanged(_client.Logger, updated.Ver);

        // XEP-0115 §6.1: a changed ver SHOULD be broadcast.
        if (_client.State == XmppConnectionState.Connected && _client.LastBroadcastPresence is not null && Interlocked.Exchange(ref _rebroadcastScheduled, 1) == 0)
        {
            var lifetime = _client.Lifetime;
            RebroadcastTask = Task.Run(() => RebroadcastAsync(lifetime), CancellationToken.None);
        }
    }

    private async Task RebroadcastAsync(CancellationToken lifetime)
    {
        try
        {
            await Task.Delay(RebroadcastDelay, lifetime).ConfigureAwait(false);
            Volatile.Write(ref _rebroadcastScheduled, 0);
            if (_client.State != XmppConnectionState.Connected || _client.LastBroadcastPresence is not { } last
                || CapsDescriptor.FromPresence(last)?.Ver == Current.Ver)
            {
                return;
            }

            // A copy: the original may still wait in the stream management queue.
            var copy = (Presence)last.Clone();
            copy.Id = null;
            await _client.SendAsync(copy, lifetime).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (lifetime.IsCancellationRequested)
        {
            // Disconnected; the next session's presence carries the new caps.
        }
        catch (XmppException ex)
        {
            Log.CapsRebroadcastFailed(_client.Logger, ex.Message);
        }
        finally
        {
            Volatile.Write(ref _rebroadcastScheduled, 0);
        }
    }

    private sealed record CacheEntry((string Hash, string Ver) Key, DiscoInfo Info);
}
