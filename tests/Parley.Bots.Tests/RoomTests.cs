using Parley.Testing;
using Parley.Xmpp.Core;

namespace Parley.Bots.Tests;

/// <summary>Bots in a group chat room on Prosody and ejabberd, with a person's Parley client as another occupant.</summary>
[Collection(ServerFixture.CollectionName)]
public sealed class RoomTests(ServerFixture servers)
{
    public static TheoryData<string> Kinds => Servers.Kinds;

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Echo_answers_in_the_room_only_when_addressed_and_never_itself_another_bot_or_delayed_messages(string kind)
    {
        var server = await servers.GetAsync(kind);
        var room = NewRoom(server);
        await using var alice = await RoomOccupant.JoinAsync(server, room, "alice");
        await alice.Room.SendAsync("said before the bot came: echo: old");
        var settings = RoomSettings(room, "echo");
        await BotHost.ConfigureAsync(settings, server, "echo", "Echo");
        await using var host = await BotHost.StartAsync(settings);
        await alice.WaitForOccupantAsync("echo");

        await alice.Room.SendAsync("just talking, not to the bot");
        await alice.Room.SendAsync("echo hi without a colon");
        await alice.Room.SendAsync("! not a command");
        var marked = new Message(room, "echo: I am another bot", MessageType.GroupChat);
        AutoSubmitted.Mark(marked, "auto-generated");
        await alice.Client.SendAsync(marked);
        var hinted = new Message(room, "!echo no-store hint", MessageType.GroupChat);
        hinted.AddChild("no-store", RoomAddressing.HintsNamespace);
        await alice.Client.SendAsync(hinted);
        var delayed = new Message(room, "!echo delayed", MessageType.GroupChat);
        delayed.Add(new Delay(DateTimeOffset.UtcNow.AddMinutes(-5), null, null).ToElement());
        await alice.Client.SendAsync(delayed);

        await alice.Room.SendAsync("ECHO, first");
        Assert.Equal(("echo", "alice: first"), await alice.NextFromOthersAsync());
        await alice.Room.SendAsync("!echo second");
        var answer = await alice.NextMessageFromOthersAsync();
        Assert.Equal("alice: second", answer.Body);
        Assert.True(AutoSubmitted.IsMarked(answer.Message));
        await alice.AssertNothingMoreAsync();
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_flood_in_the_room_gets_one_notice_and_auto_reply_never_answers_in_a_room(string kind)
    {
        var server = await servers.GetAsync(kind);
        var room = NewRoom(server);
        await using var alice = await RoomOccupant.JoinAsync(server, room, "alice");
        await using var bob = await RoomOccupant.JoinAsync(server, room, "bob");
        var settings = RoomSettings(room, "echo");
        settings["Parley:Bots:echo:RateLimit:Burst"] = "2";
        settings["Parley:Bots:echo:RateLimit:PerMinute"] = "0.01";
        await BotHost.ConfigureAsync(settings, server, "echo", "Echo");
        settings["Parley:Bots:away:Rooms:0:Jid"] = room.ToString();
        settings["Parley:Bots:away:Rooms:0:Nick"] = "away";
        settings["Parley:Bots:away:AutoReply:Text"] = "I am away";
        settings["Parley:StateDirectory"] = Directory.CreateTempSubdirectory("parley-rooms").FullName;
        await BotHost.ConfigureAsync(settings, server, "away", "AutoReply");
        await using var host = await BotHost.StartAsync(settings);
        await alice.WaitForOccupantAsync("echo");
        await alice.WaitForOccupantAsync("away");

        for (var i = 1; i <= 5; i++)
        {
            await alice.Room.SendAsync($"!echo a{i}");
            await bob.Room.SendAsync($"away: b{i}, echo: ignored, away is addressed");
            await bob.Room.SendAsync($"echo: b{i}");
        }

        var seen = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            var (nick, body) = await alice.NextFromOthersAsync(except: "bob");
            Assert.Equal("echo", nick);
            seen.Add(body);
        }

        // Two occupants' messages may reach the room in either order; each one's own stay in order.
        var answers = seen.Where(b => !b.Contains("Too many", StringComparison.Ordinal)).ToList();
        Assert.Equal(["alice: a1", "alice: a2"], answers.Where(b => b.StartsWith("alice", StringComparison.Ordinal)));
        Assert.Equal(["bob: b1", "bob: b2"], answers.Where(b => b.StartsWith("bob", StringComparison.Ordinal)));
        var notice = Assert.Single(seen, b => b.Contains("Too many", StringComparison.Ordinal));
        Assert.Matches(@"^(alice|bob): Too many messages — I answer again in \d+ s\.$", notice);
        await alice.AssertNothingMoreAsync(except: "bob");
    }

    internal static Jid NewRoom(XmppTestServer server) => Jid.Parse($"bots-{Guid.NewGuid():N}@{server.MucJid}");

    internal static Dictionary<string, string?> RoomSettings(Jid room, string bot) => new()
    {
        [$"Parley:Bots:{bot}:Rooms:0:Jid"] = room.ToString(),
        [$"Parley:Bots:{bot}:Rooms:0:Nick"] = bot,
    };
}
