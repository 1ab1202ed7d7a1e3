using Parley.Xmpp.Stanzas;

namespace Parley.Xmpp.Im;

/// <summary>Being written (IM work item).</summary>
public sealed class PresenceManager
{
    internal PresenceManager(XmppClient client) => _ = client;

}
