using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Parley.Testing;
using Parley.Web.Xmpp;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Web.Tests;

/// <summary>The gateway end to end over HTTP: the real app on loopback, the private Prosody, and the owner as a real XMPP client.</summary>
[Collection(ServerFixture.CollectionName)]
public sealed class ChatTests(ServerFixture servers)
{
    private const string Nick = VisitorLink.NickNamespace;

    [Theory]
    [MemberData(nameof(Servers.Kinds), MemberType = typeof(Servers))]
    public async Task A_guest_message_reaches_the_owner_and_the_reply_reaches_every_tab_live(string kind)
    {
        var server = await servers.GetAsync(kind);
        await using var owner = await Owner.ConnectAsync(server);
        await using var gateway = await GatewayHost.StartAsync(server, owner.Account.Jid.ToString());
        await gateway.WaitConnectedAsync();
        using var alice = gateway.NewVisitor();
        Assert.Equal(HttpStatusCode.OK, (await alice.SignInAsGuestAsync("Alice Liddell")).StatusCode);
        await using var tab1 = await alice.OpenTabAsync();
        await using var tab2 = await alice.OpenTabAsync();

        var sent = await alice.SendAsync("Hello, is anyone there?");
        Assert.Equal("visitor", sent.From);

        // The owner gets an ordinary 1:1 chat from the visitor's JID, with the visitor's name (XEP-0172).
        var atOwner = await owner.NextMessageAsync();
        var visitorJid = Jid.Create(alice.Conversation!, server.ComponentDomain);
        Assert.Equal(visitorJid, atOwner.From!.Bare);
        Assert.Equal(MessageType.Chat, atOwner.Type);
        Assert.Equal("Hello, is anyone there?", atOwner.Body);
        Assert.Equal("Alice Liddell", atOwner.ElementText("nick", Nick));

        // Both tabs see the message go from pending to sent.
        await tab1.NextMessageAsync(m => m.Id == sent.Id && m.State == "sent");
        await tab2.NextMessageAsync(m => m.Id == sent.Id && m.State == "sent");

        // The owner's client acknowledges it (XEP-0184) and replies; both tabs get both without a reload.
        var receipt = new Message { To = atOwner.From };
        receipt.AddChild("received", XmppNamespaces.Receipts).SetAttribute("id", atOwner.Id);
        await owner.Client.SendAsync(receipt);
        var reply = atOwner.CreateReply("Hi Alice, I'm here.");
        reply.AddChild("request", XmppNamespaces.Receipts);
        await owner.Client.SendAsync(reply);
        await tab1.NextMessageAsync(m => m.Id == sent.Id && m.State == "delivered");
        var reply1 = await tab1.NextMessageAsync(m => m.From == "owner");
        var reply2 = await tab2.NextMessageAsync(m => m.From == "owner");
        Assert.Equal("Hi Alice, I'm here.", reply1.Text);
        Assert.Equal(reply1.Id, reply2.Id);

        // The owner's client asked for a receipt (XEP-0184): the visitor's address acknowledges the stored reply.
        var ownReceipt = await owner.NextAnyMessageAsync(m => m.Element("received", XmppNamespaces.Receipts) is not null);
        Assert.Equal(visitorJid, ownReceipt.From!.Bare);
        Assert.Equal(reply.Id, ownReceipt.Element("received", XmppNamespaces.Receipts)!.GetAttribute("id"));

        // A reload (history) keeps everything, in order, with the final states.
        var history = await alice.HistoryAsync();
        Assert.Equal(["Hello, is anyone there?", "Hi Alice, I'm here."], history.Messages.Select(m => m.Text));
        Assert.Equal(["delivered", "sent"], history.Messages.Select(m => m.State));
        Assert.False(history.HasMore);
    }

