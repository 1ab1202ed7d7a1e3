using Parley.Xmpp.Stanzas;

namespace Parley.Xmpp.Im;

/// <summary>Being written (IM work item).</summary>
public sealed class RosterManager
{
    internal RosterManager(XmppClient client) => _ = client;

}
