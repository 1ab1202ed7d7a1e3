using System.Globalization;
using Parley.Xmpp.Core;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp.Stanzas;

/// <summary>The type of a presence stanza (RFC 6121 §4.7.1).</summary>
public enum PresenceType
{
    /// <summary>Available (no type attribute).</summary>
    Available,
    /// <summary>No longer available.</summary>
    Unavailable,
    /// <summary>A request to subscribe to the recipient's presence.</summary>
    Subscribe,
    /// <summary>The sender allowed the recipient to see its presence.</summary>
    Subscribed,
    /// <summary>The sender stops seeing the recipient's presence.</summary>
    Unsubscribe,
    /// <summary>The sender revoked the recipient's subscription.</summary>
    Unsubscribed,
    /// <summary>A request for the current presence (servers only).</summary>
    Probe,
    /// <summary>An error about a presence sent earlier.</summary>
    Error,
}

/// <summary>The availability sub-state of an available presence (<c>&lt;show/&gt;</c>).</summary>
public enum PresenceShow
{
    /// <summary>Online, no show element.</summary>
    Online,
    /// <summary>Away.</summary>
    Away,
    /// <summary>Free for chat.</summary>
    Chat,
    /// <summary>Do not disturb.</summary>
    DoNotDisturb,
    /// <summary>Extended away.</summary>
    ExtendedAway,
}

/// <summary>A <c>&lt;presence/&gt;</c> stanza.</summary>
public sealed class Presence : Stanza
{
    /// <summary>Creates an available presence.</summary>
    public Presence()
        : base("presence")
    {
    }

    /// <summary>Creates a presence of a given type.</summary>
    /// <param name="type">The type.</param>
    /// <param name="to">The addressee, or <see langword="null"/> for a broadcast.</param>
    public Presence(PresenceType type, Jid? to = null)
        : base("presence")
    {
        Type = type;
        To = to;
    }

    internal Presence(string @namespace)
        : base("presence", @namespace, nameChecked: true)
    {
    }

    private Presence(Presence other)
        : base(other)
    {
    }

    /// <summary>The presence type.</summary>
    public PresenceType Type
    {
        get => GetAttribute("type") switch
        {
            null => PresenceType.Available,
            "unavailable" => PresenceType.Unavailable,
            "subscribe" => PresenceType.Subscribe,
            "subscribed" => PresenceType.Subscribed,
            "unsubscribe" => PresenceType.Unsubscribe,
            "unsubscribed" => PresenceType.Unsubscribed,
            "probe" => PresenceType.Probe,
            _ => PresenceType.Error,
        };
        set => SetAttribute("type", value switch
        {
            PresenceType.Available => null,
            PresenceType.Unavailable => "unavailable",
            PresenceType.Subscribe => "subscribe",
            PresenceType.Subscribed => "subscribed",
            PresenceType.Unsubscribe => "unsubscribe",
            PresenceType.Unsubscribed => "unsubscribed",
            PresenceType.Probe => "probe",
            _ => "error",
        });
    }

    /// <summary>The availability sub-state.</summary>
    public PresenceShow Show
    {
        get => ElementText("show") switch
        {
            "away" => PresenceShow.Away,
            "chat" => PresenceShow.Chat,
            "dnd" => PresenceShow.DoNotDisturb,
            "xa" => PresenceShow.ExtendedAway,
            _ => PresenceShow.Online,
        };
        set
        {
            RemoveAll("show");
            var text = value switch
            {
                PresenceShow.Away => "away",
                PresenceShow.Chat => "chat",
                PresenceShow.DoNotDisturb => "dnd",
                PresenceShow.ExtendedAway => "xa",
                _ => null,
            };
            if (text is not null)
            {
                AddChild("show", text: text);
            }
        }
    }

    /// <summary>The human-readable status, or <see langword="null"/>.</summary>
    public string? Status
    {
        get => ElementText("status");
        set
        {
            RemoveAll("status");
            if (value is not null)
            {
                AddChild("status", text: value);
            }
        }
    }

    /// <summary>The resource priority (-128..127); 0 when absent or invalid.</summary>
    public int Priority
    {
        get => int.TryParse(ElementText("priority"), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var p) && p is >= -128 and <= 127 ? p : 0;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, -128);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, 127);
            RemoveAll("priority");
            AddChild("priority", text: value.ToString(CultureInfo.InvariantCulture));
        }
    }

    /// <summary>The XEP-0203 delay stamp, if any.</summary>
    public Delay? Delay => Delay.FromStanza(this);

    /// <inheritdoc />
    public override XmppElement Clone() => new Presence(this);
}
