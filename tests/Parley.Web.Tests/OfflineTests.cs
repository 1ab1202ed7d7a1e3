using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Microsoft.Playwright;
using Parley.Testing;
using Parley.Web.Api;
using Parley.Web.Configuration;
using Parley.Xmpp;
using Parley.Xmpp.Stanzas;

namespace Parley.Web.Tests;

/// <summary>The owner offline: the page says so, messages still go out, and the optional automatic reply comes once per period.</summary>
[Collection(ServerFixture.CollectionName)]
public sealed class OfflineTests(ServerFixture servers)
{
    private const string AutoText = "Thanks for writing! I'm not at my desk; I'll answer as soon as I'm back.";

    [Fact]
    public async Task The_auto_reply_comes_once_per_visitor_per_period_while_the_owner_is_offline()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        var ownerAccount = await server.CreateAccountAsync();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var gateway = await GatewayHost.StartWithClockAsync(server, ownerAccount.Jid.ToString(), time,
            $"--Parley:OfflineAutoReply={AutoText}", "--Parley:OfflineAutoReplyPeriod=00:00:02");
        await gateway.WaitConnectedAsync();
        using var visitor = gateway.NewVisitor();
        await visitor.SignInAsGuestAsync("Night Owl");
        await using var tab = await visitor.OpenTabAsync();
        await tab.WaitPresenceAsync("offline");

        await visitor.SendAsync("anyone?");
        var auto = await tab.NextMessageAsync(m => m.From == "owner");
        Assert.True(auto.Auto);
        Assert.Equal(AutoText, auto.Text);

        // Within the period: no second reply. The reply is stored before the POST answers, so the history is final.
        await visitor.SendAsync("hello?");
        Assert.Equal(["anyone?", AutoText, "hello?"], (await visitor.HistoryAsync()).Messages.Select(m => m.Text));
        Assert.Equal([false, true, false], (await visitor.HistoryAsync()).Messages.Select(m => m.Auto));

        // Another visitor has their own period.
        using var other = gateway.NewVisitor();
        await other.SignInAsGuestAsync("Early Bird");
        await other.SendAsync("hi");
        Assert.Equal(["hi", AutoText], (await other.HistoryAsync()).Messages.Select(m => m.Text));

        // Just before the period ends, still nothing; after it, again once.
        time.Advance(TimeSpan.FromSeconds(2) - TimeSpan.FromMilliseconds(1));
        await visitor.SendAsync("not yet?");
        time.Advance(TimeSpan.FromMilliseconds(1));
        await visitor.SendAsync("still there?");
        await visitor.SendAsync("?");
        Assert.Equal(["anyone?", AutoText, "hello?", "not yet?", "still there?", AutoText, "?"], (await visitor.HistoryAsync()).Messages.Select(m => m.Text));

