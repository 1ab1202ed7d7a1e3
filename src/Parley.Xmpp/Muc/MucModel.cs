using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;

namespace Parley.Xmpp.Muc;

/// <summary>An occupant's role in a room (XEP-0045 §5.1): what they may do while present.</summary>
public enum MucRole
{
    /// <summary>No role: not present (or the server did not say).</summary>
    None,

    /// <summary>Present but may not speak in a moderated room.</summary>
    Visitor,

    /// <summary>May speak.</summary>
    Participant,

    /// <summary>May kick, grant voice and change the subject.</summary>
    Moderator,
}

/// <summary>A user's long-lived relation to a room (XEP-0045 §5.2).</summary>
public enum MucAffiliation
{
    /// <summary>No affiliation.</summary>
    None,

    /// <summary>Banned.</summary>
    Outcast,

    /// <summary>A member (may enter a members-only room).</summary>
    Member,

    /// <summary>A room administrator.</summary>
    Admin,

    /// <summary>A room owner.</summary>
    Owner,
}

/// <summary>Someone present in a room, as their latest presence from the room describes them.</summary>
/// <param name="Nick">The occupant's nickname (the resource of their occupant JID).</param>
/// <param name="Role">The role.</param>
/// <param name="Affiliation">The affiliation.</param>
/// <param name="RealJid">The occupant's real full JID, when the room shows it to us (non-anonymous room, or we moderate it).</param>
/// <param name="IsSelf">Whether this is our own occupant.</param>
/// <param name="Presence">The presence the room last sent for the occupant.</param>
public sealed record Occupant(string Nick, MucRole Role, MucAffiliation Affiliation, Jid? RealJid, bool IsSelf, Presence Presence);

/// <summary>The state of a <see cref="Room"/>.</summary>
public enum RoomState
{
    /// <summary>The join presence was sent; the room has not confirmed it yet.</summary>
    Joining,

    /// <summary>In the room.</summary>
    Joined,

    /// <summary>Joining again after a new session or after a self-ping found the room had dropped us.</summary>
    Rejoining,

    /// <summary>Out of the room: left, removed, refused, or disconnected. A left room is not rejoined.</summary>
    Left,
}

/// <summary>What history a room sends on join (XEP-0045 §7.2.13, the <c>&lt;history/&gt;</c> element).</summary>
public sealed class RoomHistory
{
    /// <summary>The most messages that may be asked for.</summary>
    public const int MaxMessages = 1000;

    private RoomHistory(int? maxStanzas, DateTimeOffset? since)
    {
        MaxStanzas = maxStanzas;
        Since = since;
    }

    /// <summary>Whatever the room sends by default (no <c>&lt;history/&gt;</c> element).</summary>
    public static RoomHistory ServerDefault { get; } = new(null, null);

    /// <summary>No history (<c>maxstanzas='0'</c>).</summary>
    public static RoomHistory None { get; } = new(0, null);

    /// <summary>The number of messages asked for, if limited.</summary>
    public int? MaxStanzas { get; }

    /// <summary>Only messages sent at or after this time, if limited.</summary>
    public DateTimeOffset? Since { get; }

    /// <summary>The last <paramref name="count"/> messages.</summary>
    /// <param name="count">0 to <see cref="MaxMessages"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is out of range.</exception>
    public static RoomHistory LastMessages(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, MaxMessages);
        return count == 0 ? None : new RoomHistory(count, null);
    }

    /// <summary>The messages sent since <paramref name="since"/>.</summary>
    /// <param name="since">The earliest send time.</param>
    public static RoomHistory SentSince(DateTimeOffset since) => new(null, since);

    /// <inheritdoc/>
    public override string ToString() => (MaxStanzas, Since) switch
    {
        (null, null) => "server default",
        (0, _) => "none",
        ({ } n, null) => $"last {n}",
        (_, { } s) => $"since {s:O}",
    };
}

/// <summary>What to do when the nickname is taken by someone else in the room.</summary>
public enum NickConflictPolicy
{
    /// <summary>Fail the join with <see cref="RoomNickConflictException"/>.</summary>
    Fail,

    /// <summary>Try <c>nick2</c>, <c>nick3</c>, … up to <see cref="RoomJoinOptions.MaxNickAttempts"/>.</summary>
    TakeNext,
}

/// <summary>How to join a room.</summary>
public sealed class RoomJoinOptions
{
    /// <summary>The longest nickname accepted, in characters.</summary>
    public const int MaxNickLength = 128;

    /// <summary>The longest room password accepted, in characters.</summary>
    public const int MaxPasswordLength = 1024;

    /// <summary>The room password, for a password-protected room.</summary>
    public string? Password { get; set; }

    /// <summary>The history the room sends on the first join; default <see cref="RoomHistory.None"/>. A rejoin asks only for what was missed.</summary>
    public RoomHistory History { get; set; } = RoomHistory.None;

    /// <summary>What to do when the nickname is taken; default <see cref="NickConflictPolicy.Fail"/>.</summary>
    public NickConflictPolicy NickConflict { get; set; } = NickConflictPolicy.Fail;

    /// <summary>How many nicknames to try with <see cref="NickConflictPolicy.TakeNext"/>, the first included; default 10 (1 to 100).</summary>
    public int MaxNickAttempts { get; set; } = 10;

    /// <summary>How long the room may take to confirm the join; default 30 s.</summary>
    public TimeSpan JoinTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long the room may stay silent before a self-ping (XEP-0410) checks that we are still in it; default 5 minutes;
    /// <see cref="Timeout.InfiniteTimeSpan"/> turns self-pings off. At least one second.
    /// </summary>
    public TimeSpan SelfPingInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The most occupants tracked for the room; further ones are not listed (logged at Debug). Default 5,000 (1 to 100,000).</summary>
    public int MaxOccupants { get; set; } = 5_000;

    internal RoomJoinOptions Validated()
    {
        ArgumentNullException.ThrowIfNull(History);
        if (Password is { Length: > MaxPasswordLength })
        {
            throw new ArgumentException($"The room password is longer than {MaxPasswordLength} characters.", nameof(Password));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(MaxNickAttempts, 1, nameof(MaxNickAttempts));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxNickAttempts, 100, nameof(MaxNickAttempts));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(JoinTimeout, TimeSpan.Zero, nameof(JoinTimeout));
        if (SelfPingInterval != Timeout.InfiniteTimeSpan)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(SelfPingInterval, TimeSpan.FromSeconds(1), nameof(SelfPingInterval));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(MaxOccupants, 1, nameof(MaxOccupants));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxOccupants, 100_000, nameof(MaxOccupants));

        // A copy, so a caller changing the options later does not change a joined room's behaviour.
        return (RoomJoinOptions)MemberwiseClone();
    }
}
