using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Parley.Testing;
using Parley.Web.Xmpp;
using Parley.Xmpp.Stanzas;
using Xunit.Abstractions;

namespace Parley.Web.Tests;

/// <summary>
/// Scale-out: two gateway instances on loopback sharing one PostgreSQL and one ejabberd (both connect as the same
/// XEP-0114 component; ejabberd routes among the connections). The visitor's cookies are carried from A to B by hand,
/// or every request goes through a round-robin proxy without sticky sessions. The rate limits and used site tokens are
/// shared through the database.
/// </summary>
[Collection(ServerFixture.CollectionName)]
public sealed class ScaleOutTests(ServerFixture servers, PostgresFixture postgres, ITestOutputHelper output) : IClassFixture<PostgresFixture>
{
    // OwnerInbox's "the owner replied" event (Debug): logged by the instance whose link received and stored the reply.
    private const int OwnerRepliedEvent = 104;
    private const string GatewayDebug = "--Logging:LogLevel:Parley.Web.Xmpp.OwnerInbox=Debug";

    [Fact]
    public async Task Two_gateways_with_component_links_serve_one_visitor_and_send_each_message_once_and_in_order()
    {
        var server = await servers.GetAsync(Servers.Ejabberd);
        var database = await postgres.CreateDatabaseAsync();
        await using var owner = await Owner.ConnectAsync(server);
        await using var a = await StartAsync(server, owner, database, connected: true, GatewayDebug);
        await using var b = await StartAsync(server, owner, database, connected: true, GatewayDebug);
        var repliesAtA = EventCounter.AttachTo(a);
        var repliesAtB = EventCounter.AttachTo(b);

        // ejabberd keeps both connections of the one component domain (a second one does not replace the first).
        await Task.Delay(500);
        Assert.True(Gateway(a).IsConnected && Gateway(b).IsConnected, "ejabberd did not keep two connections of the component.");

        using var visitor = a.NewVisitor();
        Assert.Equal(HttpStatusCode.OK, (await visitor.SignInAsGuestAsync("Scaled")).StatusCode);
        await using var tab = await visitor.OpenTabAsync();

        // The same cookies on instance B: signed in, same conversation, and the anti-forgery token B hands out is accepted.
        using var onB = b.NewVisitor();
        foreach (var cookie in visitor.Cookies.GetAllCookies().Cast<Cookie>())
        {
            onB.Cookies.Add(b.BaseAddress, new Cookie(cookie.Name, cookie.Value, "/"));
        }

        Assert.True((await onB.RefreshSessionAsync()).GetProperty("signedIn").GetBoolean());
        Assert.Equal(visitor.Conversation, onB.Conversation);

        // Posted all at once, half through A and half through B. Both instances' outboxes wake for every stored message;
        // the claim lets exactly one send it, and the visitor's sender lease keeps them on one link while they flow.
        var posted = await Task.WhenAll(Enumerable.Range(1, 20).Select(i => (i % 2 == 0 ? visitor : onB).SendAsync($"question {i}")));
        var questions = posted.OrderBy(m => m.Id).Select(m => m.Text).ToArray();

        var received = new List<Message>();
        foreach (var _ in questions)
        {
            received.Add(await owner.NextMessageAsync());
        }

        // Each exactly once, in order: two links reach the server independently (without the sender lease they can arrive 3, 4, 1, 2).
        Assert.Equal(questions, received.Select(m => m.Body!));

        // ejabberd spreads the owner's replies over both links (random balancing); every one reaches A's tab.
        var answers = Enumerable.Range(1, 8).Select(i => $"answer {i}").ToList();
        foreach (var answer in answers)
        {
            await owner.Client.SendAsync(received[0].CreateReply(answer));
        }

        var pushed = new List<string>();
        while (pushed.Count < answers.Count)
        {
            pushed.Add((await tab.NextMessageAsync(m => m.From == "owner")).Text);
        }

        Assert.Equal(answers.Order(StringComparer.Ordinal), pushed.Order(StringComparer.Ordinal));

        // Each reply was stored by exactly one instance (which one is ejabberd's choice; the other test pins the B-only case).
        output.WriteLine($"replies received over A's link: {repliesAtA.Count(OwnerRepliedEvent)}, over B's: {repliesAtB.Count(OwnerRepliedEvent)}");
        Assert.Equal(answers.Count, repliesAtA.Count(OwnerRepliedEvent) + repliesAtB.Count(OwnerRepliedEvent));

        var fromB = await onB.SendAsync("sent from B");

        // The next message the owner gets is this one: none of the questions was sent twice.
        Assert.Equal("sent from B", (await owner.NextMessageAsync()).Body);
        await tab.NextMessageAsync(m => m.Id == fromB.Id && m.State == "sent");
        var history = await onB.HistoryAsync();
        Assert.Equal(questions.Length + answers.Count + 1, history.Messages.Count);
        Assert.All(history.Messages, m => Assert.NotEqual("pending", m.State));
    }

