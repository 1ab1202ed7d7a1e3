namespace Parley.Xmpp.Core;

/// <summary>Where a connection stands.</summary>
public enum XmppConnectionState
{
    /// <summary>Not connected, and not trying to.</summary>
    Disconnected,
    /// <summary>The first connection attempt is under way.</summary>
    Connecting,
    /// <summary>Connected, authenticated and ready to send.</summary>
    Connected,
    /// <summary>The link dropped; reconnecting. Stanzas sent now wait and go out once connected.</summary>
    Reconnecting,
}
