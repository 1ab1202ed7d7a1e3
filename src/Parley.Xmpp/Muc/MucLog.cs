using Microsoft.Extensions.Logging;

namespace Parley.Xmpp.Muc;

/// <summary>Log messages of group chat (43xx).</summary>
internal static partial class MucLog
{
    [LoggerMessage(4300, LogLevel.Information, "Joined {Room} as {Nick}")]
    public static partial void Joined(ILogger logger, string room, string nick);

    [LoggerMessage(4301, LogLevel.Debug, "The nickname {Nick} is taken in {Room}; trying the next one")]
    public static partial void NickTaken(ILogger logger, string room, string nick);

    [LoggerMessage(4302, LogLevel.Information, "Joining {Room} again as {Nick} ({Why}); history: {History}")]
    public static partial void Rejoining(ILogger logger, string room, string nick, string why, string history);

    [LoggerMessage(4303, LogLevel.Debug, "Rejoining {Room} was interrupted by the connection: {Reason}")]
    public static partial void RejoinInterrupted(ILogger logger, string room, string reason);

    [LoggerMessage(4304, LogLevel.Warning, "Could not join {Room} again: {Reason}")]
    public static partial void RejoinFailed(ILogger logger, string room, string reason);

    [LoggerMessage(4305, LogLevel.Warning, "Removed from {Room}: {Why} {ReasonText} (by {Actor})")]
    public static partial void RemovedFromRoom(ILogger logger, string room, string why, string? reasonText, string? actor);

    [LoggerMessage(4306, LogLevel.Warning, "A self-ping found that {Room} no longer has us; joining again")]
    public static partial void SelfPingNotJoined(ILogger logger, string room);

    [LoggerMessage(4307, LogLevel.Debug, "A self-ping of {Room} got no answer: {Reason}")]
    public static partial void SelfPingFailed(ILogger logger, string room, string reason);

    [LoggerMessage(4308, LogLevel.Debug, "Dropped a message {Room} replayed that we had seen")]
    public static partial void ReplayedMessageDropped(ILogger logger, string room);

    [LoggerMessage(4309, LogLevel.Debug, "Not listing more occupants of {Room}: the limit is {Limit}")]
    public static partial void OccupantLimit(ILogger logger, string room, int limit);

    [LoggerMessage(4310, LogLevel.Debug, "{Room} sent an error message: {Error}")]
    public static partial void RoomMessageError(ILogger logger, string room, string error);

    [LoggerMessage(4311, LogLevel.Debug, "{Room} sent an error presence: {Error}")]
    public static partial void RoomPresenceError(ILogger logger, string room, string error);

    [LoggerMessage(4312, LogLevel.Debug, "Invited to {Room} by {From}")]
    public static partial void Invited(ILogger logger, string room, string from);

    [LoggerMessage(4313, LogLevel.Debug, "Ignored a direct invitation from {From} without a valid room JID")]
    public static partial void InvalidInvitation(ILogger logger, string from);

    [LoggerMessage(4314, LogLevel.Error, "Group chat work for {Room} failed")]
    public static partial void BackgroundFailed(ILogger logger, string room, Exception exception);

    [LoggerMessage(4315, LogLevel.Debug, "Could not tell a room we are not coming: {Reason}")]
    public static partial void BestEffortSendFailed(ILogger logger, string reason);
}