    [Fact]
    public async Task A_visitor_on_the_instance_without_a_component_link_still_reaches_the_owner_and_gets_the_reply_live()
    {
        var server = await servers.GetAsync(Servers.Ejabberd);
        var database = await postgres.CreateDatabaseAsync();
        await using var owner = await Owner.ConnectAsync(server);

        // A's component points at a port where nothing listens: A serves web pages only, B holds the only link.
        await using var a = await StartAsync(server, owner, database, connected: false, $"--Parley:Component:Port={UnusedPort()}");
        await using var b = await StartAsync(server, owner, database, connected: true);
        Assert.False(Gateway(a).IsConnected);

        using var visitor = a.NewVisitor();
        await visitor.SignInAsGuestAsync("Only on A");
        await using var tab = await visitor.OpenTabAsync();
        var sent = await visitor.SendAsync("written on A, sent by B");
        Assert.Equal("pending", sent.State);

        // B's change feed hears of the pending message and B's outbox sends it; A's tab sees B's "sent".
        var atOwner = await owner.NextMessageAsync();
        Assert.Equal("written on A, sent by B", atOwner.Body);
        await tab.NextMessageAsync(m => m.Id == sent.Id && m.State == "sent");

        // The reply can only arrive over B's link; it is pushed to the tab on A.
        await owner.Client.SendAsync(atOwner.CreateReply("answered via B"));
        Assert.Equal("answered via B", (await tab.NextMessageAsync(m => m.From == "owner")).Text);
    }

    [Fact]
    public async Task Behind_a_round_robin_proxy_without_sticky_sessions_every_request_may_land_on_either_gateway()
    {
        var server = await servers.GetAsync(Servers.Ejabberd);
        var database = await postgres.CreateDatabaseAsync();
        await using var owner = await Owner.ConnectAsync(server);
        await using var a = await StartAsync(server, owner, database, connected: true);
        await using var b = await StartAsync(server, owner, database, connected: true);
        await using var proxy = await RoundRobinProxy.StartAsync(a.BaseAddress, b.BaseAddress);

        // Session, sign-in, token, tab and sends alternate between A and B: cookies and anti-forgery tokens written by
        // one are read by the other.
        using var visitor = new Visitor(proxy.BaseAddress);
        Assert.Equal(HttpStatusCode.OK, (await visitor.SignInAsGuestAsync("Proxied")).StatusCode);
        await using var tab = await visitor.OpenTabAsync();
        string[] lines = ["one", "two", "three"];
        foreach (var line in lines)
        {
            await visitor.SendAsync(line);
        }

        var atOwner = new List<Message>();
        foreach (var _ in lines)
        {
            atOwner.Add(await owner.NextMessageAsync());
        }

        Assert.Equal(lines, atOwner.Select(m => m.Body));
        foreach (var line in lines)
        {
            await owner.Client.SendAsync(atOwner[0].CreateReply("re: " + line));
        }

        var replies = new List<string>();
        while (replies.Count < lines.Length)
        {
            replies.Add((await tab.NextMessageAsync(m => m.From == "owner")).Text);
        }

        Assert.Equal(lines.Select(l => "re: " + l).Order(StringComparer.Ordinal), replies.Order(StringComparer.Ordinal));
        var history = await visitor.HistoryAsync();
        Assert.Equal(2 * lines.Length, history.Messages.Count);
        Assert.All(proxy.Hits, hits => Assert.True(hits >= 3, $"A backend got only {hits} requests: {string.Join(", ", proxy.Hits)}."));
    }

