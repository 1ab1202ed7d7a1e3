namespace Parley.Xmpp.Core;

/// <summary>Namespace URIs used by the core library.</summary>
public static class XmppNamespaces
{
    /// <summary>Client-to-server stanzas (RFC 6120).</summary>
    public const string Client = "jabber:client";
    /// <summary>External component stanzas (XEP-0114).</summary>
    public const string Component = "jabber:component:accept";
    /// <summary>The stream element.</summary>
    public const string Streams = "http://etherx.jabber.org/streams";
    /// <summary>Stream errors.</summary>
    public const string StreamErrors = "urn:ietf:params:xml:ns:xmpp-streams";
    /// <summary>Stanza errors.</summary>
    public const string Stanzas = "urn:ietf:params:xml:ns:xmpp-stanzas";
    /// <summary>STARTTLS.</summary>
    public const string Tls = "urn:ietf:params:xml:ns:xmpp-tls";
    /// <summary>SASL.</summary>
    public const string Sasl = "urn:ietf:params:xml:ns:xmpp-sasl";
    /// <summary>Resource binding.</summary>
    public const string Bind = "urn:ietf:params:xml:ns:xmpp-bind";
    /// <summary>Legacy session establishment (RFC 3921), still announced by some servers.</summary>
    public const string Session = "urn:ietf:params:xml:ns:xmpp-session";
    /// <summary>Roster (RFC 6121).</summary>
    public const string Roster = "jabber:iq:roster";
    /// <summary>Service discovery information (XEP-0030).</summary>
    public const string DiscoInfo = "http://jabber.org/protocol/disco#info";
    /// <summary>Service discovery items (XEP-0030).</summary>
    public const string DiscoItems = "http://jabber.org/protocol/disco#items";
    /// <summary>Entity capabilities (XEP-0115).</summary>
    public const string Caps = "http://jabber.org/protocol/caps";
    /// <summary>XMPP ping (XEP-0199).</summary>
    public const string Ping = "urn:xmpp:ping";
    /// <summary>Delayed delivery (XEP-0203).</summary>
    public const string Delay = "urn:xmpp:delay";
    /// <summary>Stream management (XEP-0198).</summary>
    public const string StreamManagement = "urn:xmpp:sm:3";
    /// <summary>In-band registration (XEP-0077).</summary>
    public const string Register = "jabber:iq:register";
    /// <summary>In-band registration stream feature (XEP-0077).</summary>
    public const string RegisterFeature = "http://jabber.org/features/iq-register";
    /// <summary>Ad-hoc commands (XEP-0050).</summary>
    public const string Commands = "http://jabber.org/protocol/commands";
    /// <summary>Data forms (XEP-0004).</summary>
    public const string DataForms = "jabber:x:data";
    /// <summary>Service administration (XEP-0133) node prefix.</summary>
    public const string Admin = "http://jabber.org/protocol/admin";
    /// <summary>Chat state notifications (XEP-0085).</summary>
    public const string ChatStates = "http://jabber.org/protocol/chatstates";
    /// <summary>Message delivery receipts (XEP-0184).</summary>
    public const string Receipts = "urn:xmpp:receipts";
    /// <summary>Unique and stable stanza ids: <c>origin-id</c> and <c>stanza-id</c> (XEP-0359).</summary>
    public const string StanzaIds = "urn:xmpp:sid:0";
}