    [Theory]
    [MemberData(nameof(Servers.Kinds), MemberType = typeof(Servers))]
    public async Task A_reply_sent_while_no_tab_is_open_is_shown_when_the_visitor_returns(string kind)
    {
        var server = await servers.GetAsync(kind);
        await using var owner = await Owner.ConnectAsync(server);
        await using var gateway = await GatewayHost.StartAsync(server, owner.Account.Jid.ToString());
        await gateway.WaitConnectedAsync();
        using var bob = gateway.NewVisitor();
        await bob.SignInAsGuestAsync("Bob");
        long lastSeq;
        await using (var tab = await bob.OpenTabAsync())
        {
            var sent = await bob.SendAsync("Call me back later");
            lastSeq = (await tab.NextMessageAsync(m => m.Id == sent.Id && m.State == "sent")).Seq;
        }

        var atOwner = await owner.NextMessageAsync();

        // The visitor's presence followed the tab: it went away when the last tab closed.
        await owner.NextPresenceAsync(p => p.From!.Bare == atOwner.From!.Bare && p.Type == PresenceType.Unavailable);
        await owner.Client.SendAsync(atOwner.CreateReply("Here is my answer"));
        await owner.Client.SendAsync(atOwner.CreateReply("and a second line"));

        // Stored although nobody is looking: the next tab catches up from where the last one stopped (EventSource's Last-Event-ID).
        await using var back = await bob.OpenTabAsync(after: 0, lastEventId: lastSeq.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("Here is my answer", (await back.NextMessageAsync(m => m.From == "owner")).Text);
        Assert.Equal("and a second line", (await back.NextMessageAsync(m => m.From == "owner")).Text);
        var history = await bob.HistoryAsync();
        Assert.Equal(["Call me back later", "Here is my answer", "and a second line"], history.Messages.Select(m => m.Text));
    }

    [Fact]
    public async Task Visitor_B_can_neither_read_nor_post_into_the_conversation_of_A()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        await using var owner = await Owner.ConnectAsync(server);
        await using var gateway = await GatewayHost.StartAsync(server, owner.Account.Jid.ToString());
        await gateway.WaitConnectedAsync();
        using var a = gateway.NewVisitor();
        using var b = gateway.NewVisitor();
        using var anonymous = gateway.NewVisitor();
        await a.SignInAsGuestAsync("A");
        await b.SignInAsGuestAsync("B");
        await a.SendAsync("secret of A");
        await owner.NextMessageAsync();

        Assert.Equal(HttpStatusCode.NotFound, (await b.Http.GetAsync($"/api/conversations/{a.Conversation}/messages")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await b.Http.GetAsync($"/api/conversations/{a.Conversation}/events")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await b.PostAsync($"/api/conversations/{a.Conversation}/messages", new { text = "injected" })).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.Http.GetAsync($"/api/conversations/{a.Conversation}/messages")).StatusCode);
        Assert.Empty((await b.HistoryAsync()).Messages);
        Assert.Equal(["secret of A"], (await a.HistoryAsync()).Messages.Select(m => m.Text));

