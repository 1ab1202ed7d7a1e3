using Microsoft.Extensions.Options;
using Parley.Web.Configuration;
using Parley.Web.Storage;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;

namespace Parley.Web.Xmpp;

/// <summary>
/// Keeps each visitor's presence on XMPP in step with their open tabs, for both links: a visitor is announced while
/// at least one tab is open, and stays for <see cref="GatewayOptions.PresenceLinger"/> after the last one closed, so a
/// reload does not flap. The same linger closes what a link keeps open for a visitor with no tab (in account mode, the
/// session opened to send their messages) once it has not been used for that long. This is the only place that times
/// presence; the link only carries the stanzas. When the gateway shares one view of the owner's presence, each new
/// stream also asks for it from the gateway's own address: a probe for the current presence and a subscription request
/// (the owner approves it once; the server answers repeats itself).
/// </summary>
internal sealed class PresenceTracker
{
    private readonly VisitorLink _link;
    private readonly VisitorRepository _visitors;
    private readonly TimeProvider _time;
    private readonly TimeSpan _linger;
    private readonly Func<string, bool> _hasOpenTab;
    private readonly bool _sharesOwnerPresence;
    private readonly Jid _owner;
    private readonly Lock _lock = new();
    private readonly HashSet<string> _announced = new(StringComparer.Ordinal);
    private readonly HashSet<string> _arriving = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Linger> _lingering = new(StringComparer.Ordinal);
    private bool _askOwnerDue;

    /// <summary>
    /// Tracks the visitors of <paramref name="link"/>; <paramref name="hasOpenTab"/> says whether a visitor has a tab
    /// open now (asked again before announcing, as tabs come and go meanwhile).
    /// </summary>
    public PresenceTracker(IOptions<GatewayOptions> options, VisitorLink link, VisitorRepository visitors, TimeProvider time, Func<string, bool> hasOpenTab)
    {
        _link = link;
        _visitors = visitors;
        _time = time;
        _linger = options.Value.PresenceLinger;
        _hasOpenTab = hasOpenTab;
        _sharesOwnerPresence = options.Value.SharesOwnerPresence;
        _owner = options.Value.OwnerJid;
        _link.ConnectionChanged += OnLinkChanged;
        _link.VisitorLost += OnVisitorLost;
        _link.SessionUsed += OnSessionUsed;
    }

    /// <summary>Raised when there is presence to send now (the link's loop runs <see cref="AnnounceArrivingAsync"/>).</summary>
    public event Action? WorkDue;

    /// <summary>A visitor's first tab opened.</summary>
    public void TabsOpened(string visitorId)
    {
        lock (_lock)
        {
            _lingering.Remove(visitorId);
            if (!_announced.Contains(visitorId))
            {
                _arriving.Add(visitorId);
            }
        }

        WorkDue?.Invoke();
    }

    /// <summary>A visitor's last tab closed: they leave once the linger is over, unless a tab opens again.</summary>
    public void TabsClosed(string visitorId)
    {
        lock (_lock)
        {
            _arriving.Remove(visitorId);
            if (_announced.Contains(visitorId))
            {
                LingerLocked(visitorId, announced: true);
            }
        }

        WorkDue?.Invoke();
    }

    /// <summary>Whether the owner was told that the visitor is here (and not yet that they left).</summary>
    public bool IsAnnounced(string visitorId)
    {
        lock (_lock)
        {
            return _announced.Contains(visitorId);
        }
    }

    /// <summary>The visitors the owner was told are here, or are about to be (a tab is open), at most <paramref name="limit"/>.</summary>
    public IReadOnlyCollection<string> Present(int limit)
    {
        lock (_lock)
        {
            return _announced.Concat(_arriving).Distinct(StringComparer.Ordinal).Take(limit).ToList();
        }
    }

    /// <summary>Announces the visitors whose tabs opened; stops at the first that cannot be announced now (retried on the next pass).</summary>
    /// <exception cref="ChatStoreException">The database is unavailable.</exception>
    public async Task AnnounceArrivingAsync(CancellationToken cancellationToken)
    {
        if (!await AskOwnerPresenceIfDueAsync(cancellationToken))
        {
            return;
        }

        string[] arriving;
        lock (_lock)
        {
            arriving = [.. _arriving];
            _arriving.Clear();
        }

        foreach (var visitorId in arriving)
        {
            if (!_hasOpenTab(visitorId))
            {
                continue;
            }

            var visitor = await _visitors.FindAsync(visitorId, cancellationToken);
            if (visitor is not null && _link.IsConnected && await _link.AnnounceAsync(visitor, cancellationToken))
            {
                lock (_lock)
                {
                    _announced.Add(visitorId);
                    if (_hasOpenTab(visitorId))
                    {
                        _lingering.Remove(visitorId);
                    }
                    else
                    {
                        // The last tab closed while we were announcing.
                        LingerLocked(visitorId, announced: true);
                    }
                }
            }
            else
            {
                lock (_lock)
                {
                    _arriving.Add(visitorId);
                }

                return;
            }
        }
    }

