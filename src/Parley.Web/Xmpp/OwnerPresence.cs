using Parley.Xmpp.Stanzas;

namespace Parley.Web.Xmpp;

/// <summary>
/// The owner's presence, per resource, reduced to what the page shows: online, away or offline. Shared (the default
/// in component mode): the gateway's own address receives it through its one subscription, and every visitor sees
/// that. Otherwise each visitor's JID receives it, and only once the owner approved that visitor.
/// </summary>
internal sealed class OwnerPresence
{
    public const string Online = "online";
    public const string Away = "away";
    public const string Offline = "offline";

    private const int MaxResources = 32;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, Dictionary<string, PresenceShow>> _byVisitor = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PresenceShow> _shared = new(StringComparer.Ordinal);

    /// <summary>
    /// <paramref name="shared"/>: every visitor sees what the gateway's own address receives (<see cref="ApplyShared"/>);
    /// otherwise each visitor sees what their own JID receives (<see cref="Apply"/>).
    /// </summary>
    public OwnerPresence(bool shared = false) => IsShared = shared;

    /// <summary>Whether every visitor sees the presence the gateway's own address receives.</summary>
    public bool IsShared { get; }

    /// <summary>What a visitor's page shows for the owner.</summary>
    public string For(string visitorId)
    {
        lock (_lock)
        {
            if (IsShared)
            {
                return Reduce(_shared);
            }

            return _byVisitor.TryGetValue(visitorId, out var resources) ? Reduce(resources) : Offline;
        }
    }

    /// <summary>
    /// Whether the owner is known to be available: shared, whether the gateway's address sees the owner; otherwise
    /// whether any visitor's JID does (a visitor the owner has not approved yet sees "offline" either way).
    /// </summary>
    public bool IsAvailableToAnyVisitor
    {
        get
        {
            lock (_lock)
            {
                return IsShared ? _shared.Count > 0 : _byVisitor.Count > 0;
            }
        }
    }

    /// <summary>Applies one presence of the owner addressed to a visitor; returns the new summary when it changed.</summary>
    public string? Apply(string visitorId, string resource, PresenceShow? show)
    {
        lock (_lock)
        {
            _byVisitor.TryGetValue(visitorId, out var resources);
            var before = resources is null ? Offline : Reduce(resources);
            if (show is not null && resources is null)
            {
                resources = new Dictionary<string, PresenceShow>(StringComparer.Ordinal);
                _byVisitor.Add(visitorId, resources);
            }

            if (resources is not null)
            {
                Update(resources, resource, show);
                if (resources.Count == 0)
                {
                    _byVisitor.Remove(visitorId);
                }
            }

            var after = _byVisitor.TryGetValue(visitorId, out var now) ? Reduce(now) : Offline;
            return after == before ? null : after;
        }
    }

    /// <summary>Applies one presence of the owner addressed to the gateway's own address; returns the new summary when it changed.</summary>
    public string? ApplyShared(string resource, PresenceShow? show)
    {
        lock (_lock)
        {
            var before = Reduce(_shared);
            Update(_shared, resource, show);
            var after = Reduce(_shared);
            return after == before ? null : after;
        }
    }

    /// <summary>Forgets the owner's presence for one visitor (the owner revoked the subscription); returns "offline" when that changed anything.</summary>
    public string? Forget(string visitorId)
    {
        lock (_lock)
        {
            return _byVisitor.Remove(visitorId) ? Offline : null;
        }
    }

    /// <summary>Forgets what the gateway's own address knew (the owner revoked its subscription, or the link dropped); returns "offline" when that changed anything.</summary>
    public string? ForgetShared()
    {
        lock (_lock)
        {
            var known = _shared.Count > 0;
            _shared.Clear();
            return known ? Offline : null;
        }
    }

    /// <summary>Forgets the owner's presence for every visitor (the component lost its connection); returns who saw it change.</summary>
    public IReadOnlyList<string> Clear()
    {
        lock (_lock)
        {
            var visitors = _byVisitor.Keys.ToList();
            _byVisitor.Clear();
            return visitors;
        }
    }

    private static void Update(Dictionary<string, PresenceShow> resources, string resource, PresenceShow? show)
    {
        if (show is not { } value)
        {
            resources.Remove(resource);
        }
        else if (resources.Count < MaxResources || resources.ContainsKey(resource))
        {
            resources[resource] = value;
        }
    }

    private static string Reduce(Dictionary<string, PresenceShow> resources)
    {
        if (resources.Count == 0)
        {
            return Offline;
        }

        return resources.Values.Any(s => s is PresenceShow.Online or PresenceShow.Chat) ? Online : Away;
    }
}
