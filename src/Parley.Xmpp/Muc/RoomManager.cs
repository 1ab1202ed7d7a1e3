using System.Runtime.CompilerServices;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;

namespace Parley.Xmpp.Muc;

/// <summary>
/// Group chat (XEP-0045) for one client: joining rooms, the rooms joined, direct invitations (XEP-0249). Reached through
/// <c>client.Rooms</c> (<see cref="MucClientExtensions"/>).
/// </summary>
/// <remarks>
/// After a reconnect that resumed the session (XEP-0198) the rooms are still joined. After a new session every room
/// joined is joined again with the same nickname, asking only for the history since the last message seen, and replays
/// of messages already seen are dropped. When the client disconnects for good, every room is removed
/// (<see cref="RoomExitReason.Disconnected"/>). Events run on the client's dispatch loop, in arrival order.
/// </remarks>
public sealed class RoomManager
{
    /// <summary>The most rooms joined (or being joined) at once.</summary>
    public const int MaxRooms = 1000;

    /// <summary>The longest direct invitation reason or password read; longer ones are cut or ignored.</summary>
    private const int MaxInvitationText = 4096;

    private static readonly ConditionalWeakTable<XmppClient, RoomManager> s_managers = [];

    private readonly Lock _lock = new();
    private readonly Dictionary<Jid, Room> _rooms = [];

    internal RoomManager(XmppClient client, TimeProvider time)
    {
        Client = client;
        Time = time;
        client.Disco.AddFeature(MucNamespaces.Muc);
        client.Disco.AddFeature(MucNamespaces.DirectInvite);
        client.OnPresence(HandlePresenceAsync);
        client.OnMessage(HandleMessageAsync);
        client.StateChanged += OnStateChanged;
    }

    /// <summary>Raised for every message in every joined room and every private message from an occupant, after the room's own event. Subscribe before joining to miss nothing.</summary>
    public event EventHandler<RoomMessageEventArgs>? MessageReceived;

    /// <summary>Raised when any room removed us (kicked, banned, destroyed, disconnected, a failed rejoin), after the room's own event.</summary>
    public event EventHandler<RoomRemovedEventArgs>? RoomRemoved;

    /// <summary>Raised for a direct invitation (XEP-0249). Accept with <see cref="DirectInvitationEventArgs.AcceptAsync"/>; nothing happens otherwise.</summary>
    public event EventHandler<DirectInvitationEventArgs>? InvitationReceived;

    /// <summary>The rooms joined or being joined.</summary>
    public IReadOnlyList<Room> Rooms
    {
        get
        {
            lock (_lock)
            {
                return [.. _rooms.Values];
            }
        }
    }

    internal XmppClient Client { get; }

    internal TimeProvider Time { get; }

    /// <summary>The room with that bare JID, if joined or being joined.</summary>
    /// <param name="room">The room's JID; a full JID is reduced to its bare JID.</param>
    public Room? Get(Jid room)
    {
        ArgumentNullException.ThrowIfNull(room);
        lock (_lock)
        {
            return _rooms.GetValueOrDefault(room.Bare);
        }
    }

