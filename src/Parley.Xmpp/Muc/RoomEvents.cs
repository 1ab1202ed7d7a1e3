using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;

namespace Parley.Xmpp.Muc;

/// <summary>Why an occupant (or we) went out of a room.</summary>
public enum RoomExitReason
{
    /// <summary>Left of their own accord (for us: <see cref="Room.LeaveAsync"/>).</summary>
    Left,

    /// <summary>Changed nickname (status 303); the occupant is back under <see cref="OccupantLeftEventArgs.NewNick"/>.</summary>
    NickChanged,

    /// <summary>Kicked by a moderator (status 307).</summary>
    Kicked,

    /// <summary>Banned (status 301).</summary>
    Banned,

    /// <summary>Removed because their affiliation changed (status 321).</summary>
    AffiliationChanged,

    /// <summary>Removed because the room became members-only (status 322).</summary>
    MembersOnly,

    /// <summary>Removed because the service is shutting down (status 332).</summary>
    Shutdown,

    /// <summary>The room was destroyed.</summary>
    Destroyed,

    /// <summary>Our client disconnected for good (<see cref="XmppEndpoint.DisconnectAsync"/>, or reconnecting gave up).</summary>
    Disconnected,

    /// <summary>Joining again after a lost session or a failed self-ping was refused or timed out.</summary>
    RejoinFailed,

    /// <summary>The room sent an error presence for our occupant, or unavailable presence without a reason.</summary>
    Error,
}

/// <summary>A message in a room, or a private message from an occupant.</summary>
public sealed class RoomMessageEventArgs : EventArgs
{
    internal RoomMessageEventArgs(Room room, string? nick, Message message, bool isPrivate, bool isOwn = false)
    {
        Room = room;
        IsOwn = isOwn;
        Nick = nick;
        Message = message;
        Body = message.Body ?? string.Empty;
        Delay = message.Delay;
        IsPrivate = isPrivate;
    }

    /// <summary>The room.</summary>
    public Room Room { get; }

    /// <summary>The sender's nickname; <see langword="null"/> for a message from the room itself.</summary>
    public string? Nick { get; }

    /// <summary>The text.</summary>
    public string Body { get; }

    /// <summary>The message stanza.</summary>
    public Message Message { get; }

    /// <summary>When the message was originally sent, for history the room replays (XEP-0203); <see langword="null"/> for a live message.</summary>
    public Delay? Delay { get; }

    /// <summary>Whether this is history the room replayed rather than a live message.</summary>
    public bool IsHistory => Delay is not null;

    /// <summary>Whether the room reflected a message we sent (it came from our own nickname): a bot must not answer it.</summary>
    public bool IsOwn { get; }

    /// <summary>Whether this is a private message to us (type <c>chat</c> from an occupant JID) rather than one to the room.</summary>
    public bool IsPrivate { get; }
}

/// <summary>An occupant came in or their presence, role or affiliation changed.</summary>
public sealed class OccupantEventArgs : EventArgs
{
    internal OccupantEventArgs(Room room, Occupant occupant, Occupant? previous)
    {
        Room = room;
        Occupant = occupant;
        Previous = previous;
    }

    /// <summary>The room.</summary>
    public Room Room { get; }

    /// <summary>The occupant now.</summary>
    public Occupant Occupant { get; }

    /// <summary>The occupant before a change; <see langword="null"/> for one who just came in.</summary>
    public Occupant? Previous { get; }
}

/// <summary>An occupant went out of the room.</summary>
public sealed class OccupantLeftEventArgs : EventArgs
{
    internal OccupantLeftEventArgs(Room room, Occupant occupant, RoomExitReason reason, string? reasonText, string? actor, string? newNick)
    {
        Room = room;
        Occupant = occupant;
        Reason = reason;
        ReasonText = reasonText;
        Actor = actor;
        NewNick = newNick;
    }

    /// <summary>The room.</summary>
    public Room Room { get; }

    /// <summary>The occupant as last seen.</summary>
    public Occupant Occupant { get; }

    /// <summary>Why.</summary>
    public RoomExitReason Reason { get; }

    /// <summary>The reason a moderator gave, if any.</summary>
    public string? ReasonText { get; }

    /// <summary>The nickname of the moderator who kicked or banned, when the room says.</summary>
    public string? Actor { get; }

    /// <summary>With <see cref="RoomExitReason.NickChanged"/>: the new nickname.</summary>
    public string? NewNick { get; }
}

/// <summary>The room's subject changed (or was announced on join).</summary>
public sealed class RoomSubjectEventArgs : EventArgs
{
    internal RoomSubjectEventArgs(Room room, string subject, string? nick)
    {
        Room = room;
        Subject = subject;
        Nick = nick;
    }

    /// <summary>The room.</summary>
    public Room Room { get; }

    /// <summary>The subject; empty when it was cleared.</summary>
    public string Subject { get; }

    /// <summary>Who set it, when known.</summary>
    public string? Nick { get; }
}

/// <summary>We are out of a room without having asked to leave: kicked, banned, destroyed, disconnected, or a rejoin failed.</summary>
public sealed class RoomRemovedEventArgs : EventArgs
{
    internal RoomRemovedEventArgs(Room room, RoomExitReason reason, string? reasonText, string? actor, Exception? error)
    {
        Room = room;
        Reason = reason;
        ReasonText = reasonText;
        Actor = actor;
        Error = error;
    }

    /// <summary>The room (now <see cref="RoomState.Left"/>).</summary>
    public Room Room { get; }

    /// <summary>Why.</summary>
    public RoomExitReason Reason { get; }

    /// <summary>The reason the moderator or the room gave, if any.</summary>
    public string? ReasonText { get; }

    /// <summary>The nickname of the moderator who kicked or banned us, when the room says.</summary>
    public string? Actor { get; }

    /// <summary>With <see cref="RoomExitReason.RejoinFailed"/>: why the rejoin failed.</summary>
    public Exception? Error { get; }
}

/// <summary>Someone invited us to a room directly (XEP-0249). Accept with <see cref="AcceptAsync"/>, or ignore it.</summary>
public sealed class DirectInvitationEventArgs : EventArgs
{
    private readonly RoomManager _rooms;

    internal DirectInvitationEventArgs(RoomManager rooms, Jid from, Jid room, string? password, string? reason, Message message)
    {
        _rooms = rooms;
        From = from;
        RoomJid = room;
        Password = password;
        Reason = reason;
        Message = message;
    }

    /// <summary>Who sent the invitation.</summary>
    public Jid From { get; }

    /// <summary>The room (bare JID).</summary>
    public Jid RoomJid { get; }

    /// <summary>The room password the inviter gave, if any.</summary>
    public string? Password { get; }

    /// <summary>The inviter's text, if any.</summary>
    public string? Reason { get; }

    /// <summary>The invitation stanza.</summary>
    public Message Message { get; }

    /// <summary>Joins the room, with the invitation's password unless <paramref name="options"/> gives one.</summary>
    /// <param name="nick">The nickname to use.</param>
    /// <param name="options">How to join; the invitation's password is used when these give none.</param>
    /// <param name="cancellationToken">Cancels the join.</param>
    /// <returns>The joined room.</returns>
    /// <exception cref="RoomJoinException">The room refused (see <see cref="RoomManager.JoinAsync"/>).</exception>
    public Task<Room> AcceptAsync(string nick, RoomJoinOptions? options = null, CancellationToken cancellationToken = default)
    {
        var effective = (options ?? new RoomJoinOptions()).Validated();
        effective.Password ??= Password;
        return _rooms.JoinAsync(RoomJid, nick, effective, cancellationToken);
    }
}
