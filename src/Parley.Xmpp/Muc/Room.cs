using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;

namespace Parley.Xmpp.Muc;

/// <summary>
/// A group chat room (XEP-0045) we joined through <see cref="RoomManager.JoinAsync"/>: its occupants and subject, messages
/// to the room and private messages to occupants, and what happens in it as events.
/// </summary>
/// <remarks>
/// Events run on the client's dispatch loop, in arrival order; a slow subscriber delays the stanzas after it. History the
/// room replayed on the first join is in <see cref="History"/>, not raised as events. After a new session (a reconnect
/// that did not resume) or a self-ping (XEP-0410) that finds the room has dropped us, the room is joined again with the
/// same nickname; messages missed meanwhile arrive through <see cref="MessageReceived"/> with a delay stamp, and messages
/// already seen are not raised twice.
/// </remarks>
public sealed partial class Room
{
    private readonly RoomManager _manager;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Occupant> _occupants = new(StringComparer.Ordinal);
    private readonly List<RoomMessageEventArgs> _history = [];
    private readonly RecentMessageIds _seen = new(MaxRememberedMessages);
    private string _nick;
    private RoomState _state = RoomState.Joining;
    private string? _subject;
    private Occupant? _self;

    internal Room(RoomManager manager, Jid jid, string nick, RoomJoinOptions options)
    {
        _manager = manager;
        Jid = jid;
        _nick = nick;
        Options = options;
    }

    /// <summary>Raised for each live message to the room (and for messages missed while we were out, after a rejoin).</summary>
    public event EventHandler<RoomMessageEventArgs>? MessageReceived;

    /// <summary>Raised for each private message from an occupant of this room.</summary>
    public event EventHandler<RoomMessageEventArgs>? PrivateMessageReceived;

    /// <summary>Raised when someone came into the room.</summary>
    public event EventHandler<OccupantEventArgs>? OccupantJoined;

    /// <summary>Raised when an occupant's presence, role or affiliation changed.</summary>
    public event EventHandler<OccupantEventArgs>? OccupantChanged;

    /// <summary>Raised when an occupant went out (left, kicked, banned, changed nickname…).</summary>
    public event EventHandler<OccupantLeftEventArgs>? OccupantLeft;

    /// <summary>Raised when the subject changed.</summary>
    public event EventHandler<RoomSubjectEventArgs>? SubjectChanged;

    /// <summary>Raised when we are out of the room without having left: kicked, banned, destroyed, disconnected, or a rejoin failed.</summary>
    public event EventHandler<RoomRemovedEventArgs>? Removed;

    /// <summary>Raised when the room was joined again after a new session or a failed self-ping.</summary>
    public event EventHandler? Rejoined;

    /// <summary>The room's bare JID.</summary>
    public Jid Jid { get; }

    /// <summary>Our nickname in the room (it may differ from the one asked for: a conflict, or the room changed it).</summary>
    public string Nick
    {
        get
        {
            lock (_lock)
            {
                return _nick;
            }
        }
    }

    /// <summary>Where we are with the room.</summary>
    public RoomState State
    {
        get
        {
            lock (_lock)
            {
                return _state;
            }
        }
    }

    /// <summary>The subject; <see langword="null"/> before the room announced one.</summary>
    public string? Subject
    {
        get
        {
            lock (_lock)
            {
                return _subject;
            }
        }
    }

    /// <summary>Our own occupant (role and affiliation), once the room confirmed the join.</summary>
    public Occupant? Self
    {
        get
        {
            lock (_lock)
            {
                return _self;
            }
        }
    }

    /// <summary>Everyone present, ourselves included, in nickname order.</summary>
    public IReadOnlyList<Occupant> Occupants
    {
        get
        {
            lock (_lock)
            {
                return [.. _occupants.Values.OrderBy(o => o.Nick, StringComparer.Ordinal)];
            }
        }
    }