        // And the owner's reply to A's JID reaches A only.
        await owner.Client.SendAsync(new Message(Jid.Create(a.Conversation!, server.ComponentDomain), "for A only"));
        await using var tabA = await a.OpenTabAsync();
        await tabA.NextMessageAsync(m => m.Text == "for A only");
        Assert.Empty((await b.HistoryAsync()).Messages);
    }

    [Fact]
    public async Task Markup_in_messages_and_names_comes_back_as_text_and_the_page_never_uses_innerHTML()
    {
        const string Payload = "<img src=x onerror=alert(1)> & <script>alert('x')</script>";
        var server = await servers.GetAsync(Servers.Prosody);
        await using var owner = await Owner.ConnectAsync(server);
        await using var gateway = await GatewayHost.StartAsync(server, owner.Account.Jid.ToString());
        await gateway.WaitConnectedAsync();
        using var visitor = gateway.NewVisitor();
        await visitor.SignInAsGuestAsync("<b>Mallory</b>");
        Assert.Equal("<b>Mallory</b>", (await visitor.RefreshSessionAsync()).GetProperty("name").GetString());
        await visitor.SendAsync(Payload);
        var atOwner = await owner.NextMessageAsync();
        Assert.Equal(Payload, atOwner.Body);
        Assert.Equal("<b>Mallory</b>", atOwner.ElementText("nick", Nick));
        await owner.Client.SendAsync(atOwner.CreateReply(Payload));
        await using var tab = await visitor.OpenTabAsync();
        Assert.Equal(Payload, (await tab.NextMessageAsync(m => m.From == "owner")).Text);
        Assert.All((await visitor.HistoryAsync()).Messages, m => Assert.Equal(Payload, m.Text));

        var page = await visitor.Http.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var csp = page.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("script-src 'self'", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", csp, StringComparison.Ordinal);
        Assert.Equal("nosniff", page.Headers.GetValues("X-Content-Type-Options").Single());
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("<script src=\"/app.js\" defer></script>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script>", html, StringComparison.Ordinal);
        var script = await visitor.Http.GetStringAsync("/app.js");
        Assert.Contains("renderText(textNode, message.text)", script, StringComparison.Ordinal);
        Assert.DoesNotContain("innerHTML", script, StringComparison.Ordinal);
        Assert.DoesNotContain("insertAdjacentHTML", script, StringComparison.Ordinal);
    }

    [Fact]
    public async Task State_changing_requests_need_the_antiforgery_token_and_cookies_are_httponly_and_samesite()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        await using var gateway = await GatewayHost.StartAsync(server, "owner@" + server.Domain);
        using var visitor = gateway.NewVisitor();
        await visitor.RefreshSessionAsync();
        Assert.Equal(HttpStatusCode.BadRequest, (await visitor.PostAsync("/api/guest", new { name = "x" }, withToken: false)).StatusCode);
        var signIn = await visitor.SignInAsGuestAsync("Eve");
        Assert.Equal(HttpStatusCode.OK, signIn.StatusCode);
        var setCookie = signIn.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("parley.visitor=", StringComparison.Ordinal));
        Assert.Contains("httponly", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=lax", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(HttpStatusCode.BadRequest, (await visitor.PostAsync($"/api/conversations/{visitor.Conversation}/messages", new { text = "forged" }, withToken: false)).StatusCode);
        Assert.Empty((await visitor.HistoryAsync()).Messages);
        using var blank = gateway.NewVisitor();
        Assert.Equal(HttpStatusCode.BadRequest, (await blank.SignInAsGuestAsync(" \t ")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await blank.SignInAsGuestAsync(new string('n', 65))).StatusCode);

        // Text that XML cannot carry is refused before it is stored.
        Assert.Equal(HttpStatusCode.BadRequest, (await visitor.PostAsync($"/api/conversations/{visitor.Conversation}/messages", new { text = "nul \u0000 here" })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await visitor.PostAsync($"/api/conversations/{visitor.Conversation}/messages", new { text = new string('x', 4001) })).StatusCode);
    }

    [Fact]
    public async Task Sign_out_ends_the_session_for_a_kept_cookie_and_closes_its_tabs()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        await using var gateway = await GatewayHost.StartAsync(server, "owner@" + server.Domain);
        using var visitor = gateway.NewVisitor();
        await visitor.SignInAsGuestAsync("Shared Computer");
        var kept = visitor.Cookies.GetCookieHeader(gateway.BaseAddress);
        var conversation = visitor.Conversation;
        await using var tab = await visitor.OpenTabAsync();
        Assert.Equal(HttpStatusCode.NoContent, (await visitor.PostAsync("/api/signout", new { })).StatusCode);
        Assert.True(await tab.EndsAsync(TimeSpan.FromSeconds(5)));
        Assert.False((await visitor.RefreshSessionAsync()).GetProperty("signedIn").GetBoolean());

        using var replay = new HttpClient { BaseAddress = gateway.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/conversations/{conversation}/messages");
        request.Headers.Add("Cookie", kept);
        Assert.Equal(HttpStatusCode.Unauthorized, (await replay.SendAsync(request)).StatusCode);
    }

    [Fact]
    public async Task Guest_sign_in_can_be_switched_off_and_is_rate_limited()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        await using (var off = await GatewayHost.StartAsync(server, "owner@" + server.Domain, null, "--Parley:Guests:Enabled=false"))
        {
            using var visitor = off.NewVisitor();
            Assert.False((await visitor.RefreshSessionAsync()).GetProperty("guests").GetBoolean());
            Assert.Equal(HttpStatusCode.NotFound, (await visitor.SignInAsGuestAsync("Nobody")).StatusCode);
        }

        await using var limited = await GatewayHost.StartAsync(server, "owner@" + server.Domain, null, "--Parley:Guests:PerMinute=2");
        using var flood = limited.NewVisitor();
        Assert.Equal(HttpStatusCode.OK, (await flood.SignInAsGuestAsync("one")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await flood.SignInAsGuestAsync("two")).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await flood.SignInAsGuestAsync("three")).StatusCode);
    }

    [Fact]
    public async Task History_comes_in_pages_newest_first_and_sending_is_rate_limited_per_visitor()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        await using var owner = await Owner.ConnectAsync(server);
        await using var gateway = await GatewayHost.StartAsync(server, owner.Account.Jid.ToString(), null, "--Parley:MessagesPerMinute=55");
        await gateway.WaitConnectedAsync();
        using var visitor = gateway.NewVisitor();
        await visitor.SignInAsGuestAsync("Chatty");
        for (var i = 1; i <= 55; i++)
        {
            await visitor.SendAsync($"message {i}");
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, (await visitor.PostAsync($"/api/conversations/{visitor.Conversation}/messages", new { text = "one too many" })).StatusCode);
        using var other = gateway.NewVisitor();
        await other.SignInAsGuestAsync("Other");
        await other.SendAsync("the limit is per visitor");

        var newest = await visitor.HistoryAsync();
        Assert.True(newest.HasMore);
        Assert.Equal(Enumerable.Range(6, 50).Select(i => $"message {i}"), newest.Messages.Select(m => m.Text));
        var older = await visitor.HistoryAsync(before: newest.Messages[0].Id);
        Assert.False(older.HasMore);
        Assert.Equal(Enumerable.Range(1, 5).Select(i => $"message {i}"), older.Messages.Select(m => m.Text));
        var one = (await visitor.Http.GetFromJsonAsync<Visitor.History>($"/api/conversations/{visitor.Conversation}/messages?limit=0", new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web)))!;
        Assert.Equal(["message 55"], one.Messages.Select(m => m.Text));
        Assert.True(one.HasMore);
    }

    [Fact]
    public async Task Behind_a_trusted_proxy_the_guest_limit_counts_each_forwarded_client()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        await using var gateway = await GatewayHost.StartAsync(server, "owner@" + server.Domain, null, "--Parley:Guests:PerMinute=1", "--Parley:TrustForwardedHeaders=true");
        async Task<HttpStatusCode> SignInFrom(string address)
        {
            using var visitor = gateway.NewVisitor();
            visitor.Http.DefaultRequestHeaders.Add("X-Forwarded-For", address);
            return (await visitor.SignInAsGuestAsync("Proxied")).StatusCode;
        }

        Assert.Equal(HttpStatusCode.OK, await SignInFrom("198.51.100.1"));
        Assert.Equal(HttpStatusCode.OK, await SignInFrom("198.51.100.2"));
        Assert.Equal(HttpStatusCode.TooManyRequests, await SignInFrom("198.51.100.1"));
    }

    [Fact]
    public async Task Messages_written_while_the_XMPP_link_is_down_wait_in_the_outbox_and_go_out_in_order()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        await using var owner = await Owner.ConnectAsync(server);
        string database;
        string conversation;
        Visitor visitor;
        await using (var down = await GatewayHost.StartAsync(server, owner.Account.Jid.ToString(), null, "--Parley:Component:Secret=wrong-secret"))
        {
            database = down.DatabasePath;
            visitor = down.NewVisitor();
            await visitor.SignInAsGuestAsync("Patient");
            conversation = visitor.Conversation!;
            Assert.Equal("pending", (await visitor.SendAsync("first")).State);
            Assert.Equal("pending", (await visitor.SendAsync("second")).State);
            Assert.Equal((HttpStatusCode.OK, "Degraded"), await visitor.HealthAsync());
            Assert.All((await visitor.HistoryAsync()).Messages, m => Assert.Equal("pending", m.State));
        }

        // The cookie keys live next to the database, so the sign-in survives the restart.
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(Path.GetDirectoryName(database)!, "parley-web-keys"), "key-*.xml"));

        // The same database with the right secret: the outbox drains, in order, and the states move on.
        await using var up = await GatewayHost.StartAsync(server, owner.Account.Jid.ToString(), database);
        Assert.Equal("first", (await owner.NextMessageAsync()).Body);
        Assert.Equal("second", (await owner.NextMessageAsync()).Body);
        using var again = up.NewVisitor();
        foreach (var cookie in visitor.Cookies.GetAllCookies().Cast<Cookie>())
        {
            again.Cookies.Add(up.BaseAddress, new Cookie(cookie.Name, cookie.Value, "/"));
        }

        visitor.Dispose();
        await again.RefreshSessionAsync();
        Assert.Equal(conversation, again.Conversation);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while ((await again.HistoryAsync()).Messages.Any(m => m.State == "pending"))
        {
            Assert.True(DateTime.UtcNow < deadline, "The outbox did not mark the messages sent.");
            await Task.Delay(50);
        }

        Assert.Equal((HttpStatusCode.OK, "Healthy"), await again.HealthAsync());
    }

    [Theory]
    [MemberData(nameof(Servers.Kinds), MemberType = typeof(Servers))]
    public async Task With_visitors_in_the_roster_the_owner_sees_the_visitor_as_a_contact_and_the_page_shows_the_owners_presence(string kind)
    {
        var server = await servers.GetAsync(kind);
        await using var owner = await Owner.ConnectAsync(server);
        await using var gateway = await GatewayHost.StartAsync(server, owner.Account.Jid.ToString(), null, "--Parley:VisitorsInRoster=true");
        await gateway.WaitConnectedAsync();
        using var visitor = gateway.NewVisitor();
        await visitor.SignInAsGuestAsync("Carol");
        var visitorJid = Jid.Create(visitor.Conversation!, server.ComponentDomain);
        await using var tab = await visitor.OpenTabAsync();
        await tab.WaitPresenceAsync("offline");

        // Opening a tab makes the visitor available to the owner, with the name.
        var available = await owner.NextPresenceAsync(p => p.From?.Bare == visitorJid && p.Type == PresenceType.Available);
        Assert.Equal("Carol", available.ElementText("nick", Nick));

        // The first message asks the owner for a subscription (with the nick); the owner approves and subscribes back.
        await visitor.SendAsync("hello");
        var request = await owner.NextPresenceAsync(p => p.From?.Bare == visitorJid && p.Type == PresenceType.Subscribe);
        Assert.Equal("Carol", request.ElementText("nick", Nick));
        await owner.Client.Presences.ApproveSubscriptionAsync(visitorJid);
        await owner.Client.Presences.SubscribeAsync(visitorJid);

        // Subscribed both ways: the owner's presence reaches the visitor's JID and the page.
        await owner.Client.SendPresenceAsync();
        await tab.WaitPresenceAsync("online");
        await owner.Client.SendPresenceAsync(PresenceShow.Away);
        await tab.WaitPresenceAsync("away");

        // Disco and ping work for the visitor's JID like for any contact.
        await owner.Client.PingAsync(visitorJid);
        var info = await owner.Client.Disco.QueryInfoAsync(visitorJid);
        Assert.True(info.Supports(XmppNamespaces.Receipts));

        // A stranger cannot talk to visitors.
        var stranger = await Owner.ConnectAsync(server);
        await using (stranger)
        {
            await stranger.Client.SendAsync(new Message(visitorJid, "spam") { Id = "spam-1" });
            var error = await stranger.NextAnyMessageAsync(m => m.Id == "spam-1");
            Assert.Equal(MessageType.Error, error.Type);
            Assert.Equal("not-allowed", error.Error?.Condition);
        }

        Assert.Equal(["hello"], (await visitor.HistoryAsync()).Messages.Select(m => m.Text));
    }
}
