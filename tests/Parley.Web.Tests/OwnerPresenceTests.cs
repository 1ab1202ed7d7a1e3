using Microsoft.Playwright;
using Parley.Testing;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;

namespace Parley.Web.Tests;

/// <summary>
/// The owner's presence through the gateway's one subscription: approved once, then every visitor, brand-new ones
/// included, sees it from the first moment, with no request to the owner per visitor.
/// </summary>
[Collection(ServerFixture.CollectionName)]
public sealed class OwnerPresenceTests(ServerFixture servers)
{
    [Theory]
    [MemberData(nameof(Servers.Kinds), MemberType = typeof(Servers))]
    public async Task A_brand_new_visitor_sees_the_owner_online_then_away_with_no_request_to_the_owner(string kind)
    {
        var server = await servers.GetAsync(kind);
        await using var owner = await Owner.ConnectAsync(server);
        await using var gateway = await GatewayHost.StartAsync(server, owner.Account.Jid.ToString());
        await gateway.WaitConnectedAsync();

        // Before the owner approves the gateway, nobody sees the owner.
        using var early = gateway.NewVisitor();
        await early.SignInAsGuestAsync("Early");
        await using var earlyTab = await early.OpenTabAsync();
        await earlyTab.WaitPresenceAsync("offline");

        // One approval, for the gateway's own address; the tab already open follows.
        await owner.ApproveGatewayAsync(server.ComponentDomain);
        await owner.Client.SendPresenceAsync();
        await earlyTab.WaitPresenceAsync("online");

        // A visitor who did not exist when the owner approved: online from the first event, and away when the owner is.
        using var visitor = gateway.NewVisitor();
        await visitor.SignInAsGuestAsync("Brand New");
        await using var tab = await visitor.OpenTabAsync();
        await tab.WaitPresenceAsync("online");
        await owner.Client.SendPresenceAsync(PresenceShow.Away);
        await tab.WaitPresenceAsync("away");
        await earlyTab.WaitPresenceAsync("away");

        // Chatting asks the owner for nothing: the visitor's message arrives, and no subscription request with it.
        await visitor.SendAsync("hello");
        var visitorJid = Jid.Create(visitor.Conversation!, server.ComponentDomain);
        var atOwner = await owner.NextMessageAsync();
        Assert.Equal(visitorJid, atOwner.From!.Bare);
        await owner.Client.PingAsync(visitorJid);
        Assert.DoesNotContain(owner.DrainPresences(), p => p.Type == PresenceType.Subscribe);

        // A later visitor again sees the owner's current presence at once.
        using var later = gateway.NewVisitor();
        await later.SignInAsGuestAsync("Later");
        await using var laterTab = await later.OpenTabAsync();
        await laterTab.WaitPresenceAsync("away");
        await owner.Client.SendPresenceAsync();
        await laterTab.WaitPresenceAsync("online");
    }

    [Theory]
    [MemberData(nameof(Servers.Kinds), MemberType = typeof(Servers))]
    public async Task A_gateway_started_after_the_approval_sees_the_owner_at_once_and_strangers_cannot_subscribe_to_it(string kind)
    {
        var server = await servers.GetAsync(kind);
        await using var owner = await Owner.ConnectAsync(server);
        await using (var first = await GatewayHost.StartAsync(server, owner.Account.Jid.ToString()))
        {
            await first.WaitConnectedAsync();
            await owner.ApproveGatewayAsync(server.ComponentDomain);
        }

        // A gateway that stops says so: the owner's client no longer shows it online, nor its commands.
        await owner.NextPresenceAsync(p => p.Type == PresenceType.Unavailable && p.From?.ToString() == $"{server.ComponentDomain}/{Xmpp.ComponentLink.GatewayResource}");

        // The subscription stays in the owner's roster: a restarted gateway probes and needs no new approval.
        await owner.Client.SendPresenceAsync(PresenceShow.DoNotDisturb);
        await using var gateway = await GatewayHost.StartAsync(server, owner.Account.Jid.ToString());
        await gateway.WaitConnectedAsync();
        using var visitor = gateway.NewVisitor();
        await visitor.SignInAsGuestAsync("After Restart");
        await using var tab = await visitor.OpenTabAsync();
        await tab.WaitPresenceAsync("away");

        // Only the owner may subscribe to the gateway's address.
        await using var stranger = await Owner.ConnectAsync(server);
        var gatewayJid = Jid.Create(null, server.ComponentDomain);

        // Prosody hands subscription answers only to a resource that has asked for its roster.
        await stranger.Client.Roster.GetAsync();
        await stranger.Client.SendAsync(new Presence(PresenceType.Subscribe, gatewayJid));
        await stranger.NextPresenceAsync(p => p.Type == PresenceType.Unsubscribed && p.From?.Bare == gatewayJid);
    }

    [Fact]
    public async Task With_the_owners_name_configured_the_page_words_presence_about_the_owner()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        await using var owner = await Owner.ConnectAsync(server);
        await using var gateway = await GatewayHost.StartAsync(server, owner.Account.Jid.ToString(), null, "--Parley:OwnerName=Alex");
        await gateway.WaitConnectedAsync();
        await using var chromium = await Chromium.LaunchAsync();
        var page = await PageFeatureTests.SignInAsync(chromium, gateway, "Reader");

        var badge = page.Locator("#owner-presence");
        await Assertions.Expect(badge).ToHaveTextAsync("Alex is offline");
        await owner.ApproveGatewayAsync(server.ComponentDomain);
        await owner.Client.SendPresenceAsync();
        await Assertions.Expect(badge).ToHaveTextAsync("Alex is online");
        await owner.Client.SendPresenceAsync(PresenceShow.ExtendedAway);
        await Assertions.Expect(badge).ToHaveTextAsync("Alex is away — leave a message");
        Assert.Empty(chromium.Errors);
    }
}
