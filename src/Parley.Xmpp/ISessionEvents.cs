using Parley.Xmpp.Stanzas;

namespace Parley.Xmpp;

/// <summary>What the session engine reports to the endpoint that owns it.</summary>
internal interface ISessionEvents
{
    /// <summary>Runs the handlers for one received stanza. The session calls it from its one dispatch loop, in arrival order.</summary>
    ValueTask DispatchAsync(Stanza stanza, CancellationToken cancellationToken);

    /// <summary>The connection state changed. Called outside the session's locks.</summary>
    void OnStateChanged(ConnectionStateChangedEventArgs change);

    /// <summary>Stanzas could not be delivered because the connection ended for good.</summary>
    void OnUndelivered(UndeliveredStanzasEventArgs undelivered);
}
