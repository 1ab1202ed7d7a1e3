using Parley.Xmpp.Core;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp.Im;

/// <summary>The subscription state of a roster item (RFC 6121 §2.1.2.5).</summary>
public enum RosterSubscription
{
    /// <summary>Neither side sees the other's presence.</summary>
    None,
    /// <summary>We see the contact's presence; the contact does not see ours.</summary>
    To,
    /// <summary>The contact sees our presence; we do not see theirs.</summary>
    From,
    /// <summary>Both see each other's presence.</summary>
    Both,
    /// <summary>The item was removed (only in roster pushes and <see cref="RosterChangedEventArgs"/>).</summary>
    Remove,
}

/// <summary>A contact in the roster (RFC 6121 §2.1.2). Immutable; create changed copies with <c>with</c>.</summary>
/// <param name="Jid">The contact's address (normally a bare JID).</param>
public sealed record RosterItem(Jid Jid)
{
    /// <summary>The longest roster item name or group name accepted, in characters.</summary>
    internal const int MaxTextLength = 1024;

    /// <summary>The most groups read per item; further groups are ignored.</summary>
    internal const int MaxGroups = 128;

    /// <summary>The handle the user gave the contact, or <see langword="null"/>.</summary>
    public string? Name { get; init; }

    /// <summary>The subscription state; set by the server, ignored by <see cref="RosterManager.SetAsync"/>.</summary>
    public RosterSubscription Subscription { get; init; }

    /// <summary>Whether our request to see the contact's presence is pending (<c>ask='subscribe'</c>); set by the server.</summary>
    public bool Ask { get; init; }

    /// <summary>Whether we pre-approved the contact's subscription request (RFC 6121 §3.4); set by the server.</summary>
    public bool Approved { get; init; }

    /// <summary>The groups the contact is in, without duplicates.</summary>
    public IReadOnlyList<string> Groups { get; init; } = [];

    /// <summary>Reads an <c>&lt;item/&gt;</c> of <c>jabber:iq:roster</c>.</summary>
    /// <returns>The item, or <see langword="null"/> with a reason when the element is invalid.</returns>
    internal static RosterItem? TryParse(XmppElement element, out string? reason)
    {
        reason = null;
        if (!Jid.TryParse(element.GetAttribute("jid"), out var jid))
        {
            reason = $"invalid jid '{element.GetAttribute("jid")}'";
            return null;
        }

        RosterSubscription? subscription = element.GetAttribute("subscription") switch
        {
            null or "none" => RosterSubscription.None,
            "to" => RosterSubscription.To,
            "from" => RosterSubscription.From,
            "both" => RosterSubscription.Both,
            "remove" => RosterSubscription.Remove,
            _ => null,
        };
        if (subscription is null)
        {
            reason = $"unknown subscription '{element.GetAttribute("subscription")}' for {jid}";
            return null;
        }

        var groups = new List<string>();
        foreach (var group in element.Elements("group", XmppNamespaces.Roster))
        {
            if (groups.Count == MaxGroups)
            {
                break;
            }

            // RFC 6121 §2.1.2.5: an empty group is not a group; duplicates mean the same group.
            if (group.Text is { Length: > 0 and <= MaxTextLength } name && !groups.Contains(name, StringComparer.Ordinal))
            {
                groups.Add(name);
            }
        }

        var itemName = element.GetAttribute("name");
        return new RosterItem(jid)
        {
            Name = string.IsNullOrEmpty(itemName) || itemName.Length > MaxTextLength ? null : itemName,
            Subscription = subscription.Value,
            Ask = element.GetAttribute("ask") == "subscribe",
            Approved = element.GetAttribute("approved") is "true" or "1",
            Groups = groups,
        };
    }

    /// <summary>Builds the <c>&lt;item/&gt;</c> for a roster set: jid, name and groups only (RFC 6121 §2.1.2: the client never sets the subscription state, except to remove).</summary>
    internal XmppElement ToSetElement()
    {
        var element = new XmppElement("item", XmppNamespaces.Roster);
        element.SetAttribute("jid", Jid.ToString());
        element.SetAttribute("name", Name);
        foreach (var group in Groups)
        {
            element.AddChild("group", text: group);
        }

        return element;
    }
}

/// <summary>Tells that a roster item was added, changed or removed by a roster push.</summary>
public sealed class RosterChangedEventArgs : EventArgs
{
    internal RosterChangedEventArgs(RosterItem item) => Item = item;

    /// <summary>The item as the server pushed it; <see cref="RosterItem.Subscription"/> is <see cref="RosterSubscription.Remove"/> when it was removed.</summary>
    public RosterItem Item { get; }

    /// <summary>Whether the item was removed from the roster.</summary>
    public bool Removed => Item.Subscription == RosterSubscription.Remove;

    /// <summary>The item, for logs.</summary>
    public override string ToString() => $"{Item.Jid} {Item.Subscription}{(Item.Ask ? " (asked)" : string.Empty)} '{Item.Name}' [{string.Join(", ", Item.Groups)}]";
}
