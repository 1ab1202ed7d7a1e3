using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;

namespace Parley.Xmpp;

/// <summary>Tells that the connection state changed.</summary>
public sealed class ConnectionStateChangedEventArgs : EventArgs
{
    internal ConnectionStateChangedEventArgs(XmppConnectionState oldState, XmppConnectionState newState, Exception? error, bool resumed)
    {
        OldState = oldState;
        NewState = newState;
        Error = error;
        Resumed = resumed;
    }

    /// <summary>The state before.</summary>
    public XmppConnectionState OldState { get; }

    /// <summary>The state now.</summary>
    public XmppConnectionState NewState { get; }

    /// <summary>Why the connection dropped or could not be made, if that is the reason for the change.</summary>
    public Exception? Error { get; }

    /// <summary>On <see cref="XmppConnectionState.Connected"/>: whether the previous session was resumed (XEP-0198), so no presence or roster needs to be re-sent.</summary>
    public bool Resumed { get; }
}

/// <summary>Stanzas that the library could not deliver to the server: the connection closed for good before they were written or acknowledged.</summary>
public sealed class UndeliveredStanzasEventArgs : EventArgs
{
    internal UndeliveredStanzasEventArgs(IReadOnlyList<Stanza> stanzas, Exception? reason)
    {
        Stanzas = stanzas;
        Reason = reason;
    }

    /// <summary>The stanzas, in the order they were sent.</summary>
    public IReadOnlyList<Stanza> Stanzas { get; }

    /// <summary>Why the connection ended.</summary>
    public Exception? Reason { get; }
}
