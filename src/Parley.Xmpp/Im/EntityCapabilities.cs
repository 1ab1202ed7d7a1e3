using Parley.Xmpp.Stanzas;

namespace Parley.Xmpp.Im;

/// <summary>Being written (IM work item).</summary>
public sealed class EntityCapabilities
{
    internal EntityCapabilities(XmppClient client) => _ = client;

    internal void Decorate(Presence presence) => _ = presence;
}
