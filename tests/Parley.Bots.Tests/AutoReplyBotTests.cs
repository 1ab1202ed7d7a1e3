using Microsoft.Extensions.Time.Testing;
using Parley.Testing;

namespace Parley.Bots.Tests;

/// <summary>The auto-reply bot: once per contact per period, across restarts, never to bots.</summary>
[Collection(ServerFixture.CollectionName)]
public sealed class AutoReplyBotTests(ServerFixture servers) : IDisposable
{
    private const string Text = "I am on holiday until Monday.";
    private readonly string _state = Directory.CreateTempSubdirectory("parley-bots-state-").FullName;

    public static TheoryData<string> Kinds => Servers.Kinds;

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Replies_once_per_contact_and_remembers_it_across_a_restart(string kind)
    {
        var server = await servers.GetAsync(kind);
        var settings = new Dictionary<string, string?>
        {
            ["Parley:StateDirectory"] = _state,
            ["Parley:Bots:away:AutoReply:Text"] = Text,
        };
        var bot = await BotHost.ConfigureAsync(settings, server, "away", "AutoReply");
        await using var alice = await Person.ConnectAsync(server);
        await using (var host = await BotHost.StartAsync(settings))
        {
            await alice.SayAsync(bot.Jid, "are you there?");
            var reply = await alice.NextAsync();
            Assert.Equal(Text, reply.Body);
            Assert.True(AutoSubmitted.IsMarked(reply));

            await alice.SayAsync(bot.Jid, "hello??");
            await using var probe = await Person.ConnectAsync(server);
            await probe.SayAsync(bot.Jid, "hi");
            Assert.Equal(Text, await probe.NextBodyAsync());
            await alice.AssertNothingMoreAsync();
        }

        Assert.True(File.Exists(Path.Combine(_state, "away.autoreply.json")));

        // A new host instance with the same state folder.
        await using (var host = await BotHost.StartAsync(settings))
        {
            await alice.SayAsync(bot.Jid, "back again");
            await using var probe = await Person.ConnectAsync(server);
            await probe.SayAsync(bot.Jid, "hi");
            Assert.Equal(Text, await probe.NextBodyAsync());
            await alice.AssertNothingMoreAsync();
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Replies_again_after_the_period(string kind)
    {
        var server = await servers.GetAsync(kind);
        var settings = new Dictionary<string, string?>
        {
            ["Parley:StateDirectory"] = _state,
            ["Parley:Bots:away:AutoReply:Text"] = Text,
            ["Parley:Bots:away:AutoReply:Period"] = "00:00:02",
        };
        var bot = await BotHost.ConfigureAsync(settings, server, "away", "AutoReply");
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var host = await BotHost.StartAsync(settings, time);
        await using var alice = await Person.ConnectAsync(server);
        await alice.SayAsync(bot.Jid, "one");
        Assert.Equal(Text, await alice.NextBodyAsync());
        await alice.SayAsync(bot.Jid, "two");
        await alice.AssertNothingMoreAsync();
        time.Advance(TimeSpan.FromSeconds(2) - TimeSpan.FromTicks(1));
        await alice.SayAsync(bot.Jid, "still too early");
        await alice.AssertNothingMoreAsync();
        time.Advance(TimeSpan.FromTicks(1));
        await alice.SayAsync(bot.Jid, "three");
        Assert.Equal(Text, await alice.NextBodyAsync());
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Never_answers_a_client_that_says_it_is_a_bot_or_an_auto_submitted_message(string kind)
    {
        var server = await servers.GetAsync(kind);
        var settings = new Dictionary<string, string?>
        {
            ["Parley:StateDirectory"] = _state,
            ["Parley:Bots:away:AutoReply:Text"] = Text,
        };
        var bot = await BotHost.ConfigureAsync(settings, server, "away", "AutoReply");
        await using var host = await BotHost.StartAsync(settings);
        await using var otherBot = await Person.ConnectAsync(server, looksLikeBot: true);
        await using var person = await Person.ConnectAsync(server);

        await otherBot.SayAsync(bot.Jid, "I am a bot");
        var marked = new Message(bot.Jid, "automatic notice");
        AutoSubmitted.Mark(marked, "auto-generated");
        await person.Client.SendAsync(marked);
        await person.SayAsync(bot.Jid, "a real question");

        // The person's real message is answered (so the marked one did not use up its reply), the bot never.
        Assert.Equal(Text, await person.NextBodyAsync());
        await person.AssertNothingMoreAsync();
        await otherBot.AssertNothingMoreAsync();
    }

    public void Dispose() => Directory.Delete(_state, recursive: true);
}