        // The owner comes online later and gets every message, none of the automatic replies.
        await using var owner = await Owner.ConnectAsync(server, ownerAccount);
        var bodies = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            bodies.Add((await owner.NextMessageAsync()).Body!);
        }

        Assert.Equal(new[] { "anyone?", "hello?", "hi", "not yet?", "still there?", "?" }.Order(StringComparer.Ordinal), bodies.Order(StringComparer.Ordinal));
        Assert.DoesNotContain(AutoText, bodies);
    }

    [Fact]
    public async Task No_auto_reply_while_the_owner_is_seen_online_and_owner_ids_cannot_pass_for_automatic()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        await using var owner = await Owner.ConnectAsync(server);
        await using var gateway = await GatewayHost.StartAsync(server, owner.Account.Jid.ToString(), null, $"--Parley:OfflineAutoReply={AutoText}", "--Parley:VisitorsInRoster=true");
        await gateway.WaitConnectedAsync();
        using var visitor = gateway.NewVisitor();
        await visitor.SignInAsGuestAsync("Seen");
        await using var tab = await visitor.OpenTabAsync();

        // Until the owner approves the visitor, the gateway cannot see the owner: the first message gets the reply.
        await visitor.SendAsync("first");
        var atOwner = await owner.NextMessageAsync();
        await owner.Client.Presences.ApproveSubscriptionAsync(atOwner.From!.Bare);
        await owner.Client.SendPresenceAsync();
        await tab.WaitPresenceAsync("online");
        await visitor.SendAsync("second");

        // A visitor the owner has not approved yet: the owner is online for someone, so no reply either.
        using var stranger = gateway.NewVisitor();
        await stranger.SignInAsGuestAsync("Unapproved");
        await stranger.SendAsync("hello");
        Assert.Equal(["hello"], (await stranger.HistoryAsync()).Messages.Select(m => m.Text));

        // An owner's message whose id looks like an automatic one of earlier gateways (a stanza-id prefix) is still the owner's own.
        await owner.Client.SendAsync(new Message(atOwner.From!.Bare, "typed by me") { Id = "parley-auto-x" });
        var reply = await tab.NextMessageAsync(m => m.Text == "typed by me");
        Assert.False(reply.Auto);
        var history = (await visitor.HistoryAsync()).Messages;
        Assert.Equal(["first", AutoText, "second", "typed by me"], history.Select(m => m.Text));
        Assert.Equal([false, true, false, false], history.Select(m => m.Auto));
    }

    [Fact]
    public async Task The_page_says_the_owner_is_offline_shows_the_auto_reply_as_automatic_and_still_sends()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        await using var owner = await Owner.ConnectAsync(server);
        await using var gateway = await GatewayHost.StartAsync(server, owner.Account.Jid.ToString(), null, $"--Parley:OfflineAutoReply={AutoText}", "--Parley:VisitorsInRoster=true");
        await gateway.WaitConnectedAsync();
        await using var chromium = await Chromium.LaunchAsync();
        var page = await PageFeatureTests.SignInAsync(chromium, gateway, "Late Visitor");

        var note = page.Locator("#offline-note");
        await Assertions.Expect(note).ToBeVisibleAsync();
        await Assertions.Expect(note).ToHaveTextAsync("Nobody is here right now — leave a message, it will be delivered");
        await page.FillAsync("#text", "Please call me back");
        await page.PressAsync("#text", "Enter");
        var atOwner = await owner.NextMessageAsync();
        Assert.Equal("Please call me back", atOwner.Body);

        var auto = page.Locator("#messages li.owner.auto");
        await Assertions.Expect(auto.Locator(".auto-label")).ToHaveTextAsync("Automatic reply");
        await Assertions.Expect(auto.Locator(".text")).ToHaveTextAsync(AutoText);
        await Assertions.Expect(auto.Locator(".meta")).ToContainTextAsync("sent automatically");
        await Assertions.Expect(page.Locator("#messages li.visitor")).ToHaveClassAsync("visitor sent");

        // The owner shows up: the note goes, and a real reply is not marked.
        await owner.Client.Presences.ApproveSubscriptionAsync(atOwner.From!.Bare);
        await owner.Client.SendPresenceAsync();
        await Assertions.Expect(note).ToBeHiddenAsync();
        await owner.Client.SendAsync(atOwner.CreateReply("I'm back"));
        await Assertions.Expect(page.Locator("#messages li.owner")).ToHaveCountAsync(2);
        await Assertions.Expect(page.Locator("#messages li.owner").Last).Not.ToHaveClassAsync(new System.Text.RegularExpressions.Regex("auto"));
        Assert.Empty(chromium.Errors);
    }

    [Fact]
    public void The_auto_reply_settings_are_validated()
    {
        var validator = new GatewayOptionsValidator();
        GatewayOptions Valid() => new() { Owner = "me@example.org", Component = { Domain = "chat.example.org", Secret = "s" } };
        Assert.True(validator.Validate(null, Valid()).Succeeded);
        var tooLong = Valid();
        tooLong.OfflineAutoReply = new string('x', 1001);
        Assert.True(validator.Validate(null, tooLong).Failed);
        var control = Valid();
        control.OfflineAutoReply = "bell \u0007";
        Assert.True(validator.Validate(null, control).Failed);
        var period = Valid();
        period.OfflineAutoReplyPeriod = TimeSpan.Zero;
        Assert.Contains("OfflineAutoReplyPeriod", validator.Validate(null, period).FailureMessage, StringComparison.Ordinal);
    }
}
