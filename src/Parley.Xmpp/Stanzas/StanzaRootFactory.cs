using Parley.Xmpp.Core;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp.Stanzas;

/// <summary>Message, presence and iq in <c>jabber:client</c> or <c>jabber:component:accept</c> become <see cref="Message"/>, <see cref="Presence"/> and <see cref="Iq"/>.</summary>
internal sealed class StanzaRootFactory : IStanzaRootFactory
{
    public static StanzaRootFactory Instance { get; } = new();

    public XmppElement? Create(string name, string @namespace)
    {
        if (@namespace != XmppNamespaces.Client && @namespace != XmppNamespaces.Component)
        {
            return null;
        }

        return name switch
        {
            "message" => new Message(@namespace),
            "presence" => new Presence(@namespace),
            "iq" => new Iq(@namespace),
            _ => null,
        };
    }
}
