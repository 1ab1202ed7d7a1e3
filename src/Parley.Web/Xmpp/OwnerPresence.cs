using Parley.Xmpp.Stanzas;

namespace Parley.Web.Xmpp;

/// <summary>
/// The owner's presence as each visitor's JID receives it (the owner's server sends it only to visitors the owner
/// approved), per resource, reduced to what the page shows: online, away or offline.
/// </summary>
internal sealed class OwnerPresence
{
    public const string Online = "online";
    public const string Away = "away";
    public const string Offline = "offline";

    private const int MaxResources = 32;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, Dictionary<string, PresenceShow>> _byVisitor = new(StringComparer.Ordinal);

    /// <summary>What a visitor's page shows for the owner.</summary>
    public string For(string visitorId)
    {
        lock (_lock)
        {
            return _byVisitor.TryGetValue(visitorId, out var resources) ? Reduce(resources) : Offline;
        }
    }

    /// <summary>
    /// Whether any visitor's JID currently receives the owner's presence: the best the gateway knows of whether the owner
    /// is online at all (a visitor the owner has not approved yet sees "offline" either way).
    /// </summary>
    public bool IsAvailableToAnyVisitor
    {
        get
        {
            lock (_lock)
            {
                return _byVisitor.Count > 0;
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
            if (show is { } value)
            {
                if (resources is null)
                {
                    resources = new Dictionary<string, PresenceShow>(StringComparer.Ordinal);
                    _byVisitor.Add(visitorId, resources);
                }

                if (resources.Count < MaxResources || resources.ContainsKey(resource))
                {
                    resources[resource] = value;
                }
            }
            else if (resources is not null)
            {
                resources.Remove(resource);
                if (resources.Count == 0)
                {
                    _byVisitor.Remove(visitorId);
                }
            }

            var after = _byVisitor.TryGetValue(visitorId, out var now) ? Reduce(now) : Offline;
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

    private static string Reduce(Dictionary<string, PresenceShow> resources)
    {
        if (resources.Count == 0)
        {
            return Offline;
        }

        return resources.Values.Any(s => s is PresenceShow.Online or PresenceShow.Chat) ? Online : Away;
    }
}
