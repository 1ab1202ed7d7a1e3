using Parley.Testing;
using Parley.Xmpp.Core;
using Parley.Xmpp.Xml;

namespace Parley.Bots.Tests;

/// <summary>The echo bot in the real host, and the rules every bot follows, on Prosody and ejabberd.</summary>
[Collection(ServerFixture.CollectionName)]
public sealed class EchoBotTests(ServerFixture servers)
{
    public static TheoryData<string> Kinds => Servers.Kinds;

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Echoes_chat_and_normal_messages_marked_as_automatic(string kind)
    {
        var server = await servers.GetAsync(kind);
        var settings = new Dictionary<string, string?>();
        var bot = await BotHost.ConfigureAsync(settings, server, "echo", "Echo");
        await using var host = await BotHost.StartAsync(settings);
        await using var alice = await Person.ConnectAsync(server);

        await alice.SayAsync(bot.Jid, "hello <b>&amp;</b> ünïcode");
        var reply = await alice.NextAsync();
        Assert.Equal("hello <b>&amp;</b> ünïcode", reply.Body);
        Assert.Equal(MessageType.Chat, reply.Type);
        Assert.True(AutoSubmitted.IsMarked(reply));

        await alice.Client.SendAsync(new Message(bot.Jid, "normal one", MessageType.Normal));
        var normal = await alice.NextAsync();
        Assert.Equal("normal one", normal.Body);
        Assert.Equal(MessageType.Normal, normal.Type);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Ignores_errors_groupchat_headlines_bodiless_marked_and_old_offline_messages(string kind)
    {
        var server = await servers.GetAsync(kind);
        var settings = new Dictionary<string, string?>();
        var bot = await BotHost.ConfigureAsync(settings, server, "echo", "Echo");
        await using var host = await BotHost.StartAsync(settings);
        await using var alice = await Person.ConnectAsync(server);
        var botJid = bot.Jid.WithResource("bot");

        var error = new Message(botJid, "an error", MessageType.Error);
        error.Add(new XmppElement("error", "jabber:client")).SetAttribute("type", "cancel").AddChild("item-not-found", "urn:ietf:params:xml:ns:xmpp-stanzas");
        await alice.Client.SendAsync(error);
        await alice.Client.SendAsync(new Message(botJid, "group", MessageType.GroupChat));
        await alice.Client.SendAsync(new Message(botJid, "news", MessageType.Headline));
        var chatState = new Message(botJid, null);
        chatState.AddChild("composing", XmppNamespaces.ChatStates);
        await alice.Client.SendAsync(chatState);
        await alice.Client.SendAsync(new Message(botJid, "   "));
        var marked = new Message(botJid, "I am another bot");
        AutoSubmitted.Mark(marked, "auto-generated");
        await alice.Client.SendAsync(marked);
        var old = new Message(botJid, "sent while you were away");
        old.Add(new Delay(DateTimeOffset.UtcNow.AddHours(-1), null, "Offline Storage").ToElement());
        await alice.Client.SendAsync(old);
        var fresh = new Message(botJid, "sent just now, delayed by a hop");
        fresh.Add(new Delay(DateTimeOffset.UtcNow.AddMinutes(1), null, null).ToElement());
        await alice.Client.SendAsync(fresh);

        // Handlers run in arrival order: the probe's echo comes after whatever the ignored ones would have caused.
        await alice.SayAsync(botJid, "probe");
        Assert.Equal("sent just now, delayed by a hop", await alice.NextBodyAsync());
        Assert.Equal("probe", await alice.NextBodyAsync());
        await alice.AssertNothingMoreAsync();
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Never_answers_its_own_account(string kind)
    {
        var server = await servers.GetAsync(kind);
        var settings = new Dictionary<string, string?>();
        var bot = await BotHost.ConfigureAsync(settings, server, "echo", "Echo");
        await using var host = await BotHost.StartAsync(settings);
        await using var self = await Person.ConnectAsync(server, bot); // another resource of the bot's account
        await using var alice = await Person.ConnectAsync(server);

        await self.SayAsync(bot.Jid.WithResource("bot"), "talking to myself");
        await alice.SayAsync(bot.Jid.WithResource("bot"), "probe"); // to the bot's resource only, not to "self" too
        Assert.Equal("probe", await alice.NextBodyAsync());
        await self.AssertNothingMoreAsync();
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task The_rate_limit_answers_a_flood_with_one_notice_and_spares_other_senders(string kind)
    {
        var server = await servers.GetAsync(kind);
        var settings = new Dictionary<string, string?>
        {
            ["Parley:Bots:echo:RateLimit:Burst"] = "3",
            ["Parley:Bots:echo:RateLimit:PerMinute"] = "0.01",
        };
        var bot = await BotHost.ConfigureAsync(settings, server, "echo", "Echo");
        await using var host = await BotHost.StartAsync(settings);
        await using var flooder = await Person.ConnectAsync(server);
        await using var other = await Person.ConnectAsync(server);

        for (var i = 1; i <= 8; i++)
        {
            await flooder.Client.SendAsync(new Message(bot.Jid, $"flood {i}"));
        }

        await flooder.Client.PingAsync();
        await other.SayAsync(bot.Jid, "probe");
        Assert.Equal("probe", await other.NextBodyAsync());
        Assert.Equal("flood 1", await flooder.NextBodyAsync());
        Assert.Equal("flood 2", await flooder.NextBodyAsync());
        Assert.Equal("flood 3", await flooder.NextBodyAsync());
        var notice = await flooder.NextBodyAsync();
        Assert.Matches(@"^Too many messages — I answer again in \d+ s\.$", notice);
        await flooder.AssertNothingMoreAsync(); // flood 5 to 8 are counted, not answered again
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task With_an_allow_list_only_listed_users_get_answers(string kind)
    {
        var server = await servers.GetAsync(kind);
        var allowed = await server.CreateAccountAsync();
        var settings = new Dictionary<string, string?> { ["Parley:Bots:echo:AllowedSenders:0"] = allowed.Jid.ToString() };
        var bot = await BotHost.ConfigureAsync(settings, server, "echo", "Echo");
        await using var host = await BotHost.StartAsync(settings);
        await using var stranger = await Person.ConnectAsync(server);
        await using var friend = await Person.ConnectAsync(server, allowed);

        await stranger.SayAsync(bot.Jid, "let me in");
        await friend.SayAsync(bot.Jid, "hi");
        Assert.Equal("hi", await friend.NextBodyAsync());
        await stranger.AssertNothingMoreAsync();
    }

    [Fact]
    public async Task An_invalid_configuration_stops_the_host_at_start_with_every_problem_named()
    {
        var settings = new Dictionary<string, string?>
        {
            ["Parley:Bots:bad:Kind"] = "Report",
            ["Parley:Bots:bad:Jid"] = "no-local-part.example",
            ["Parley:Bots:bad:Server"] = "host:99999",
            ["Parley:Bots:bad:Report:ProjectPattern"] = "([0-9]",
            ["Parley:Bots:bad:Report:StreamhostPort"] = "70000",
            ["Parley:Bots:bad:Report:StreamhostAddresses:0"] = "two words",
        };
        using var host = BotHost.Build(settings);
        var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => host.StartAsync());
        Assert.Contains(error.Failures, f => f.Contains("Jid 'no-local-part.example'"));
        Assert.Contains(error.Failures, f => f.Contains("Password and PasswordFile"));
        Assert.Contains(error.Failures, f => f.Contains("Server 'host:99999'"));
        Assert.Contains(error.Failures, f => f.Contains("ProjectPattern"));
        Assert.Contains(error.Failures, f => f.Contains("Folder and UrlTemplate"));
        Assert.Contains(error.Failures, f => f.Contains("StreamhostPort 70000"));
        Assert.Contains(error.Failures, f => f.Contains("StreamhostAddresses"));
    }
}
