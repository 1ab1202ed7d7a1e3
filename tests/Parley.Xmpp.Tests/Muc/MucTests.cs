using System.Collections.Concurrent;
using Parley.Testing;
using Parley.Xmpp.Muc;

namespace Parley.Xmpp.Tests.Muc;

/// <summary>Group chat against Prosody's <c>muc</c> and ejabberd's <c>mod_muc</c>, with slixmpp as the other occupant (and room owner).</summary>
[Collection(ServerFixture.CollectionName)]
public sealed class MucTests(ServerFixture servers)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    public static TheoryData<string> Kinds => Servers.Kinds;

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Messages_and_private_messages_go_both_ways_and_occupants_show_role_affiliation_and_real_jid(string kind)
    {
        await using var t = await MucSetup.StartAsync(servers, kind, new() { ["muc#roomconfig_whois"] = "anyone" });
        var fromSlix = new TaskCompletionSource<RoomMessageEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        var privateFromSlix = new TaskCompletionSource<RoomMessageEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        t.Client.Rooms.MessageReceived += (_, e) =>
        {
            if (!e.IsOwn)
            {
                (e.IsPrivate ? privateFromSlix : fromSlix).TrySetResult(e);
            }
        };

        var ownEchoes = new ConcurrentQueue<RoomMessageEventArgs>();
        t.Client.Rooms.MessageReceived += (_, e) =>
        {
            if (e.IsOwn)
            {
                ownEchoes.Enqueue(e);
            }
        };
        var room = await t.Client.Rooms.JoinAsync(t.Room, "parley");
        Assert.Equal(RoomState.Joined, room.State);
        Assert.Same(room, t.Client.Rooms.Get(t.Room));
        var slix = Assert.IsType<Occupant>(room.GetOccupant("slix"));
        Assert.Equal((MucRole.Moderator, MucAffiliation.Owner), (slix.Role, slix.Affiliation));
        Assert.Equal(t.Slix.Jid, slix.RealJid);
        var self = Assert.IsType<Occupant>(room.Self);
        Assert.True(self.IsSelf);
        Assert.Equal(("parley", MucRole.Participant, MucAffiliation.None), (self.Nick, self.Role, self.Affiliation));
        Assert.Equal(["parley", "slix"], room.Occupants.Select(o => o.Nick));

        var mark = t.Slix.Mark();
        await room.SendAsync("héllo <&> from parley");
        await t.Slix.WaitForAsync(e => e.Str("event") == "message" && e.Str("type") == "groupchat" && e.Str("nick") == "parley" && e.Str("body") == "héllo <&> from parley", mark);

        await t.Slix.RunAsync(new { op = "say", room = t.Room.ToString(), body = "hello from slixmpp" });
        var received = await fromSlix.Task.WaitAsync(Wait);
        Assert.Equal(("slix", "hello from slixmpp", false), (received.Nick, received.Body, received.IsHistory));
        Assert.Contains(ownEchoes, e => e.Body == "héllo <&> from parley" && e.Nick == "parley");
        Assert.Same(room, received.Room);

        mark = t.Slix.Mark();
        await room.SendPrivateAsync("slix", "psst, slixmpp");
        await t.Slix.WaitForAsync(e => e.Str("event") == "message" && e.Str("type") == "chat" && e.Str("from") == $"{t.Room}/parley" && e.Str("body") == "psst, slixmpp", mark);
        await t.Slix.RunAsync(new { op = "private", room = t.Room.ToString(), nick = "parley", body = "psst, parley" });
        var whisper = await privateFromSlix.Task.WaitAsync(Wait);
        Assert.Equal(("slix", "psst, parley"), (whisper.Nick, whisper.Body));

        mark = t.Slix.Mark();
        await room.LeaveAsync("bye");
        Assert.Equal(RoomState.Left, room.State);
        Assert.Null(t.Client.Rooms.Get(t.Room));
        await t.Slix.WaitForAsync(e => e.Str("event") == "presence" && e.Str("type") == "unavailable" && e.Str("nick") == "parley", mark);
        await Assert.ThrowsAsync<InvalidOperationException>(() => room.SendAsync("after leaving"));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_kick_arrives_as_an_event_with_its_reason_and_joining_again_works(string kind)
    {
        await using var t = await MucSetup.StartAsync(servers, kind);
        var room = await t.Client.Rooms.JoinAsync(t.Room, "parley");
        var removed = new TaskCompletionSource<RoomRemovedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        room.Removed += (_, e) => removed.TrySetResult(e);
        var occupantLeft = new TaskCompletionSource<OccupantLeftEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);

        await t.Slix.RunAsync(new { op = "kick", room = t.Room.ToString(), nick = "parley", reason = "too chatty" });
        var kicked = await removed.Task.WaitAsync(Wait);
        Assert.Equal((RoomExitReason.Kicked, "too chatty"), (kicked.Reason, kicked.ReasonText));
        Assert.Equal(RoomState.Left, room.State);
        Assert.Null(t.Client.Rooms.Get(t.Room));

        var again = await t.Client.Rooms.JoinAsync(t.Room, "parley");
        Assert.NotSame(room, again);
        var heard = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        again.MessageReceived += (_, e) => heard.TrySetResult(e.Body);
        await t.Slix.RunAsync(new { op = "say", room = t.Room.ToString(), body = "welcome back" });
        Assert.Equal("welcome back", await heard.Task.WaitAsync(Wait));

        // Others leaving show up as occupant events with their reason too.
        again.OccupantLeft += (_, e) => occupantLeft.TrySetResult(e);
        await using var other = await SlixmppOccupant.StartAsync(t.Server, await t.Server.CreateAccountAsync(), "other");
        await other.RunAsync(new { op = "join", room = t.Room.ToString(), nick = "other" });
        await t.Slix.RunAsync(new { op = "kick", room = t.Room.ToString(), nick = "other", reason = "off topic" });
        var left = await occupantLeft.Task.WaitAsync(Wait);
        Assert.Equal(("other", RoomExitReason.Kicked, "off topic"), (left.Occupant.Nick, left.Reason, left.ReasonText));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_ban_arrives_with_its_reason_and_joining_again_is_refused_as_banned(string kind)
    {
        await using var t = await MucSetup.StartAsync(servers, kind);
        var removed = new TaskCompletionSource<RoomRemovedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        t.Client.Rooms.RoomRemoved += (_, e) => removed.TrySetResult(e);
        await t.Client.Rooms.JoinAsync(t.Room, "parley");

        await t.Slix.RunAsync(new { op = "ban", room = t.Room.ToString(), jid = t.Account.Jid.ToString(), reason = "spam" });
        var banned = await removed.Task.WaitAsync(Wait);
        Assert.Equal((RoomExitReason.Banned, "spam"), (banned.Reason, banned.ReasonText));
        await Assert.ThrowsAsync<RoomBannedException>(() => t.Client.Rooms.JoinAsync(t.Room, "parley"));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_nick_conflict_fails_clearly_or_takes_the_next_nick_and_slixmpp_is_refused_ours(string kind)
    {
        await using var t = await MucSetup.StartAsync(servers, kind);
        var conflict = await Assert.ThrowsAsync<RoomNickConflictException>(() => t.Client.Rooms.JoinAsync(t.Room, "slix"));
        Assert.Equal(("slix", "conflict"), (conflict.Nick, conflict.Condition));
        Assert.Null(t.Client.Rooms.Get(t.Room));

        var room = await t.Client.Rooms.JoinAsync(t.Room, "slix", new RoomJoinOptions { NickConflict = NickConflictPolicy.TakeNext });
        Assert.Equal("slix2", room.Nick);
        Assert.Equal("slix2", room.Self?.Nick);

        await using var other = await SlixmppOccupant.StartAsync(t.Server, await t.Server.CreateAccountAsync(), "other");
        Assert.Equal("conflict", await other.TryRunAsync(new { op = "join", room = t.Room.ToString(), nick = "slix2" }));
        Assert.Equal(RoomState.Joined, room.State);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_password_protected_room_refuses_a_missing_or_wrong_password_and_admits_the_right_one(string kind)
    {
        await using var t = await MucSetup.StartAsync(servers, kind, new()
        {
            ["muc#roomconfig_passwordprotectedroom"] = "1",
            ["muc#roomconfig_roomsecret"] = "s3cret",
        });
        var missing = await Assert.ThrowsAsync<RoomPasswordRequiredException>(() => t.Client.Rooms.JoinAsync(t.Room, "parley"));
        Assert.Equal("not-authorized", missing.Condition);
        await Assert.ThrowsAsync<RoomPasswordRequiredException>(() => t.Client.Rooms.JoinAsync(t.Room, "parley", new RoomJoinOptions { Password = "wrong" }));
        var room = await t.Client.Rooms.JoinAsync(t.Room, "parley", new RoomJoinOptions { Password = "s3cret" });
        Assert.Equal(RoomState.Joined, room.State);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_members_only_room_refuses_a_non_member_and_admits_a_member(string kind)
    {
        await using var t = await MucSetup.StartAsync(servers, kind, new() { ["muc#roomconfig_membersonly"] = "1" });
        var refused = await Assert.ThrowsAsync<RoomMembersOnlyException>(() => t.Client.Rooms.JoinAsync(t.Room, "parley"));
        Assert.Equal("registration-required", refused.Condition);

        await t.Slix.RunAsync(new { op = "affiliation", room = t.Room.ToString(), jid = t.Account.Jid.ToString(), affiliation = "member" });
        var room = await t.Client.Rooms.JoinAsync(t.Room, "parley");
        Assert.Equal(MucAffiliation.Member, room.Self?.Affiliation);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task History_on_join_is_none_or_the_last_n_messages(string kind)
    {
        await using var t = await MucSetup.StartAsync(servers, kind);
        foreach (var body in new[] { "h1", "h2", "h3" })
        {
            var mark = t.Slix.Mark();
            await t.Slix.RunAsync(new { op = "say", room = t.Room.ToString(), body });
            await t.Slix.WaitForAsync(e => e.Str("event") == "message" && e.Str("body") == body, mark);
        }

        var live = new ConcurrentQueue<string>();
        t.Client.Rooms.MessageReceived += (_, e) => live.Enqueue(e.Body);
        var none = await t.Client.Rooms.JoinAsync(t.Room, "parley", new RoomJoinOptions { History = RoomHistory.None });
        Assert.Empty(none.History);
        await none.LeaveAsync();

        var lastTwo = await t.Client.Rooms.JoinAsync(t.Room, "parley", new RoomJoinOptions { History = RoomHistory.LastMessages(2) });
        Assert.Equal(["h2", "h3"], lastTwo.History.Select(m => m.Body));
        Assert.All(lastTwo.History, m => Assert.True(m.IsHistory));
        Assert.All(lastTwo.History, m => Assert.Equal("slix", m.Nick));
        Assert.Empty(live);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_direct_invitation_is_an_event_the_application_accepts_by_joining(string kind)
    {
        await using var t = await MucSetup.StartAsync(servers, kind, new()
        {
            ["muc#roomconfig_passwordprotectedroom"] = "1",
            ["muc#roomconfig_roomsecret"] = "open sesame",
        });
        var invited = new TaskCompletionSource<DirectInvitationEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        t.Client.Rooms.InvitationReceived += (_, e) => invited.TrySetResult(e);

        await t.Slix.RunAsync(new { op = "invite", room = t.Room.ToString(), to = t.Client.Jid!.ToString(), reason = "come in", password = "open sesame" });
        var invitation = await invited.Task.WaitAsync(Wait);
        Assert.Equal((t.Room, "come in", "open sesame"), (invitation.RoomJid, invitation.Reason, invitation.Password));
        Assert.Equal(t.Slix.Jid, invitation.From);
        Assert.Null(t.Client.Rooms.Get(t.Room));

        var room = await invitation.AcceptAsync("parley");
        Assert.Equal(RoomState.Joined, room.State);
        Assert.NotNull(room.GetOccupant("slix"));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task After_the_server_drops_our_connection_the_room_is_joined_again_without_replaying_what_we_saw(string kind)
    {
        var server = await servers.GetAsync(kind);
        await using var link = new FaultyLink(server.ClientPort);
        await using var t = await MucSetup.StartAsync(servers, kind, configure: options =>
        {
            options.Port = link.Port;
            options.StreamManagement = false; // no resumption: the server ends the session and takes us out of the room
            options.Reconnect = new ReconnectPolicy { InitialDelay = TimeSpan.FromSeconds(4), MaxDelay = TimeSpan.FromSeconds(4) };
        });
        var bodies = new ConcurrentQueue<(string Body, bool History)>();
        t.Client.Rooms.MessageReceived += (_, e) => bodies.Enqueue((e.Body, e.IsHistory));
        var room = await t.Client.Rooms.JoinAsync(t.Room, "parley", new RoomJoinOptions { History = RoomHistory.LastMessages(10) });
        var rejoined = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        room.Rejoined += (_, _) => rejoined.TrySetResult();

        await t.Slix.RunAsync(new { op = "say", room = t.Room.ToString(), body = "before" });
        await WaitUntilAsync(() => bodies.Any(b => b.Body == "before"));

        var mark = t.Slix.Mark();
        link.DropAll();
        await t.Slix.WaitForAsync(e => e.Str("event") == "presence" && e.Str("type") == "unavailable" && e.Str("nick") == "parley", mark);
        await t.Slix.RunAsync(new { op = "say", room = t.Room.ToString(), body = "while away" });

        await rejoined.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(RoomState.Joined, room.State);
        Assert.Same(room, t.Client.Rooms.Get(t.Room));
        await t.Slix.RunAsync(new { op = "say", room = t.Room.ToString(), body = "after" });
        await WaitUntilAsync(() => bodies.Any(b => b.Body == "after"));

        Assert.Equal([("before", false), ("while away", true), ("after", false)], bodies.ToArray());
        Assert.Equal(["parley", "slix"], room.Occupants.Select(o => o.Nick));
    }

    [Fact]
    public async Task A_room_that_silently_dropped_us_is_found_by_the_self_ping_and_joined_again()
    {
        await using var t = await MucSetup.StartAsync(servers, Servers.Prosody);
        var room = await t.Client.Rooms.JoinAsync(t.Room, "parley", new RoomJoinOptions { SelfPingInterval = TimeSpan.FromSeconds(1) });
        var rejoined = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        room.Rejoined += (_, _) => rejoined.TrySetResult();
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.False(rejoined.Task.IsCompleted, "self-pings while we are in the room must not rejoin");

        // Prosody's own API takes our occupant out without telling anyone, as a restarted or confused service would.
        const string Marker = "parley-muc-dropped";
        var prosody = Assert.IsType<ProsodyServer>(t.Server);
        var output = await prosody.RunShellAsync(
            $"local room = prosody.hosts[\"{t.Server.MucJid}\"].modules.muc.get_room_from_jid(\"{t.Room}\"); " +
            $"local occupant = room:get_occupant_by_nick(\"{t.Room}/parley\"); occupant.role = nil; room:save_occupant(occupant); return \"{Marker}\"");
        Assert.Contains(Marker, output);

        await rejoined.Task.WaitAsync(Wait);
        Assert.Equal(RoomState.Joined, room.State);
        var heard = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        room.MessageReceived += (_, e) => heard.TrySetResult(e.Body);
        await t.Slix.RunAsync(new { op = "say", room = t.Room.ToString(), body = "can you hear me?" });
        Assert.Equal("can you hear me?", await heard.Task.WaitAsync(Wait));
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var cts = new CancellationTokenSource(Wait);
        while (!condition())
        {
            await Task.Delay(50, cts.Token);
        }
    }
}

/// <summary>One test's world: a Parley client, a slixmpp occupant who created (and owns) a fresh room, and the room's JID.</summary>
internal sealed class MucSetup : IAsyncDisposable
{
    private MucSetup(XmppTestServer server, TestAccount account, XmppClient client, SlixmppOccupant slix, Jid room)
    {
        Server = server;
        Account = account;
        Client = client;
        Slix = slix;
        Room = room;
    }

    public XmppTestServer Server { get; }

    public TestAccount Account { get; }

    public XmppClient Client { get; }

    public SlixmppOccupant Slix { get; }

    public Jid Room { get; }

    public static async Task<MucSetup> StartAsync(ServerFixture servers, string kind, Dictionary<string, string>? roomConfig = null, Action<XmppClientOptions>? configure = null)
    {
        var server = await servers.GetAsync(kind);
        var (account, owner) = (await server.CreateAccountAsync(), await server.CreateAccountAsync());
        var room = Jid.Parse($"room-{Guid.NewGuid():N}@{server.MucJid}");
        var slix = await SlixmppOccupant.StartAsync(server, owner);
        await slix.RunAsync(new { op = "join", room = room.ToString(), nick = "slix", config = roomConfig ?? [] });
        var options = server.ClientOptions(account, "parley");
        configure?.Invoke(options);
        var client = new XmppClient(options);
        _ = client.Rooms;
        await client.ConnectAsync();
        await client.SendPresenceAsync();
        return new MucSetup(server, account, client, slix, room);
    }

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        await Slix.DisposeAsync();
    }
}
