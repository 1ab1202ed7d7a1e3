using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp.Im;

/// <summary>The entity capabilities (XEP-0115) a presence carried.</summary>
/// <param name="Node">The software's URI.</param>
/// <param name="Hash">The hash algorithm, e.g. <c>sha-1</c>.</param>
/// <param name="Ver">The verification string.</param>
public sealed record CapsDescriptor(string Node, string Hash, string Ver)
{
    private const int MaxNodeLength = 1024;
    private const int MaxVerLength = 256;

    /// <summary>Reads the <c>&lt;c xmlns='http://jabber.org/protocol/caps'/&gt;</c> of a presence. Legacy caps without a hash (XEP-0115 §8) and oversized values are ignored.</summary>
    /// <param name="presence">The presence.</param>
    /// <returns>The descriptor, or <see langword="null"/>.</returns>
    public static CapsDescriptor? FromPresence(Presence presence)
    {
        ArgumentNullException.ThrowIfNull(presence);
        if (presence.Element("c", XmppNamespaces.Caps) is not { } c)
        {
            return null;
        }

        var node = c.GetAttribute("node");
        var hash = c.GetAttribute("hash");
        var ver = c.GetAttribute("ver");
        if (node is not { Length: > 0 and <= MaxNodeLength } || hash is not { Length: > 0 and <= 32 } || ver is not { Length: > 0 and <= MaxVerLength })
        {
            return null;
        }

        return new CapsDescriptor(node, hash, ver);
    }

    /// <summary>Builds the <c>&lt;c/&gt;</c> element.</summary>
    internal XmppElement ToElement()
    {
        var c = new XmppElement("c", XmppNamespaces.Caps);
        c.SetAttribute("hash", Hash);
        c.SetAttribute("node", Node);
        c.SetAttribute("ver", Ver);
        return c;
    }
}

/// <summary>The latest presence of one available resource of a contact.</summary>
/// <param name="Jid">The resource's full JID (or the bare JID, for entities that send presence without a resource).</param>
/// <param name="Presence">A copy of the latest available presence it sent.</param>
/// <param name="Caps">Its entity capabilities: from this presence, or the last one that carried them (servers may strip repeats, XEP-0115 §8.4).</param>
public sealed record ResourcePresence(Jid Jid, Presence Presence, CapsDescriptor? Caps)
{
    /// <summary>The availability sub-state.</summary>
    public PresenceShow Show => Presence.Show;

    /// <summary>The status text, if any.</summary>
    public string? Status => Presence.Status;

    /// <summary>The resource priority.</summary>
    public int Priority => Presence.Priority;
}

/// <summary>Tells that a contact's resource became available, changed its presence, or went away.</summary>
public sealed class PresenceChangedEventArgs : EventArgs
{
    internal PresenceChangedEventArgs(Jid jid, Presence presence, ResourcePresence? current)
    {
        Jid = jid;
        Presence = presence;
        Current = current;
    }

    /// <summary>The resource (full JID), or the bare JID for an entity without resources.</summary>
    public Jid Jid { get; }

    /// <summary>The stanza that caused the change: available, unavailable, unsubscribed or error from the contact, or our own unsubscribe.</summary>
    public Presence Presence { get; }

    /// <summary>The resource's presence now, or <see langword="null"/> when it is no longer available.</summary>
    public ResourcePresence? Current { get; }

    /// <summary>Whether the resource is available now.</summary>
    public bool IsAvailable => Current is not null;

    /// <summary>The resource and its state, for logs.</summary>
    public override string ToString() => IsAvailable ? $"{Jid} available ({Current!.Show}, caps {Current.Caps?.Ver ?? "none"})" : $"{Jid} gone ({Presence.TypeName})";
}

/// <summary>Tells that someone asked to see our presence (RFC 6121 §3.1.3). Answer with <see cref="PresenceManager.ApproveSubscriptionAsync"/> or <see cref="PresenceManager.DenySubscriptionAsync"/>.</summary>
public sealed class SubscriptionRequestedEventArgs : EventArgs
{
    internal SubscriptionRequestedEventArgs(Jid from, Presence presence)
    {
        From = from;
        Presence = presence;
    }

    /// <summary>Who asks (bare JID).</summary>
    public Jid From { get; }

    /// <summary>The request, e.g. for its status text.</summary>
    public Presence Presence { get; }

    /// <summary>Who asks, for logs.</summary>
    public override string ToString() => $"subscription request from {From}";
}

/// <summary>What a contact did to a subscription.</summary>
public enum SubscriptionChange
{
    /// <summary>The contact approved our request: we now see their presence.</summary>
    Subscribed,
    /// <summary>The contact stopped seeing our presence.</summary>
    Unsubscribe,
    /// <summary>The contact denied our request or revoked our subscription: we no longer see their presence.</summary>
    Unsubscribed,
}

/// <summary>Tells that a contact changed a subscription (RFC 6121 §3.1.5, §3.2, §3.3).</summary>
public sealed class SubscriptionChangedEventArgs : EventArgs
{
    internal SubscriptionChangedEventArgs(Jid from, SubscriptionChange change, Presence presence)
    {
        From = from;
        Change = change;
        Presence = presence;
    }

    /// <summary>The contact (bare JID).</summary>
    public Jid From { get; }

    /// <summary>What happened.</summary>
    public SubscriptionChange Change { get; }

    /// <summary>The stanza.</summary>
    public Presence Presence { get; }

    /// <summary>The change, for logs.</summary>
    public override string ToString() => $"{Change} from {From}";
}
