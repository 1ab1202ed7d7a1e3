using Parley.Xmpp.Stanzas;

namespace Parley.Xmpp.Internal;

/// <summary>
/// XEP-0198 state of a client: what we received (h), what the server has not yet acknowledged, and
/// how to resume. Counters are 32-bit and wrap (XEP-0198 §4).
/// </summary>
internal sealed class StreamManagement
{
    private readonly Lock _lock = new();
    private readonly Queue<Stanza> _unacked = new();
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
                _unacked.Dequeue();
            }

            _acked = h;
            return true;
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
