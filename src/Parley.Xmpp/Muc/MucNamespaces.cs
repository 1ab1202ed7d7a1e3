using Parley.Xmpp.Core;

namespace Parley.Xmpp.Muc;

/// <summary>The namespaces of group chat and its companions.</summary>
internal static class MucNamespaces
{
    /// <summary>XEP-0045: the join request's <c>&lt;x/&gt;</c> and the disco feature.</summary>
    public const string Muc = "http://jabber.org/protocol/muc";

    /// <summary>XEP-0045: what the room says about occupants (<c>&lt;x/&gt;</c> with items and status codes).</summary>
    public const string User = "http://jabber.org/protocol/muc#user";

    /// <summary>XEP-0249 direct invitations.</summary>
    public const string DirectInvite = "jabber:x:conference";

    /// <summary>XEP-0359 unique and stable stanza ids, which rooms with an archive add to each message.</summary>
    public const string StanzaId = XmppNamespaces.StanzaIds;
}
