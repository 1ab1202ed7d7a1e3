using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;

namespace Parley.Xmpp;

/// <summary>
/// Where an endpoint puts the stanzas it sends, once they are prepared (id, default sender, capabilities). The library's
/// one is the session engine (<see cref="XmppSession"/>): the live connection, the backlog while reconnecting, or a refusal.
/// Tests give a client another one to see what it sends, and answer its requests through the client's
/// <see cref="IqTracker"/>, without a network.
/// </summary>
internal interface IStanzaOutbox
{
    /// <summary>Queues a prepared stanza; completes when it was written (or handed to stream management).</summary>
    /// <exception cref="XmppNotConnectedException">Not connected (and not reconnecting).</exception>
    /// <exception cref="XmppTransportException">The connection closed before the stanza was written, or the backlog is full.</exception>
    Task EnqueueAsync(Stanza stanza, CancellationToken cancellationToken);
}