    /// <summary>Ends the lingers that ran out: an announced visitor leaves, a session nobody used any more is released.</summary>
    public async Task EndLingeringAsync(CancellationToken cancellationToken)
    {
        List<(string VisitorId, bool Leave)> ended = [];
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            foreach (var (visitorId, linger) in _lingering)
            {
                if (linger.Until <= now)
                {
                    ended.Add((visitorId, linger.Announced));
                }
            }

            foreach (var (visitorId, leave) in ended)
            {
                _lingering.Remove(visitorId);
                if (leave)
                {
                    _announced.Remove(visitorId);
                }
            }
        }

        foreach (var (visitorId, leave) in ended)
        {
            if (leave)
            {
                await _link.LeaveAsync(visitorId, cancellationToken);
            }
            else if (!IsAnnounced(visitorId))
            {
                // A session that a tab announced meanwhile stays: the tabs decide now.
                await _link.ReleaseAsync(visitorId, cancellationToken);
            }
        }
    }

    /// <summary>Makes every announced visitor leave, and the gateway's own address (the gateway stops).</summary>
    public async Task LeaveAllAsync(CancellationToken cancellationToken)
    {
        string[] online;
        lock (_lock)
        {
            online = [.. _announced];
            _announced.Clear();
            _lingering.Clear();
        }

        foreach (var visitorId in online)
        {
            await _link.LeaveAsync(visitorId, cancellationToken);
        }

        // The owner's client stops showing the gateway online, and its commands with it.
        await _link.TrySendAsGatewayAsync(new Presence(PresenceType.Unavailable, _owner), cancellationToken);
    }

    /// <summary>
    /// Sends the gateway's probe, subscription request and own presence (its caps ask the owner's PEP for profile
    /// changes) to the owner when a new stream needs them; false when that has to wait.
    /// </summary>
    private async Task<bool> AskOwnerPresenceIfDueAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (!_askOwnerDue)
            {
                return true;
            }

            _askOwnerDue = false;
        }

        // The probe goes first: Prosody answers a probe from an address not yet approved with "unsubscribed" on the owner's
        // behalf, and that answer would cancel a request still waiting for the owner.
        if (_link.IsConnected
            && await _link.TrySendAsGatewayAsync(new Presence(PresenceType.Probe, _owner), cancellationToken)
            && await _link.TrySendAsGatewayAsync(new Presence(PresenceType.Subscribe, _owner), cancellationToken)
            && await _link.TrySendAsGatewayAsync(new Presence { To = _owner }, cancellationToken))
        {
            return true;
        }

        lock (_lock)
        {
            _askOwnerDue = true;
        }

        return false;
    }

    private void LingerLocked(string visitorId, bool announced) => _lingering[visitorId] = new Linger(_time.GetUtcNow() + _linger, announced);

    private void OnLinkChanged(bool connected)
    {
        if (!connected)
        {
            return;
        }

        // A new stream: tell the owner again who is here, and ask again for the owner's presence.
        lock (_lock)
        {
            _arriving.UnionWith(_announced);
            _announced.Clear();
            _askOwnerDue = _sharesOwnerPresence;
        }

        WorkDue?.Invoke();
    }

    /// <summary>A visitor's own session was lost (account mode): announce them again if a tab is still open.</summary>
    private void OnVisitorLost(string visitorId)
    {
        lock (_lock)
        {
            if (_announced.Remove(visitorId) && _hasOpenTab(visitorId))
            {
                _arriving.Add(visitorId);
            }
        }

        WorkDue?.Invoke();
    }

    /// <summary>The link used a visitor's own session: one that no tab announced is released after the linger.</summary>
    private void OnSessionUsed(string visitorId)
    {
        lock (_lock)
        {
            if (!_announced.Contains(visitorId) && !(_lingering.TryGetValue(visitorId, out var linger) && linger.Announced))
            {
                LingerLocked(visitorId, announced: false);
            }
        }
    }

    /// <summary>Until when a visitor stays; <see cref="Announced"/>: then they leave, otherwise their session is released.</summary>
    private readonly record struct Linger(DateTimeOffset Until, bool Announced);
}
