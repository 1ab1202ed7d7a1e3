using System.Collections.Concurrent;
using Parley.Xmpp.Muc;
using Parley.Xmpp.Tests.Im;

namespace Parley.Xmpp.Tests.Muc;

/// <summary>Group chat without a network: the room's stanzas are played into an <see cref="OfflineClient"/> and what it sends is read back.</summary>
public sealed class MucUnitTests
{
    private static readonly Jid Room = Jid.Parse("team@conference.example.org");
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task The_join_presence_asks_for_the_history_and_carries_the_password_and_the_join_ends_with_the_subject()
    {
        await using var offline = new OfflineClient();
        var join = offline.Client.Rooms.JoinAsync(Room, "bot", new RoomJoinOptions { History = RoomHistory.LastMessages(2), Password = "pw" });
        var presence = await SentJoinAsync(offline, 1);
        Assert.Equal(Room.WithResource("bot"), presence.To);
        var x = Assert.IsType<XmppElement>(presence.Element("x", "http://jabber.org/protocol/muc"));
        Assert.Equal("2", x.Element("history")?.GetAttribute("maxstanzas"));
        Assert.Null(x.Element("history")?.GetAttribute("since"));
        Assert.Equal("pw", x.ElementText("password"));

        await offline.ReceiveAsync(OccupantPresence("alice", "moderator", "owner", realJid: "alice@example.org/desk"));
        await offline.ReceiveAsync(OccupantPresence("bot", "participant", "none", self: true));
        await offline.ReceiveAsync(RoomMessage("alice", "old one", id: "a1", delayed: true));
        Assert.False(join.IsCompleted);
        await offline.ReceiveAsync(Subject("Welcome"));
        var room = await join.WaitAsync(Wait);

        Assert.Equal((RoomState.Joined, "Welcome", "bot"), (room.State, room.Subject, room.Nick));
        Assert.Equal(["old one"], room.History.Select(m => m.Body));
        var alice = Assert.IsType<Occupant>(room.GetOccupant("alice"));
        Assert.Equal((MucRole.Moderator, MucAffiliation.Owner, Jid.Parse("alice@example.org/desk")), (alice.Role, alice.Affiliation, alice.RealJid));
        Assert.True(room.Self?.IsSelf);
    }

    [Theory]
    [InlineData("conflict", typeof(RoomNickConflictException))]
    [InlineData("not-authorized", typeof(RoomPasswordRequiredException))]
    [InlineData("registration-required", typeof(RoomMembersOnlyException))]
    [InlineData("forbidden", typeof(RoomBannedException))]
    [InlineData("service-unavailable", typeof(RoomJoinException))]
    public async Task Each_refusal_of_a_join_is_its_own_exception_and_the_room_is_forgotten(string condition, Type expected)
    {
        await using var offline = new OfflineClient();
        var join = offline.Client.Rooms.JoinAsync(Room, "bot");
        await SentJoinAsync(offline, 1);
        await offline.ReceiveAsync(ErrorPresence("bot", condition));
        var error = await Assert.ThrowsAnyAsync<RoomJoinException>(() => join.WaitAsync(Wait));
        Assert.Equal(expected, error.GetType());
        Assert.Equal((condition, "bot", Room), (error.Condition, error.Nick, error.Room));
        Assert.Null(offline.Client.Rooms.Get(Room));
    }

    [Fact]
    public async Task Taking_the_next_nick_tries_nick2_then_nick3_and_fails_after_the_last_attempt()
    {
        await using var offline = new OfflineClient();
        var options = new RoomJoinOptions { NickConflict = NickConflictPolicy.TakeNext, MaxNickAttempts = 3 };
        var join = offline.Client.Rooms.JoinAsync(Room, "bot", options);
        foreach (var (attempt, nick) in new[] { (1, "bot"), (2, "bot2"), (3, "bot3") })
        {
            Assert.Equal(Room.WithResource(nick), (await SentJoinAsync(offline, attempt)).To);
            await offline.ReceiveAsync(ErrorPresence(nick, "conflict"));
        }

        var error = await Assert.ThrowsAsync<RoomNickConflictException>(() => join.WaitAsync(Wait));
        Assert.Equal("bot3", error.Nick);
    }