    /// <summary>
    /// Joins a room (XEP-0045 §7.2) and returns once the room has sent its occupants, the history asked for and the
    /// subject. A room that does not exist yet is created, if the service allows, with its default configuration.
    /// </summary>
    /// <param name="room">The room's bare JID, <c>room@service</c>.</param>
    /// <param name="nick">Our nickname (at most <see cref="RoomJoinOptions.MaxNickLength"/> characters, a valid JID resource).</param>
    /// <param name="options">Password, history, nickname conflicts, timeouts; defaults when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the join (a join presence already sent is followed by an unavailable one).</param>
    /// <returns>The room.</returns>
    /// <exception cref="ArgumentException">The room JID or the nickname is not valid, or the options are out of range.</exception>
    /// <exception cref="InvalidOperationException">The room is already joined or being joined, or <see cref="MaxRooms"/> are.</exception>
    /// <exception cref="RoomNickConflictException">The nickname (each one tried) is in use.</exception>
    /// <exception cref="RoomPasswordRequiredException">The room needs a password, or the one given is wrong.</exception>
    /// <exception cref="RoomMembersOnlyException">The room is members-only and we are not a member.</exception>
    /// <exception cref="RoomBannedException">We are banned from the room.</exception>
    /// <exception cref="RoomJoinException">The room refused for another reason (full, locked, …).</exception>
    /// <exception cref="TimeoutException">The room did not answer within <see cref="RoomJoinOptions.JoinTimeout"/>.</exception>
    /// <exception cref="XmppNotConnectedException">Not connected.</exception>
    public async Task<Room> JoinAsync(Jid room, string nick, RoomJoinOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(room);
        if (room.Local is null || !room.IsBare)
        {
            throw new ArgumentException($"'{room}' is not a room JID (room@service, no resource).", nameof(room));
        }

        OccupantJid(room, nick);
        var effective = (options ?? new RoomJoinOptions()).Validated();
        var joined = new Room(this, room, nick, effective);
        lock (_lock)
        {
            if (_rooms.ContainsKey(room))
            {
                throw new InvalidOperationException($"{room} is already joined or being joined.");
            }

            if (_rooms.Count >= MaxRooms)
            {
                throw new InvalidOperationException($"{MaxRooms} rooms are joined already.");
            }

            _rooms.Add(room, joined);
        }

        try
        {
            await joined.JoinCoreAsync(nick, effective.History, cancellationToken).ConfigureAwait(false);
            MucLog.Joined(Client.Logger, room.ToString(), joined.Nick);
            return joined;
        }
        catch (Exception ex)
        {
            joined.Abandon();
            if (ex is OperationCanceledException or TimeoutException && Client.State == XmppConnectionState.Connected)
            {
                // The room may still take the join presence: tell it we are not coming.
                await SendBestEffortAsync(new Presence(PresenceType.Unavailable, room.WithResource(joined.Nick))).ConfigureAwait(false);
            }

            throw;
        }
    }

    /// <summary>Invites someone to a room directly (XEP-0249).</summary>
    /// <param name="room">The room's bare JID.</param>
    /// <param name="to">Whom to invite.</param>
    /// <param name="reason">Optional text.</param>
    /// <param name="password">The room password, for a password-protected room.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <exception cref="XmppNotConnectedException">Not connected.</exception>
    public Task InviteAsync(Jid room, Jid to, string? reason = null, string? password = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(room);
        ArgumentNullException.ThrowIfNull(to);
        var message = new Message { To = to, Id = Stanza.NewId() };
        var x = message.AddChild("x", MucNamespaces.DirectInvite);
        x.SetAttribute("jid", room.Bare.ToString());
        x.SetAttribute("reason", reason);
        x.SetAttribute("password", password);
        return Client.SendAsync(message, cancellationToken);
    }

    /// <summary>The occupant JID for a nickname, with the nickname checked.</summary>
    internal static Jid OccupantJid(Jid room, string nick)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(nick);
        if (nick.Length > RoomJoinOptions.MaxNickLength)
        {
            throw new ArgumentException($"The nickname is longer than {RoomJoinOptions.MaxNickLength} characters.", nameof(nick));
        }

