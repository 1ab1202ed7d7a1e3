using Parley.Xmpp.Core;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp.Stanzas;

/// <summary>The common part of <see cref="Message"/>, <see cref="Presence"/> and <see cref="Iq"/>: addressing, id and errors.</summary>
public abstract class Stanza : XmppElement
{
    /// <summary>Creates an empty stanza in the <c>jabber:client</c> namespace.</summary>
    /// <param name="name">message, presence or iq.</param>
    protected Stanza(string name)
        : base(name, XmppNamespaces.Client)
    {
    }

    /// <summary>Creates an empty stanza in a given content namespace (client or component).</summary>
    /// <param name="name">message, presence or iq.</param>
    /// <param name="namespace">The content namespace.</param>
    protected Stanza(string name, string @namespace)
        : base(name, @namespace)
    {
    }

    /// <summary>Creates an empty stanza with a name known to be valid (message, presence or iq).</summary>
    private protected Stanza(string name, string @namespace, bool nameChecked)
        : base(name, @namespace, nameChecked)
    {
    }

    /// <summary>Copies a stanza.</summary>
    /// <param name="other">The stanza to copy.</param>
    protected Stanza(Stanza other)
        : base(other)
    {
    }

    /// <summary>The addressee, or <see langword="null"/> (the account itself or the server).</summary>
    /// <exception cref="FormatException">The attribute holds an invalid JID (on get).</exception>
    public Jid? To
    {
        get => GetAttribute("to") is { } value ? Jid.Parse(value) : null;
        set => SetAttribute("to", value?.ToString());
    }

    /// <summary>The sender as stamped by the server, or <see langword="null"/>.</summary>
    /// <exception cref="FormatException">The attribute holds an invalid JID (on get).</exception>
    public Jid? From
    {
        get => GetAttribute("from") is { } value ? Jid.Parse(value) : null;
        set => SetAttribute("from", value?.ToString());
    }

    /// <summary>The stanza id.</summary>
    public string? Id
    {
        get => GetAttribute("id");
        set => SetAttribute("id", value);
    }

    /// <summary>The <c>xml:lang</c> of the stanza.</summary>
    public string? Language
    {
        get => GetAttribute("xml:lang");
        set => SetAttribute("xml:lang", value);
    }

    /// <summary>The raw <c>type</c> attribute.</summary>
    public string? TypeName
    {
        get => GetAttribute("type");
        set => SetAttribute("type", value);
    }

    /// <summary>Whether the stanza is of type <c>error</c>.</summary>
    public bool IsError => GetAttribute("type") == "error";

    /// <summary>The error this stanza carries, or <see langword="null"/>.</summary>
    public StanzaError? Error => Element("error", Namespace) is { } error ? StanzaError.Parse(error) : null;

    /// <summary>Generates a fresh, unpredictable stanza id.</summary>
    public static string NewId() => IdGenerator.Next();

    /// <summary>The error reply to this stanza (RFC 6120 §8.3.1): the same kind and id, sent back to its sender.</summary>
    internal Stanza CreateErrorReply(StanzaError error)
    {
        Stanza reply = this switch
        {
            Message => new Message(Namespace),
            Presence => new Presence(Namespace),
            _ => new Iq(Namespace),
        };
        reply.TypeName = "error";
        reply.Id = Id;
        AddressReply(reply);
        reply.Add(error.ToElement(Namespace));
        return reply;
    }

    /// <summary>Addresses a reply to this stanza's sender.</summary>
    private protected void AddressReply(Stanza reply)
    {
        reply.SetAttribute("to", GetAttribute("from"));

        // A component speaks for many addresses and must say which one answers (XEP-0114 §3);
        // a client's server stamps the sender itself.
        if (Namespace == XmppNamespaces.Component)
        {
            reply.SetAttribute("from", GetAttribute("to"));
        }
    }
}
