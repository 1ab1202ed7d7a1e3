using Parley.Xmpp.Core;
using Parley.Xmpp.Muc;
using Parley.Xmpp.Stanzas;

namespace Parley.Bots;

/// <summary>A room the bot joins: its JID, the bot's nickname there, and the password if the room has one.</summary>
/// <param name="Jid">The room's bare JID, <c>room@service</c>.</param>
/// <param name="Nick">The bot's nickname in the room.</param>
/// <param name="Password">The room password, or <see langword="null"/>.</param>
public sealed record BotRoom(Jid Jid, string Nick, string? Password = null);

/// <summary>A request addressed to the bot in a room ("reports: 1234" or "!report 1234").</summary>
public sealed class RoomRequest
{
    internal RoomRequest(Room room, string nick, Jid? realJid, string text, bool isMention, Message message)
    {
        IsMention = isMention;
        Room = room;
        Nick = nick;
        RealJid = realJid;
        Text = text;
        Message = message;
    }

    /// <summary>The room.</summary>
    public Room Room { get; }

    /// <summary>The asker's nickname.</summary>
    public string Nick { get; }

    /// <summary>The asker's full real JID when the room shows it; <see langword="null"/> in a room that hides real JIDs.</summary>
    public Jid? RealJid { get; }

    /// <summary>The request without the mention or the command prefix: "report 1234" for "!report 1234", "1234" for "reports: 1234".</summary>
    public string Text { get; }

    /// <summary>
    /// Whether the bot was addressed by its nickname ("reports: 1234") rather than the command prefix ("!report 1234").
    /// A prefix is shared by every bot in the room, so a bot answers a prefixed request only when it names one of its commands.
    /// </summary>
    public bool IsMention { get; }

    /// <summary>The room message as received.</summary>
    public Message Message { get; }
}

/// <summary>Why a room message was or was not handed to a bot.</summary>
public enum RoomVerdict
{
    /// <summary>Handed to the bot.</summary>
    Accepted,
    /// <summary>Not a live message to the whole room from an occupant: private, from the room itself, or without a body.</summary>
    NotRoomMessage,
    /// <summary>The room reflected the bot's own message.</summary>
    Own,
    /// <summary>History replayed on join, or another delayed message.</summary>
    Delayed,
    /// <summary>Marked as machine-generated (<see cref="AutoSubmitted"/>) or carrying a no-store hint (XEP-0334), as bots send.</summary>
    FromBot,
    /// <summary>Not addressed to the bot: neither its nickname as a mention nor the command prefix.</summary>
    NotAddressed,
    /// <summary>The allow-list does not admit the asker, or it admits only some and the room hides who the asker is.</summary>
    NotAllowed,
    /// <summary>The asker sent too many requests too quickly.</summary>
    RateLimited,
}

/// <summary>Which room messages reach a bot: only live ones addressed to it, never its own, another bot's or replayed ones.</summary>
public static class RoomAddressing
{
    /// <summary>The longest command prefix accepted.</summary>
    public const int MaxPrefixLength = 8;

    /// <summary>The hints namespace (XEP-0334); bots mark their messages <c>no-store</c>.</summary>
    public const string HintsNamespace = "urn:xmpp:hints";

    /// <summary>
    /// The request in <paramref name="body"/> when it is addressed to the bot: its nickname followed by <c>:</c> or
    /// <c>,</c> (case-insensitive), or the command prefix; <see langword="null"/> otherwise or when nothing follows.
    /// </summary>
    /// <param name="body">The message text.</param>
    /// <param name="nick">The bot's nickname in the room.</param>
    /// <param name="commandPrefix">The command prefix, e.g. <c>!</c>; <see langword="null"/> or empty for none.</param>
    public static string? Request(string body, string nick, string? commandPrefix) => Request(body, nick, commandPrefix, out _);

    /// <summary>The request in <paramref name="body"/> when it is addressed to the bot, and whether by a mention.</summary>
    /// <param name="body">The message text.</param>
    /// <param name="nick">The bot's nickname in the room.</param>
    /// <param name="commandPrefix">The command prefix, e.g. <c>!</c>; <see langword="null"/> or empty for none.</param>
    /// <param name="isMention">Whether the nickname addressed the bot (else the prefix did).</param>
    public static string? Request(string body, string nick, string? commandPrefix, out bool isMention)
    {
        isMention = false;
        ArgumentNullException.ThrowIfNull(body);
        ArgumentException.ThrowIfNullOrEmpty(nick);
        var text = body.TrimStart();
        string rest;
        if (text.Length > nick.Length && text.StartsWith(nick, StringComparison.OrdinalIgnoreCase) && text[nick.Length] is ':' or ',')
        {
            rest = text[(nick.Length + 1)..];
            isMention = true;
        }
        else if (!string.IsNullOrEmpty(commandPrefix) && text.StartsWith(commandPrefix, StringComparison.Ordinal))
        {
            rest = text[commandPrefix.Length..];
            if (rest.Length == 0 || char.IsWhiteSpace(rest[0]))
            {
                return null; // "! hello" is an exclamation, not a command
            }
        }
        else
        {
            return null;
        }

        rest = rest.Trim();
        return rest.Length == 0 ? null : rest;
    }

    /// <summary>Whether the message carries a no-store hint (XEP-0334), which bots put on what they send.</summary>
    /// <param name="message">The message.</param>
    public static bool HasNoStoreHint(Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return message.Element("no-store", HintsNamespace) is not null;
    }

    /// <summary>Decides whether a room message is a request to the bot, before any allow-list or rate limit.</summary>
    /// <param name="e">The room message.</param>
    /// <param name="commandPrefix">The command prefix, or <see langword="null"/>.</param>
    /// <param name="request">The request text when accepted.</param>
    /// <param name="isMention">Whether the nickname addressed the bot (else the prefix did).</param>
    public static RoomVerdict Classify(RoomMessageEventArgs e, string? commandPrefix, out string? request, out bool isMention)
    {
        ArgumentNullException.ThrowIfNull(e);
        request = null;
        isMention = false;
        if (e.IsPrivate || e.Nick is null || e.Message.Type != MessageType.GroupChat || string.IsNullOrWhiteSpace(e.Body))
        {
            return RoomVerdict.NotRoomMessage;
        }

        if (e.IsOwn || string.Equals(e.Nick, e.Room.Nick, StringComparison.Ordinal))
        {
            return RoomVerdict.Own;
        }

        if (e.IsHistory || e.Message.Delay is not null)
        {
            return RoomVerdict.Delayed;
        }

        if (AutoSubmitted.IsMarked(e.Message) || HasNoStoreHint(e.Message))
        {
            return RoomVerdict.FromBot;
        }

        request = Request(e.Body, e.Room.Nick, commandPrefix, out isMention);
        return request is null ? RoomVerdict.NotAddressed : RoomVerdict.Accepted;
    }
}
