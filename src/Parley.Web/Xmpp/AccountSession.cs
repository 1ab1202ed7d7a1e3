using Parley.Xmpp;

namespace Parley.Web.Xmpp;

/// <summary>
/// One visitor's client session in account mode (<see cref="AccountLink"/>): the client, the gate that opens or closes
/// it one caller at a time, and the clients that carried the visitor's messages since the server last confirmed them.
/// </summary>
internal sealed class AccountSession
{
    private readonly Lock _lock = new();
    private readonly HashSet<XmppClient> _unconfirmed = [];

    public SemaphoreSlim Gate { get; } = new(1, 1);

    public XmppClient? Client { get; set; }

    /// <summary>Whether stanzas went out since the last <see cref="TakeUnconfirmed"/>.</summary>
    public bool HasUnconfirmed
    {
        get
        {
            lock (_lock)
            {
                return _unconfirmed.Count > 0;
            }
        }
    }

    public void MarkUnconfirmed(XmppClient client)
    {
        lock (_lock)
        {
            _unconfirmed.Add(client);
        }
    }

    /// <summary>The clients that carried stanzas since the last call.</summary>
    public List<XmppClient> TakeUnconfirmed()
    {
        lock (_lock)
        {
            var clients = _unconfirmed.ToList();
            _unconfirmed.Clear();
            return clients;
        }
    }
}