    [Fact]
    public async Task Bad_input_is_refused_before_anything_is_sent()
    {
        await using var offline = new OfflineClient();
        var rooms = offline.Client.Rooms;
        await Assert.ThrowsAsync<ArgumentException>(() => rooms.JoinAsync(Room, new string('n', RoomJoinOptions.MaxNickLength + 1)));
        await Assert.ThrowsAsync<ArgumentException>(() => rooms.JoinAsync(Room, " "));
        await Assert.ThrowsAsync<ArgumentException>(() => rooms.JoinAsync(Room.WithResource("x"), "bot"));
        await Assert.ThrowsAsync<ArgumentException>(() => rooms.JoinAsync(Jid.Parse("conference.example.org"), "bot"));
        await Assert.ThrowsAsync<ArgumentException>(() => rooms.JoinAsync(Room, "bot", new RoomJoinOptions { Password = new string('p', RoomJoinOptions.MaxPasswordLength + 1) }));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => rooms.JoinAsync(Room, "bot", new RoomJoinOptions { MaxOccupants = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => RoomHistory.LastMessages(RoomHistory.MaxMessages + 1));
        Assert.Empty(offline.Sent);
    }

    [Fact]
    public async Task The_occupant_list_is_bounded()
    {
        await using var offline = new OfflineClient();
        var room = await JoinAsync(offline, new RoomJoinOptions { MaxOccupants = 3 });
        foreach (var nick in new[] { "a", "b", "c", "d" })
        {
            await offline.ReceiveAsync(OccupantPresence(nick, "participant", "none"));
        }

        Assert.Equal(3, room.Occupants.Count);
        Assert.Contains(room.Occupants, o => o.IsSelf);
    }

    [Fact]
    public async Task A_self_ping_the_room_refuses_makes_the_client_join_again_without_history()
    {
        await using var offline = new OfflineClient();
        offline.Responder = request => request.Payload?.Name == "ping" && request.To == Room.WithResource("bot")
            ? FromRoom(request, request.CreateError(StanzaError.NotAcceptable()))
            : null;
        var room = await JoinAsync(offline, new RoomJoinOptions { SelfPingInterval = TimeSpan.FromSeconds(1) });
        var rejoined = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        room.Rejoined += (_, _) => rejoined.TrySetResult();

        var again = await SentJoinAsync(offline, 2);
        Assert.Contains(offline.Sent.OfType<Iq>(), iq => iq.Payload?.Name == "ping" && iq.To == Room.WithResource("bot"));
        Assert.Equal("0", again.Element("x", "http://jabber.org/protocol/muc")?.Element("history")?.GetAttribute("maxstanzas"));
        Assert.Equal(RoomState.Rejoining, room.State);

        offline.Responder = null;
        await offline.ReceiveAsync(OccupantPresence("bot", "participant", "none", self: true));
        await offline.ReceiveAsync(Subject("Welcome"));
        await rejoined.Task.WaitAsync(Wait);
        Assert.Equal(RoomState.Joined, room.State);
        await room.LeaveAsync();
    }

    [Fact]
    public async Task A_self_ping_answered_by_the_room_keeps_the_room_joined()
    {
        await using var offline = new OfflineClient();
        var room = await JoinAsync(offline, new RoomJoinOptions { SelfPingInterval = Timeout.InfiniteTimeSpan });
        offline.Responder = request => FromRoom(request, request.CreateResult());
        Assert.Equal(Parley.Xmpp.Muc.Room.SelfPingResult.Joined, await room.PingSelfAsync(CancellationToken.None));
        offline.Responder = request => FromRoom(request, request.CreateError(StanzaError.ServiceUnavailable()));
        Assert.Equal(Parley.Xmpp.Muc.Room.SelfPingResult.Joined, await room.PingSelfAsync(CancellationToken.None));
        offline.Responder = request => FromRoom(request, request.CreateError(new StanzaError("remote-server-not-found", StanzaErrorType.Cancel)));
        Assert.Equal(Parley.Xmpp.Muc.Room.SelfPingResult.Unknown, await room.PingSelfAsync(CancellationToken.None));
        offline.Responder = request => FromRoom(request, request.CreateError(StanzaError.NotAcceptable()));
        Assert.Equal(Parley.Xmpp.Muc.Room.SelfPingResult.NotJoined, await room.PingSelfAsync(CancellationToken.None));
        Assert.Single(offline.Sent.OfType<Presence>());
    }

    [Fact]
    public async Task After_a_new_session_the_room_is_joined_again_from_the_last_message_and_replays_already_seen_are_dropped()
    {
        await using var offline = new OfflineClient();
        var rooms = offline.Client.Rooms;
        var room = await JoinAsync(offline, new RoomJoinOptions { History = RoomHistory.LastMessages(5) }, occupants: ["alice", "carol"]);
        var messages = new ConcurrentQueue<RoomMessageEventArgs>();
        room.MessageReceived += (_, e) => messages.Enqueue(e);
        var left = new ConcurrentQueue<string>();
        room.OccupantLeft += (_, e) => left.Enqueue(e.Occupant.Nick);
        var rejoined = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        room.Rejoined += (_, _) => rejoined.TrySetResult();

        var before = DateTimeOffset.UtcNow;
        await offline.ReceiveAsync(RoomMessage("alice", "seen live", stanzaId: "s1"));
        await offline.ReceiveAsync(RoomMessage("alice", "seen live, no ids"));
        Assert.Equal(["seen live", "seen live, no ids"], messages.Select(m => m.Body));

        rooms.OnStateChanged(offline.Client, new ConnectionStateChangedEventArgs(XmppConnectionState.Reconnecting, XmppConnectionState.Connected, null, resumed: false));
        var again = await SentJoinAsync(offline, 2);
        Assert.Equal(Room.WithResource("bot"), again.To);
        var history = again.Element("x", "http://jabber.org/protocol/muc")?.Element("history");
        Assert.Null(history?.GetAttribute("maxstanzas"));
        Assert.True(Delay.TryParseStamp(history?.GetAttribute("since"), out var since));
        Assert.InRange(since, before.AddSeconds(-10), before);
        Assert.Equal(RoomState.Rejoining, room.State);

        // The room replays from 'since': both messages seen (new ids, so only the room's own checks can tell), then one missed.
        await offline.ReceiveAsync(OccupantPresence("alice", "moderator", "owner"));
        await offline.ReceiveAsync(OccupantPresence("bot", "participant", "none", self: true));
        await offline.ReceiveAsync(RoomMessage("alice", "seen live", stanzaId: "s1", id: "replay-1", delayed: true));
        await offline.ReceiveAsync(RoomMessage("alice", "seen live, no ids", delayed: true));
        await offline.ReceiveAsync(RoomMessage("alice", "missed", stanzaId: "s2", delayed: true));
        await offline.ReceiveAsync(Subject("Welcome"));
        await rejoined.Task.WaitAsync(Wait);

        Assert.Equal(["seen live", "seen live, no ids", "missed"], messages.Select(m => m.Body));
        Assert.True(messages.Last().IsHistory);
        Assert.Equal(["carol"], left);
        Assert.Equal(["alice", "bot"], room.Occupants.Select(o => o.Nick));
    }

    [Fact]
    public async Task A_resumed_session_does_not_rejoin_and_a_final_disconnect_removes_every_room()
    {
        await using var offline = new OfflineClient();
        var rooms = offline.Client.Rooms;
        var room = await JoinAsync(offline, new RoomJoinOptions());
        var removed = new TaskCompletionSource<RoomRemovedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        rooms.RoomRemoved += (_, e) => removed.TrySetResult(e);

        rooms.OnStateChanged(offline.Client, new ConnectionStateChangedEventArgs(XmppConnectionState.Reconnecting, XmppConnectionState.Connected, null, resumed: true));
        await Task.Delay(200);
        Assert.Single(offline.Sent.OfType<Presence>());

        rooms.OnStateChanged(offline.Client, new ConnectionStateChangedEventArgs(XmppConnectionState.Reconnecting, XmppConnectionState.Disconnected, null, resumed: false));
        var e = await removed.Task.WaitAsync(Wait);
        Assert.Equal((RoomExitReason.Disconnected, RoomState.Left), (e.Reason, room.State));
        Assert.Empty(rooms.Rooms);
    }

    [Fact]
    public async Task A_kick_with_an_actor_and_a_reason_removes_the_room()
    {
        await using var offline = new OfflineClient();
        var room = await JoinAsync(offline, new RoomJoinOptions());
        var removed = new TaskCompletionSource<RoomRemovedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        room.Removed += (_, e) => removed.TrySetResult(e);
        var kick = OccupantPresence("bot", "none", "none", self: true, type: PresenceType.Unavailable, codes: [307]);
        var item = kick.Element("x", "http://jabber.org/protocol/muc#user")!.Element("item")!;
        item.AddChild("actor").SetAttribute("nick", "alice");
        item.AddChild("reason", text: "flooding");
        await offline.ReceiveAsync(kick);

        var e = await removed.Task.WaitAsync(Wait);
        Assert.Equal((RoomExitReason.Kicked, "flooding", "alice"), (e.Reason, e.ReasonText, e.Actor));
        Assert.Null(offline.Client.Rooms.Get(Room));
    }

    [Fact]
    public async Task A_direct_invitation_is_raised_with_its_room_password_and_reason_and_a_broken_one_is_ignored()
    {
        await using var offline = new OfflineClient();
        var invitations = new ConcurrentQueue<DirectInvitationEventArgs>();
        offline.Client.Rooms.InvitationReceived += (_, e) => invitations.Enqueue(e);

        await offline.ReceiveAsync(Invitation("not a jid@@"));
        await offline.ReceiveAsync(Invitation(Room.ToString(), password: "pw", reason: "standup"));
        var invitation = Assert.Single(invitations);
        Assert.Equal((Room, "pw", "standup", Jid.Parse("carol@example.org/phone")), (invitation.RoomJid, invitation.Password, invitation.Reason, invitation.From));
        Assert.Empty(offline.Sent);
        Assert.Contains("jabber:x:conference", offline.Client.Disco.Features);
        Assert.Contains("http://jabber.org/protocol/muc", offline.Client.Disco.Features);
    }

    /// <summary>A response as the server delivers it: from the address the request went to.</summary>
    private static Iq FromRoom(Iq request, Iq response)
    {
        response.From = request.To;
        return response;
    }

    private static async Task<Room> JoinAsync(OfflineClient offline, RoomJoinOptions options, string[]? occupants = null)
    {
        var join = offline.Client.Rooms.JoinAsync(Room, "bot", options);
        await SentJoinAsync(offline, 1);
        foreach (var nick in occupants ?? [])
        {
            await offline.ReceiveAsync(OccupantPresence(nick, "participant", "none"));
        }

        await offline.ReceiveAsync(OccupantPresence("bot", "participant", "none", self: true));
        await offline.ReceiveAsync(Subject("Welcome"));
        return await join.WaitAsync(Wait);
    }

    /// <summary>Waits until the client sent its <paramref name="count"/>th join presence, and returns it.</summary>
    private static async Task<Presence> SentJoinAsync(OfflineClient offline, int count)
    {
        using var cts = new CancellationTokenSource(Wait);
        while (true)
        {
            var joins = offline.Sent.OfType<Presence>().Where(p => p.Element("x", "http://jabber.org/protocol/muc") is not null).ToList();
            if (joins.Count >= count)
            {
                return joins[count - 1];
            }

            await Task.Delay(10, cts.Token);
        }
    }

    private static Presence OccupantPresence(string nick, string role, string affiliation, bool self = false, string? realJid = null,
        PresenceType type = PresenceType.Available, int[]? codes = null)
    {
        var presence = new Presence(type) { From = Room.WithResource(nick) };
        var x = presence.AddChild("x", "http://jabber.org/protocol/muc#user");
        var item = x.AddChild("item");
        item.SetAttribute("role", role);
        item.SetAttribute("affiliation", affiliation);
        item.SetAttribute("jid", realJid);
        foreach (var code in (self ? new[] { 110 } : []).Concat(codes ?? []))
        {
            x.AddChild("status").SetAttribute("code", code.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        return presence;
    }

    private static Presence ErrorPresence(string nick, string condition)
    {
        var presence = new Presence(PresenceType.Error) { From = Room.WithResource(nick) };
        presence.Add(new StanzaError(condition, StanzaErrorType.Cancel).ToElement());
        return presence;
    }

    private static Message RoomMessage(string nick, string body, string? id = null, string? stanzaId = null, bool delayed = false)
    {
        var message = new Message(Jid.Parse("alice@example.org/desk"), body, MessageType.GroupChat) { From = Room.WithResource(nick), Id = id };
        if (stanzaId is not null)
        {
            var sid = message.AddChild("stanza-id", "urn:xmpp:sid:0");
            sid.SetAttribute("id", stanzaId);
            sid.SetAttribute("by", Room.ToString());
        }

        if (delayed)
        {
            message.Add(new Delay(DateTimeOffset.UtcNow.AddMinutes(-1), Room, null).ToElement());
        }

        return message;
    }

    private static Message Subject(string subject)
    {
        var message = new Message { From = Room.WithResource("alice"), Type = MessageType.GroupChat };
        message.AddChild("subject", text: subject);
        return message;
    }

    private static Message Invitation(string room, string? password = null, string? reason = null)
    {
        var message = new Message { From = Jid.Parse("carol@example.org/phone"), Id = Stanza.NewId() };
        var x = message.AddChild("x", "jabber:x:conference");
        x.SetAttribute("jid", room);
        x.SetAttribute("password", password);
        x.SetAttribute("reason", reason);
        return message;
    }
}
