using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp.Muc;

/// <summary>What a room's <c>&lt;x xmlns='http://jabber.org/protocol/muc#user'/&gt;</c> says about an occupant (XEP-0045 §15.5.4).</summary>
internal sealed class MucUserInfo
{
    /// <summary>The most status codes read from one presence; rooms send a handful.</summary>
    private const int MaxStatusCodes = 16;

    private readonly HashSet<int> _codes = [];

    private MucUserInfo()
    {
    }

    public MucRole Role { get; private set; }

    public MucAffiliation Affiliation { get; private set; }

    public Jid? RealJid { get; private set; }

    /// <summary>The item's nick: the new nickname with status 303.</summary>
    public string? ItemNick { get; private set; }

    public string? Reason { get; private set; }

    public string? Actor { get; private set; }

    public bool IsDestroyed { get; private set; }

    public string? DestroyReason { get; private set; }

    public bool HasStatus(int code) => _codes.Contains(code);

    /// <summary>Status 110: the presence is about our own occupant.</summary>
    public bool IsSelf => HasStatus(110);

    public static MucUserInfo Read(Stanza stanza)
    {
        var info = new MucUserInfo();
        if (stanza.Element("x", MucNamespaces.User) is not { } x)
        {
            return info;
        }

        foreach (var status in x.Elements("status", MucNamespaces.User))
        {
            if (info._codes.Count < MaxStatusCodes && int.TryParse(status.GetAttribute("code"), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var code))
            {
                info._codes.Add(code);
            }
        }

        if (x.Element("item", MucNamespaces.User) is { } item)
        {
            info.Role = ParseRole(item.GetAttribute("role"));
            info.Affiliation = ParseAffiliation(item.GetAttribute("affiliation"));
            info.RealJid = Jid.TryParse(item.GetAttribute("jid"), out var jid) ? jid : null;
            info.ItemNick = item.GetAttribute("nick");
            info.Reason = item.ElementText("reason", MucNamespaces.User);
            info.Actor = item.Element("actor", MucNamespaces.User)?.GetAttribute("nick");
        }

        if (x.Element("destroy", MucNamespaces.User) is { } destroy)
        {
            info.IsDestroyed = true;
            info.DestroyReason = destroy.ElementText("reason", MucNamespaces.User);
        }

        return info;
    }

    /// <summary>Why an occupant's unavailable presence took them out (XEP-0045 §15.6.2 status codes).</summary>
    public RoomExitReason ExitReason()
    {
        if (IsDestroyed)
        {
            return RoomExitReason.Destroyed;
        }

        if (HasStatus(303))
        {
            return RoomExitReason.NickChanged;
        }

        if (HasStatus(301))
        {
            return RoomExitReason.Banned;
        }

        if (HasStatus(307))
        {
            return RoomExitReason.Kicked;
        }

        if (HasStatus(321))
        {
            return RoomExitReason.AffiliationChanged;
        }

        if (HasStatus(322))
        {
            return RoomExitReason.MembersOnly;
        }

        return HasStatus(332) ? RoomExitReason.Shutdown : RoomExitReason.Left;
    }

    private static MucRole ParseRole(string? value) => value switch
    {
        "moderator" => MucRole.Moderator,
        "participant" => MucRole.Participant,
        "visitor" => MucRole.Visitor,
        _ => MucRole.None,
    };

    private static MucAffiliation ParseAffiliation(string? value) => value switch
    {
        "owner" => MucAffiliation.Owner,
        "admin" => MucAffiliation.Admin,
        "member" => MucAffiliation.Member,
        "outcast" => MucAffiliation.Outcast,
        _ => MucAffiliation.None,
    };
}

/// <summary>Builds the stanzas we send to rooms.</summary>
internal static class MucStanzas
{
    /// <summary>The join presence (XEP-0045 §7.2.2) with the history request and the password.</summary>
    public static Presence Join(Jid occupant, RoomHistory history, string? password)
    {
        var presence = new Presence(PresenceType.Available, occupant);
        var x = presence.AddChild("x", MucNamespaces.Muc);
        if (history.MaxStanzas is not null || history.Since is not null)
        {
            var element = x.AddChild("history");
            element.SetAttribute("maxstanzas", history.MaxStanzas?.ToString(System.Globalization.CultureInfo.InvariantCulture));
            element.SetAttribute("since", history.Since is { } since ? new Delay(since, null, null).ToElement().GetAttribute("stamp") : null);
        }

        if (password is not null)
        {
            x.AddChild("password", text: password);
        }

        return presence;
    }

    /// <summary>A key that identifies a room message across a replay: the room's stanza-id, else the sender's id, else the text and time.</summary>
    public static string DedupeKey(Jid room, string? nick, Message message)
    {
        foreach (var sid in message.Elements("stanza-id", MucNamespaces.StanzaId))
        {
            if (sid.GetAttribute("by") is { } by && Jid.TryParse(by, out var byJid) && byJid == room && sid.GetAttribute("id") is { Length: > 0 } id)
            {
                return "s\0" + id;
            }
        }

        if (message.Id is { Length: > 0 } messageId)
        {
            return "i\0" + nick + "\0" + messageId;
        }

        // Without ids the text is all there is: a live copy and its replay (which adds a delay stamp) must match.
        return "b\0" + nick + "\0" + message.Body;
    }

    public static XmppElement? DirectInvitation(Message message) => message.Element("x", MucNamespaces.DirectInvite);
}
