using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;

namespace Parley.Xmpp.Muc;

/// <summary>The room refused to let us in (XEP-0045 §7.2.6–§7.2.11); <see cref="Condition"/> says why.</summary>
public class RoomJoinException : XmppException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="room">The room.</param>
    /// <param name="nick">The nickname tried.</param>
    /// <param name="error">The error the room sent, if any.</param>
    /// <param name="message">What happened.</param>
    public RoomJoinException(Jid room, string nick, StanzaError? error, string message)
        : base(message)
    {
        Room = room;
        Nick = nick;
        Error = error;
    }

    /// <summary>The room.</summary>
    public Jid Room { get; }

    /// <summary>The nickname tried last.</summary>
    public string Nick { get; }

    /// <summary>The error the room sent.</summary>
    public StanzaError? Error { get; }

    /// <summary>The stanza error condition, e.g. <c>service-unavailable</c> for a full room.</summary>
    public string? Condition => Error?.Condition;

    /// <summary>The exception for an error presence the room sent in answer to a join.</summary>
    internal static RoomJoinException From(Jid room, string nick, StanzaError error) => error.Condition switch
    {
        "conflict" => new RoomNickConflictException(room, nick, error),
        "not-authorized" => new RoomPasswordRequiredException(room, nick, error),
        "registration-required" => new RoomMembersOnlyException(room, nick, error),
        "forbidden" => new RoomBannedException(room, nick, error),
        "service-unavailable" => new RoomJoinException(room, nick, error, $"{room} is full: it refused the join ({error})."),
        "item-not-found" => new RoomJoinException(room, nick, error, $"{room} does not exist or is locked ({error})."),
        "not-allowed" => new RoomJoinException(room, nick, error, $"{room} may not be created by us ({error})."),
        "not-acceptable" => new RoomJoinException(room, nick, error, $"{room} requires the nickname registered to us ({error})."),
        "jid-malformed" => new RoomJoinException(room, nick, error, $"{room} refused the nickname '{nick}' ({error})."),
        _ => new RoomJoinException(room, nick, error, $"{room} refused the join as '{nick}': {error}."),
    };
}

/// <summary>The nickname is in use by someone else in the room (<c>conflict</c>), and <see cref="NickConflictPolicy.Fail"/> was chosen or every nickname tried was taken.</summary>
public sealed class RoomNickConflictException : RoomJoinException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="room">The room.</param>
    /// <param name="nick">The nickname tried last.</param>
    /// <param name="error">The error the room sent.</param>
    public RoomNickConflictException(Jid room, string nick, StanzaError? error)
        : base(room, nick, error, $"The nickname '{nick}' is already in use in {room}.")
    {
    }
}

/// <summary>The room is password-protected and no password, or a wrong one, was given (<c>not-authorized</c>).</summary>
public sealed class RoomPasswordRequiredException : RoomJoinException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="room">The room.</param>
    /// <param name="nick">The nickname tried.</param>
    /// <param name="error">The error the room sent.</param>
    public RoomPasswordRequiredException(Jid room, string nick, StanzaError? error)
        : base(room, nick, error, $"{room} is password-protected: the password was missing or wrong.")
    {
    }
}

/// <summary>The room is members-only and we are not a member (<c>registration-required</c>).</summary>
public sealed class RoomMembersOnlyException : RoomJoinException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="room">The room.</param>
    /// <param name="nick">The nickname tried.</param>
    /// <param name="error">The error the room sent.</param>
    public RoomMembersOnlyException(Jid room, string nick, StanzaError? error)
        : base(room, nick, error, $"{room} is members-only and we are not a member.")
    {
    }
}

/// <summary>We are banned from the room (<c>forbidden</c>).</summary>
public sealed class RoomBannedException : RoomJoinException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="room">The room.</param>
    /// <param name="nick">The nickname tried.</param>
    /// <param name="error">The error the room sent.</param>
    public RoomBannedException(Jid room, string nick, StanzaError? error)
        : base(room, nick, error, $"We are banned from {room}.")
    {
    }
}