    [Fact]
    public async Task The_limits_hold_for_both_gateways_together_a_visitor_sending_through_both_gets_the_configured_total()
    {
        var server = await servers.GetAsync(Servers.Ejabberd);
        var database = await postgres.CreateDatabaseAsync();
        await using var owner = await Owner.ConnectAsync(server);
        string[] limits = ["--Parley:MessagesPerMinute=4", "--Parley:Guests:PerMinute=3"];
        await using var a = await StartAsync(server, owner, database, connected: true, limits);
        await using var b = await StartAsync(server, owner, database, connected: true, limits);

        // Guest sign-ins from one address (127.0.0.1): three in all, whichever gateway takes them.
        using var visitor = a.NewVisitor();
        Assert.Equal(HttpStatusCode.OK, (await visitor.SignInAsGuestAsync("Through both")).StatusCode);
        using (var second = b.NewVisitor())
        using (var third = a.NewVisitor())
        {
            Assert.Equal(HttpStatusCode.OK, (await second.SignInAsGuestAsync("Second")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await third.SignInAsGuestAsync("Third")).StatusCode);
        }

        foreach (var gateway in new[] { b, a })
        {
            using var fourth = gateway.NewVisitor();
            Assert.Equal(HttpStatusCode.TooManyRequests, (await fourth.SignInAsGuestAsync("One too many")).StatusCode);
        }

        // The same visitor on B (cookies carried over): four messages through A and B in turn, then neither takes a fifth.
        using var onB = b.NewVisitor();
        foreach (var cookie in visitor.Cookies.GetAllCookies().Cast<Cookie>())
        {
            onB.Cookies.Add(b.BaseAddress, new Cookie(cookie.Name, cookie.Value, "/"));
        }

        Assert.True((await onB.RefreshSessionAsync()).GetProperty("signedIn").GetBoolean());
        string[] lines = ["one via A", "two via B", "three via A", "four via B"];
        for (var i = 0; i < lines.Length; i++)
        {
            await (i % 2 == 0 ? visitor : onB).SendAsync(lines[i]);
        }

        foreach (var through in new[] { visitor, onB })
        {
            using var refused = await through.PostAsync($"/api/conversations/{visitor.Conversation}/messages", new { text = "fifth" });
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            Assert.InRange(refused.Headers.RetryAfter?.Delta ?? TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
        }

        var atOwner = new List<string>();
        foreach (var _ in lines)
        {
            atOwner.Add((await owner.NextMessageAsync()).Body!);
        }

        Assert.Equal(lines.Order(StringComparer.Ordinal), atOwner.Order(StringComparer.Ordinal));
        Assert.Equal(lines, (await onB.HistoryAsync()).Messages.Select(m => m.Text));
    }

    [Fact]
    public async Task A_site_token_used_on_one_gateway_is_refused_as_a_replay_on_the_other()
    {
        var server = await servers.GetAsync(Servers.Ejabberd);
        var database = await postgres.CreateDatabaseAsync();
        await using var owner = await Owner.ConnectAsync(server);
        string[] widget = [.. WidgetTests.SiteArgs, "--Parley:Widget:AllowedOrigins:0=https://shop.example"];
        await using var a = await StartAsync(server, owner, database, connected: true, [.. widget, .. await WidgetTests.HttpsAsync()]);
        await using var b = await StartAsync(server, owner, database, connected: true, [.. widget, .. await WidgetTests.HttpsAsync()]);
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var token = WidgetSignInTests.Token("customer-9", "Nine", now);

        async Task<HttpResponseMessage> EmbedAsync(GatewayHost gateway, WidgetSignInTests.SiteToken siteToken)
        {
            using var browser = await WidgetSignInTests.FramedVisitorAsync(gateway);
            return await browser.PostAsync("/api/embed", siteToken);
        }

        using (var first = await EmbedAsync(a, token))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        // The copy of the token replayed on B, in another browser, is refused there too.
        using (var replay = await EmbedAsync(b, token))
        {
            Assert.Equal(HttpStatusCode.Forbidden, replay.StatusCode);
            Assert.Contains("already used", await replay.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // B takes a token of its own, which A then refuses.
        var later = WidgetSignInTests.Token("customer-9", "Nine", now - 1);
        using (var onB = await EmbedAsync(b, later))
        {
            Assert.Equal(HttpStatusCode.OK, onB.StatusCode);
        }

        using var replayOnA = await EmbedAsync(a, later);
        Assert.Equal(HttpStatusCode.Forbidden, replayOnA.StatusCode);
    }

    private static LinkSupervisor Gateway(GatewayHost host) => host.Services.GetRequiredService<LinkSupervisor>();

    private static async Task<GatewayHost> StartAsync(XmppTestServer server, Owner owner, string database, bool connected, params string[] extra)
    {
        var gateway = await GatewayHost.StartAsync(
            server,
            owner.Account.Jid.ToString(),
            null,
            [
                "--Parley:Database:Provider=PostgreSQL",
                $"--Parley:Database:ConnectionString={database}",

                // ejabberd hands each stanza for the shared component domain to one of the gateways' connections at
                // random, a ping's answer too, so no gateway could confirm by a round trip.
                "--Parley:Component:ConfirmSent=false",
                .. extra,
            ]);
        try
        {
            if (connected)
            {
                await gateway.WaitConnectedAsync();
            }

            return gateway;
        }
        catch
        {
            await gateway.DisposeAsync();
            throw;
        }
    }

    private static int UnusedPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
