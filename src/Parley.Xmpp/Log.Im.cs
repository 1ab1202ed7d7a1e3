using Microsoft.Extensions.Logging;

namespace Parley.Xmpp;

/// <summary>Log messages of the IM layer (4xxx: 40xx roster, 41xx presence, 42xx entity capabilities).</summary>
internal static partial class Log
{
    [LoggerMessage(4000, LogLevel.Warning, "Refused a roster push from {From}: pushes may only come from our own account (RFC 6121 §2.1.6)")]
    public static partial void RosterPushRefused(ILogger logger, string from);

    [LoggerMessage(4001, LogLevel.Debug, "Roster loaded: {Count} items, version {Version}")]
    public static partial void RosterLoaded(ILogger logger, int count, string? version);

    [LoggerMessage(4002, LogLevel.Debug, "Roster unchanged since version {Version}; keeping the cached copy")]
    public static partial void RosterUnchanged(ILogger logger, string version);

    [LoggerMessage(4003, LogLevel.Warning, "Re-fetching the roster after a new session failed: {Reason}")]
    public static partial void RosterRefetchFailed(ILogger logger, string reason, Exception exception);

    [LoggerMessage(4004, LogLevel.Warning, "Skipped an invalid roster item: {Reason}")]
    public static partial void InvalidRosterItem(ILogger logger, string reason);

    [LoggerMessage(4100, LogLevel.Debug, "Not tracking presence of {Jid}: the presence table is full ({Limit} entries)")]
    public static partial void PresenceTableFull(ILogger logger, string jid, int limit);

    [LoggerMessage(4101, LogLevel.Debug, "Presence table cleared ({Count} resources): {Reason}")]
    public static partial void PresenceTableCleared(ILogger logger, int count, string reason);

    [LoggerMessage(4200, LogLevel.Debug, "Own capabilities changed: ver {Ver}")]
    public static partial void OwnCapsChanged(ILogger logger, string ver);

    [LoggerMessage(4201, LogLevel.Warning, "The disco#info of {Jid} does not match its caps ver {Ver} (computed {Computed}); not caching it")]
    public static partial void CapsVerificationFailed(ILogger logger, string jid, string ver, string? computed);

    [LoggerMessage(4202, LogLevel.Debug, "Cached capabilities {Hash} {Ver} (from {Jid})")]
    public static partial void CapsCached(ILogger logger, string hash, string ver, string jid);

    [LoggerMessage(4203, LogLevel.Debug, "Could not re-broadcast presence after a capabilities change: {Reason}")]
    public static partial void CapsRebroadcastFailed(ILogger logger, string reason);

    [LoggerMessage(4204, LogLevel.Debug, "Could not discover the features of {Jid}: {Reason}")]
    public static partial void ResourceInfoFailed(ILogger logger, string jid, string reason);
}
