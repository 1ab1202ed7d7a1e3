using System.Net;
using Microsoft.Extensions.Time.Testing;
using Parley.Testing;
using Parley.Web.Xmpp;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;

namespace Parley.Web.Tests;

/// <summary>Typing notifications (XEP-0085) both ways, through the real gateway, server and owner client.</summary>
[Collection(ServerFixture.CollectionName)]
public sealed class ChatStateTests(ServerFixture servers)
{
    [Theory]
    [MemberData(nameof(Servers.Kinds), MemberType = typeof(Servers))]
    public async Task The_visitor_typing_reaches_the_owner_throttled_and_the_message_says_active(string kind)
    {
        var server = await servers.GetAsync(kind);
        await using var owner = await Owner.ConnectAsync(server);
        await using var gateway = await GatewayHost.StartAsync(server, owner.Account.Jid.ToString());
        await gateway.WaitConnectedAsync();
        using var visitor = gateway.NewVisitor();
        await visitor.SignInAsGuestAsync("Typist");
        var visitorJid = Jid.Create(visitor.Conversation!, server.ComponentDomain);

        // The gateway says so in the visitor JID's disco, like any client that supports chat states.
        var info = await owner.Client.Disco.QueryInfoAsync(visitorJid);
        Assert.True(info.Supports(XmppNamespaces.ChatStates));

        // composing, a second composing at once (dropped by the throttle), then paused.
        await TypingAsync(visitor, "composing");
        await TypingAsync(visitor, "composing");
        await TypingAsync(visitor, "paused");
        var composing = await owner.NextAnyMessageAsync(IsChatState);
        Assert.Equal(visitorJid, composing.From!.Bare);
        Assert.Equal("composing", ChatStates.Of(composing));
        Assert.Null(composing.Body);
        Assert.NotNull(composing.Element("no-store", ChatStates.HintsNamespace));
        Assert.Equal("paused", ChatStates.Of(await owner.NextAnyMessageAsync(IsChatState)));

        // The message itself carries "active".
        await visitor.SendAsync("done typing");
        var message = await owner.NextAnyMessageAsync(m => m.Body is not null);
        Assert.Equal("done typing", message.Body);
        Assert.Equal("active", ChatStates.Of(message));

        // Nothing but the message was stored, and only the two states are accepted.
        Assert.Equal(["done typing"], (await visitor.HistoryAsync()).Messages.Select(m => m.Text));
        using var bad = await visitor.PostAsync($"/api/conversations/{visitor.Conversation}/typing", new { state = "gone" });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        using var forged = await visitor.PostAsync($"/api/conversations/{visitor.Conversation}/typing", new { state = "composing" }, withToken: false);
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
    }

    [Theory]
    [MemberData(nameof(Servers.Kinds), MemberType = typeof(Servers))]
    public async Task The_owner_typing_is_pushed_to_the_page_and_cleared_and_never_stored(string kind)
    {
        var server = await servers.GetAsync(kind);
        await using var owner = await Owner.ConnectAsync(server);
        await using var gateway = await GatewayHost.StartAsync(server, owner.Account.Jid.ToString());
        await gateway.WaitConnectedAsync();
        using var visitor = gateway.NewVisitor();
        await visitor.SignInAsGuestAsync("Reader");
        var visitorJid = Jid.Create(visitor.Conversation!, server.ComponentDomain);
        await visitor.SendAsync("question");
        await owner.NextMessageAsync();
        await using var tab = await visitor.OpenTabAsync();

        await owner.Client.SendAsync(OwnerState(visitorJid, "composing"));
        await tab.NextEventAsync("typing", e => e.GetProperty("owner").GetString() == "composing");
        await owner.Client.SendAsync(OwnerState(visitorJid, "paused"));
        await tab.NextEventAsync("typing", e => e.GetProperty("owner").GetString() == "paused");
        await owner.Client.SendAsync(OwnerState(visitorJid, "composing"));
        await tab.NextEventAsync("typing", e => e.GetProperty("owner").GetString() == "composing");

        // A tab opened while the owner types is told at once.
        await using (var late = await visitor.OpenTabAsync())
        {
            await late.NextEventAsync("typing", e => e.GetProperty("owner").GetString() == "composing");
        }

        // A reply without a state still ends "typing".
        await owner.Client.SendAsync(new Message(visitorJid, "answer"));
        await tab.NextEventAsync("typing", e => e.GetProperty("owner").GetString() == "active");
        await owner.Client.SendAsync(OwnerState(visitorJid, "gone"));
        await tab.NextEventAsync("typing", e => e.GetProperty("owner").GetString() == "gone");

        Assert.Equal(["question", "answer"], (await visitor.HistoryAsync()).Messages.Select(m => m.Text));
    }

    [Fact]
    public void The_throttle_drops_repeats_and_flapping_and_lets_paused_follow_composing_only()
    {
        var time = new FakeTimeProvider();
        var throttle = new VisitorTypingThrottle(time);
        Assert.False(throttle.TryTake("v", ChatStates.Paused));
        Assert.True(throttle.TryTake("v", ChatStates.Composing));
        Assert.False(throttle.TryTake("v", ChatStates.Composing));
        Assert.True(throttle.TryTake("v", ChatStates.Paused));
        Assert.False(throttle.TryTake("v", ChatStates.Paused));

        // Flapping: composing again within the interval is dropped, after it is sent.
        Assert.False(throttle.TryTake("v", ChatStates.Composing));
        time.Advance(VisitorTypingThrottle.ComposingInterval);
        Assert.True(throttle.TryTake("v", ChatStates.Composing));

        // A long stretch of typing is refreshed now and then; another visitor is counted apart.
        time.Advance(VisitorTypingThrottle.Refresh);
        Assert.True(throttle.TryTake("v", ChatStates.Composing));
        Assert.True(throttle.TryTake("w", ChatStates.Composing));

        // Sending the message counts as active, so the next sentence may show "composing" once the interval passed.
        throttle.MarkActive("v");
        Assert.False(throttle.TryTake("v", ChatStates.Paused));
        time.Advance(VisitorTypingThrottle.ComposingInterval);
        Assert.True(throttle.TryTake("v", ChatStates.Composing));
        Assert.False(throttle.TryTake("v", "gone"));
    }

    [Fact]
    public void Owner_states_announce_only_changes_and_for_whom()
    {
        var states = new OwnerChatStates();
        var changed = new List<string?>();
        states.Changed += changed.Add;
        states.Set("v", ChatStates.Active);
        Assert.Empty(changed);
        states.Set("v", ChatStates.Composing);
        Assert.Equal(["v"], changed);
        Assert.Equal(ChatStates.Composing, states.For("v"));
        Assert.Equal(ChatStates.Active, states.For("w"));
        states.Set("v", ChatStates.Composing);
        Assert.Equal(["v"], changed);
        states.Clear();
        Assert.Equal(["v", null], changed);
        Assert.Equal(ChatStates.Active, states.For("v"));
        states.Clear();
        Assert.Equal(["v", null], changed);
    }

    private static bool IsChatState(Message message) => message.Body is null && ChatStates.Of(message) is not null;

    private static Message OwnerState(Jid to, string state)
    {
        var message = new Message { To = to, Type = MessageType.Chat };
        message.Add(ChatStates.Element(state));
        return message;
    }

    private static async Task TypingAsync(Visitor visitor, string state)
    {
        using var response = await visitor.PostAsync($"/api/conversations/{visitor.Conversation}/typing", new { state });
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
    }
}