        try
        {
            return room.WithResource(nick);
        }
        catch (FormatException ex)
        {
            throw new ArgumentException($"'{nick}' is not a valid nickname: {ex.Message}", nameof(nick), ex);
        }
    }

    /// <summary>The manager of a client, made on first use.</summary>
    internal static RoomManager For(XmppClient client) => s_managers.GetValue(client, static c => new RoomManager(c, TimeProvider.System));

    internal void Forget(Room room)
    {
        lock (_lock)
        {
            if (_rooms.TryGetValue(room.Jid, out var current) && current == room)
            {
                _rooms.Remove(room.Jid);
            }
        }
    }

    internal void RaiseMessage(RoomMessageEventArgs args) =>
        EventInvoker.Raise(MessageReceived, this, args, Client.Logger, "rooms MessageReceived");

    internal void RaiseRemoved(RoomRemovedEventArgs args) =>
        EventInvoker.Raise(RoomRemoved, this, args, Client.Logger, "rooms RoomRemoved");

    /// <summary>Runs background work of a room (a rejoin, the self-ping loop); what it did not expect is logged, never lost.</summary>
    internal void RunInBackground(Func<Task> work, Jid room) => _ = RunLoggedAsync(work, room);

    private async Task RunLoggedAsync(Func<Task> work, Jid room)
    {
        try
        {
            await work().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            MucLog.BackgroundFailed(Client.Logger, room.ToString(), ex);
        }
    }

    /// <summary>Internal so unit tests can play a reconnect without a network.</summary>
    internal void OnStateChanged(object? sender, ConnectionStateChangedEventArgs e)
    {
        if (e.NewState == XmppConnectionState.Connected && !e.Resumed)
        {
            foreach (var room in Rooms)
            {
                RunInBackground(() => room.RejoinAsync("new session"), room.Jid);
            }
        }
        else if (e.NewState == XmppConnectionState.Disconnected)
        {
            List<Room> rooms;
            lock (_lock)
            {
                rooms = [.. _rooms.Values];
                _rooms.Clear();
            }

            foreach (var room in rooms)
            {
                room.OnDisconnected();
            }
        }
    }

    private async Task SendBestEffortAsync(Stanza stanza)
    {
        try
        {
            await Client.SendAsync(stanza).ConfigureAwait(false);
        }
        catch (XmppTransportException ex)
        {
            MucLog.BestEffortSendFailed(Client.Logger, ex.Message);
        }
    }

    private ValueTask HandlePresenceAsync(Presence presence, CancellationToken cancellationToken)
    {
        if (presence.From is { Local: not null } from && Get(from) is { } room)
        {
            room.HandlePresence(presence, from);
        }

        return ValueTask.CompletedTask;
    }

    private ValueTask HandleMessageAsync(Message message, CancellationToken cancellationToken)
    {
        if (message.From is not { } from)
        {
            return ValueTask.CompletedTask;
        }

        if (from.Local is not null && Get(from) is { } room)
        {
            if (message.Type is MessageType.GroupChat || (message.Type == MessageType.Error && from.IsBare))
            {
                room.HandleGroupChat(message, from);
                return ValueTask.CompletedTask;
            }

            if (!from.IsBare && message.Type is MessageType.Chat or MessageType.Normal && message.Body is not null)
            {
                room.HandlePrivate(message, from);
                return ValueTask.CompletedTask;
            }
        }

        if (message.Type != MessageType.Error && MucStanzas.DirectInvitation(message) is { } invitation)
        {
            OnInvitation(message, from, invitation);
        }

        return ValueTask.CompletedTask;
    }

    private void OnInvitation(Message message, Jid from, Xml.XmppElement invitation)
    {
        if (!Jid.TryParse(invitation.GetAttribute("jid"), out var room) || room.Local is null)
        {
            MucLog.InvalidInvitation(Client.Logger, from.ToString());
            return;
        }

        var password = invitation.GetAttribute("password") is { Length: <= RoomJoinOptions.MaxPasswordLength } p ? p : null;
        var reason = invitation.GetAttribute("reason") is { } r ? (r.Length <= MaxInvitationText ? r : r[..MaxInvitationText]) : null;
        MucLog.Invited(Client.Logger, room.Bare.ToString(), from.ToString());
        EventInvoker.Raise(InvitationReceived, this, new DirectInvitationEventArgs(this, from, room.Bare, password, reason, message), Client.Logger, "rooms InvitationReceived");
    }
}
