using Parley.Testing;
using Parley.Xmpp;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;

namespace Parley.Web.Benchmarks;

/// <summary>
/// The owner: a real <see cref="XmppClient"/> on the harness's Prosody that answers every chat message with a body by
/// sending the same text back to the sender's bare JID (a visitor of the gateway, or the polling design's visitor account),
/// and counts the visitors the gateway announced as available.
/// </summary>
internal sealed class EchoOwner : IAsyncDisposable
{
    private readonly XmppClient _client;
    private readonly HashSet<Jid> _available = [];
    private readonly Lock _lock = new();
    private readonly string _componentDomain;
    private long _echoed;

    private EchoOwner(XmppClient client, string componentDomain)
    {
        _client = client;
        _componentDomain = componentDomain;
    }

    public Jid Jid => _client.Jid!;

    /// <summary>Messages echoed so far.</summary>
    public long Echoed => Interlocked.Read(ref _echoed);

    /// <summary>Visitors of the gateway whose latest presence to the owner is "available".</summary>
    public int AvailableVisitors
    {
        get
        {
            lock (_lock)
            {
                return _available.Count;
            }
        }
    }

    public static async Task<EchoOwner> ConnectAsync(XmppTestServer server, TestAccount account, CancellationToken cancellationToken)
    {
        var options = server.ClientOptions(account, "desk");

        // Measured: the gateway, not the owner's client. With stream management Parley asks for an ack after every
        // message in a one-at-a-time exchange (benchmarks/Parley.Benchmarks/README.md), which adds a Prosody round trip.
        options.StreamManagement = false;
        var owner = new EchoOwner(new XmppClient(options), server.ComponentDomain);
        owner._client.OnMessage(owner.EchoAsync);
        owner._client.OnPresence(owner.CountPresence);
        await owner._client.ConnectAsync(cancellationToken);
        await owner._client.SendPresenceAsync(cancellationToken: cancellationToken);
        return owner;
    }

    public ValueTask DisposeAsync() => _client.DisposeAsync();

    private async ValueTask EchoAsync(Message message, CancellationToken cancellationToken)
    {
        if (message.From is not { } from || message.Body is not { Length: > 0 } body || message.Type is not (MessageType.Chat or MessageType.Normal))
        {
            return;
        }

        await _client.SendAsync(new Message(from.Bare, body), cancellationToken);
        Interlocked.Increment(ref _echoed);
    }

    private ValueTask CountPresence(Presence presence, CancellationToken cancellationToken)
    {
        if (presence.From is { Local: not null } from && from.Domain == _componentDomain)
        {
            lock (_lock)
            {
                if (presence.Type == PresenceType.Available)
                {
                    _available.Add(from.Bare);
                }
                else if (presence.Type == PresenceType.Unavailable)
                {
                    _available.Remove(from.Bare);
                }
            }
        }

        return ValueTask.CompletedTask;
    }
}