    /// <summary>The messages the room replayed when we first joined, oldest first (as many as <see cref="RoomJoinOptions.History"/> asked for).</summary>
    public IReadOnlyList<RoomMessageEventArgs> History
    {
        get
        {
            lock (_lock)
            {
                return [.. _history];
            }
        }
    }

    /// <summary>The options the room was joined with (a copy).</summary>
    internal RoomJoinOptions Options { get; }

    /// <summary>The most message keys remembered to drop replayed history already seen.</summary>
    private const int MaxRememberedMessages = 1024;

    /// <summary>The occupant with that nickname, or <see langword="null"/>.</summary>
    /// <param name="nick">The nickname.</param>
    public Occupant? GetOccupant(string nick)
    {
        ArgumentNullException.ThrowIfNull(nick);
        lock (_lock)
        {
            return _occupants.GetValueOrDefault(nick);
        }
    }

    /// <summary>Sends a message to everyone in the room.</summary>
    /// <param name="body">The text.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The message sent (with its id).</returns>
    /// <exception cref="InvalidOperationException">We are not in the room.</exception>
    /// <exception cref="XmppNotConnectedException">Not connected.</exception>
    /// <exception cref="XmppTransportException">The connection closed before the message was written.</exception>
    public async Task<Message> SendAsync(string body, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        ThrowIfLeft();
        var message = new Message(Jid, body, MessageType.GroupChat) { Id = Stanza.NewId() };
        await _manager.Client.SendAsync(message, cancellationToken).ConfigureAwait(false);
        return message;
    }

    /// <summary>Sends a private message to one occupant, through the room (XEP-0045 §7.5).</summary>
    /// <param name="nick">The occupant's nickname.</param>
    /// <param name="body">The text.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The message sent (with its id).</returns>
    /// <exception cref="ArgumentException"><paramref name="nick"/> is not a valid nickname.</exception>
    /// <exception cref="InvalidOperationException">We are not in the room.</exception>
    /// <exception cref="XmppNotConnectedException">Not connected.</exception>
    /// <exception cref="XmppTransportException">The connection closed before the message was written.</exception>
    public async Task<Message> SendPrivateAsync(string nick, string body, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        var to = RoomManager.OccupantJid(Jid, nick);
        ThrowIfLeft();
        var message = new Message(to, body, MessageType.Chat) { Id = Stanza.NewId() };
        message.AddChild("x", MucNamespaces.User);
        await _manager.Client.SendAsync(message, cancellationToken).ConfigureAwait(false);
        return message;
    }

    /// <summary>Leaves the room (XEP-0045 §7.14) and waits for the room to confirm. A room already left is left alone.</summary>
    /// <param name="status">An optional parting message.</param>
    /// <param name="cancellationToken">Stops waiting for the confirmation (the room is forgotten either way).</param>
    /// <exception cref="XmppTransportException">The connection closed before the presence was written.</exception>
    /// <exception cref="TimeoutException">The room did not confirm in time; the room is forgotten anyway.</exception>
    public async Task LeaveAsync(string? status = null, CancellationToken cancellationToken = default)
    {
        TaskCompletionSource left;
        Jid occupant;
        lock (_lock)
        {
            if (_state == RoomState.Left)
            {
                return;
            }

            _state = RoomState.Left;
            _leaving ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            left = _leaving;
            occupant = Jid.WithResource(_nick);
        }

        StopSelfPing();
        try
        {
            if (_manager.Client.State != XmppConnectionState.Connected)
            {
                return;
            }

            await _manager.Client.SendAsync(new Presence(PresenceType.Unavailable, occupant) { Status = status }, cancellationToken).ConfigureAwait(false);
            await left.Task.WaitAsync(Options.JoinTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"{Jid} did not confirm that we left within {Options.JoinTimeout}.", ex);
        }
        finally
        {
            // Only now: the room's confirmation must still reach this room.
            _manager.Forget(this);
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Jid}/{Nick} ({State})";

    private void ThrowIfLeft()
    {
        if (State == RoomState.Left)
        {
            throw new InvalidOperationException($"We are not in {Jid}: join it again first.");
        }
    }
}
