using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;

namespace Parley.Xmpp;

/// <summary>
/// XEP-0198 state of a client: what we received (h), what the server has not yet acknowledged, how to resume, and who
/// waits for the acknowledgement of a stanza. Counters are 32-bit and wrap (XEP-0198 §4).
/// </summary>
internal sealed class StreamManagement
{
    private readonly Lock _lock = new();
    private readonly Queue<Stanza> _unacked = new();

    // Keyed by the stanza whose acknowledgement completes the wait; acknowledgements come in order, so that one stanza
    // acknowledged means every stanza written before it was too. A re-sent stanza is the same object, so a wait carries
    // over a resumption or a new session.
    private readonly Dictionary<Stanza, TaskCompletionSource> _waiters = new(ReferenceEqualityComparer.Instance);
    private Stanza? _lastWritten;
    private uint _acked;

    public bool Enabled { get; private set; }

    public string? ResumeId { get; private set; }

    public string? Location { get; private set; }

    public bool CanResume => ResumeId is not null;

    public uint InboundHandled { get; private set; }

    public int UnackedCount
    {
        get
        {
            lock (_lock)
            {
                return _unacked.Count;
            }
        }
    }

    public void OnEnabled(string? resumeId, string? location) => Reset(enabled: true, resumeId, location);

    /// <summary>A fresh session (no resumption): counters restart, resumption data is gone. Unacked stanzas stay for the caller to take.</summary>
    public void OnNewSession() => Reset(enabled: false, resumeId: null, location: null);

    private void Reset(bool enabled, string? resumeId, string? location)
    {
        lock (_lock)
        {
            Enabled = enabled;
            ResumeId = resumeId;
            Location = location;
            InboundHandled = 0;
            _acked = 0;
        }
    }

    public void OnStanzaReceived()
    {
        if (Enabled)
        {
            InboundHandled = unchecked(InboundHandled + 1);
        }
    }

    /// <summary>Tracks a written stanza until acknowledged; returns false when stream management is off.</summary>
    public bool OnStanzaWritten(Stanza stanza)
    {
        lock (_lock)
        {
            if (Enabled)
            {
                _unacked.Enqueue(stanza);
                _lastWritten = stanza;
            }
            else if (_waiters.Remove(stanza, out var waiter))
            {
                // Sent again on a stream without stream management: nothing will acknowledge it.
                waiter.TrySetException(new XmppTransportException("The stanza was sent again on a stream without stream management; its acknowledgement cannot come.", isTransient: true));
            }

            return Enabled;
        }
    }

    /// <summary>Applies an acknowledgement; returns false when the server acknowledged more than was sent.</summary>
    public bool OnAck(uint h)
    {
        lock (_lock)
        {
            var count = unchecked(h - _acked);
            if (count > _unacked.Count)
            {
                return false;
            }

            for (var i = 0u; i < count; i++)
            {
                var acknowledged = _unacked.Dequeue();
                if (ReferenceEquals(acknowledged, _lastWritten))
                {
                    _lastWritten = null;
                }

                if (_waiters.Remove(acknowledged, out var waiter))
                {
                    waiter.TrySetResult();
                }
            }

            _acked = h;
            return true;
        }
    }

    /// <summary>
    /// A task that completes when the server has acknowledged every stanza written under stream management so far, or
    /// <see langword="null"/> when stream management is off and no such stanza waits. The wait survives a lost stream
    /// (<see cref="TakeUnacked"/> hands the stanzas out to be sent again) and fails through <see cref="FailWaiters"/>.
    /// </summary>
    public Task? WhenAllAcknowledged()
    {
        lock (_lock)
        {
            if (_lastWritten is not { } last)
            {
                return Enabled ? Task.CompletedTask : null;
            }

            if (!_waiters.TryGetValue(last, out var waiter))
            {
                _waiters[last] = waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            return waiter.Task;
        }
    }

    /// <summary>
    /// Fails every wait of <see cref="WhenAllAcknowledged"/>: the session ended and its stanzas will not be sent again.
    /// Stream management is off until the next session enables it, so a later wait cannot take the end for a confirmation.
    /// </summary>
    public void FailWaiters(Exception reason)
    {
        List<TaskCompletionSource> waiters;
        lock (_lock)
        {
            waiters = [.. _waiters.Values];
            _waiters.Clear();
            _lastWritten = null;
            Enabled = false;
        }

        foreach (var waiter in waiters)
        {
            waiter.TrySetException(reason);
        }
    }

    /// <summary>Forgets the resumption id: the next connection starts a new session instead of resuming this one.</summary>
    public void ForgetResumption()
    {
        lock (_lock)
        {
            ResumeId = null;
            Location = null;
        }
    }

    /// <summary>Removes and returns every unacknowledged stanza, oldest first.</summary>
    public List<Stanza> TakeUnacked()
    {
        lock (_lock)
        {
            var list = _unacked.ToList();
            _unacked.Clear();
            return list;
        }
    }
}
