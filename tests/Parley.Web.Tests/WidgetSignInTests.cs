using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Microsoft.Playwright;
using Parley.Testing;
using Parley.Web.Api;
using Parley.Web.Configuration;
using Parley.Web.Storage;

namespace Parley.Web.Tests;

/// <summary>
/// A host site's user signing into the chat: the token's checks, and that it counts only from the chat page in a frame
/// of the same browser (never from a link opened in a tab) and never silently takes over another identity's session.
/// </summary>
[Collection(ServerFixture.CollectionName)]
public sealed class WidgetSignInTests(ServerFixture servers)
{
    private const string ShopOrigin = "https://shop.example";

    [Fact]
    public async Task A_valid_token_signs_in_as_the_sites_user_and_wrong_expired_tampered_or_replayed_tokens_are_refused()
    {
        await using var gateway = await StartAsync();
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        using var visitor = await FramedVisitorAsync(gateway);
        var valid = Token("user-42", "Ada Lovelace", now);
        using (var signIn = await visitor.PostAsync("/api/embed", valid))
        {
            Assert.Equal(HttpStatusCode.OK, signIn.StatusCode);
        }

        var session = await visitor.RefreshSessionAsync();
        Assert.Equal("Ada Lovelace", session.GetProperty("name").GetString());
        var visitors = gateway.Services.GetRequiredService<VisitorRepository>();
        var sessions = gateway.Services.GetRequiredService<SessionRepository>();
        var stored = await visitors.FindAsync(visitor.Conversation!, CancellationToken.None);
        Assert.Equal(("embed:shop.test", "user-42"), (stored!.Issuer, stored.Subject));
        await visitor.SendAsync("hello from the shop");

        // The same frame posting its token again keeps the session; a copy of the token in another browser is a replay.
        using (var again = await visitor.PostAsync("/api/embed", valid))
        {
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        }

        Assert.Equal(stored.Id, (await visitor.RefreshSessionAsync()).GetProperty("conversation").GetString());
        Assert.Equal(HttpStatusCode.Forbidden, await EmbedAsync(gateway, valid));

        // A later token of the same user in a new browser: the same conversation (the identity is the site's user id).
        using (var laptop = await FramedVisitorAsync(gateway))
        {
            using var response = await laptop.PostAsync("/api/embed", Token("user-42", "Ada Lovelace", now - 1));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await laptop.RefreshSessionAsync();
            Assert.Equal(stored.Id, laptop.Conversation);
            Assert.Equal(["hello from the shop"], (await laptop.HistoryAsync()).Messages.Select(m => m.Text));
        }

        // Refused: wrong secret, tampered user or name, expired, far future, unknown site; malformed is a bad request.
        var wrongSecret = HostSite.Sign("another-secret-that-is-long-enough-000000", "user-7", "Eve", now);
        Assert.Equal(HttpStatusCode.Forbidden, await EmbedAsync(gateway, Token("user-7", "Eve", now, wrongSecret)));
        var signedForSeven = HostSite.Sign(HostSite.Secret, "user-7", "Eve", now);
        Assert.Equal(HttpStatusCode.Forbidden, await EmbedAsync(gateway, Token("user-1", "Eve", now, signedForSeven)));
        Assert.Equal(HttpStatusCode.Forbidden, await EmbedAsync(gateway, Token("user-7", "Admin", now, signedForSeven)));
        Assert.Equal(HttpStatusCode.Forbidden, await EmbedAsync(gateway, Token("user-7", "Eve", now - 1, signedForSeven)));
        Assert.Equal(HttpStatusCode.Forbidden, await EmbedAsync(gateway, Token("user-7", "Eve", now - 601)));
        Assert.Equal(HttpStatusCode.Forbidden, await EmbedAsync(gateway, Token("user-7", "Eve", now + 600)));
        Assert.Equal(HttpStatusCode.Forbidden, await EmbedAsync(gateway, Token("user-7", "Eve", now, site: "other.test")));
        Assert.Equal(HttpStatusCode.BadRequest, await EmbedAsync(gateway, Token("user-7", "Eve", now, "not-hex")));
        Assert.Equal(HttpStatusCode.BadRequest, await EmbedAsync(gateway, Token("user\n7", "Eve", now)));
        Assert.Equal(HttpStatusCode.BadRequest, await EmbedAsync(gateway, Token(new string('u', 257), "Eve", now)));

        // The honest token was never used: it still works once.
        Assert.Equal(HttpStatusCode.OK, await EmbedAsync(gateway, Token("user-7", "Eve", now)));

        // Without the anti-forgery header nothing happens.
        using var forged = await FramedVisitorAsync(gateway);
        using var noToken = await forged.PostAsync("/api/embed", Token("user-8", "Mallet", now), withToken: false);
        Assert.Equal(HttpStatusCode.BadRequest, noToken.StatusCode);
    }

    [Fact]
    public async Task A_token_counts_only_with_the_ticket_of_a_frame_loaded_by_the_same_browser()
    {
        await using var gateway = await StartAsync();
        var token = Token("mallory", "Mallory", DateTimeOffset.UtcNow.ToUnixTimeSeconds());

        // The page loaded in a tab (or by a client that sends no fetch metadata) carries no ticket, and the token is refused.
        using var tab = gateway.NewVisitor();
        Assert.Equal("", await tab.LoadPageAsync("document"));
        Assert.Equal("", await tab.LoadPageAsync(""));
        await tab.RefreshSessionAsync();
        using (var refused = await tab.PostAsync("/api/embed", token))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.Contains("only in the chat widget", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // A ticket another browser got (the attacker's own frame load, Sec-Fetch-Dest forged or not) is worthless here,
        // and so is a made-up or altered one.
        using var mallory = await FramedVisitorAsync(gateway);
        var altered = mallory.FrameTicket[..^1] + (mallory.FrameTicket[^1] == 'A' ? 'B' : 'A');
        foreach (var ticket in new[] { mallory.FrameTicket, "CfDJ8" + new string('A', 120), altered })
        {
            tab.FrameTicket = ticket;
            using var response = await tab.PostAsync("/api/embed", token);
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        }

        // Refused before it was looked at, the token is still unused: in its own frame it works.
        using (var own = await mallory.PostAsync("/api/embed", token))
        {
            Assert.Equal(HttpStatusCode.OK, own.StatusCode);
        }

        // A gateway whose sites may not be framed anywhere issues no tickets at all.
        var server = await servers.GetAsync(Servers.Prosody);
        await using var closed = await GatewayHost.StartAsync(server, "owner@" + server.Domain);
        using var visitor = closed.NewVisitor();
        Assert.Equal("", await visitor.LoadPageAsync());
    }

    [Fact]
    public async Task A_token_of_another_identity_replaces_a_session_only_when_the_request_says_the_visitor_agreed()
    {
        await using var gateway = await StartAsync();
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var visitors = gateway.Services.GetRequiredService<VisitorRepository>();
        var sessions = gateway.Services.GetRequiredService<SessionRepository>();
        using var visitor = await FramedVisitorAsync(gateway);
        using (var guest = await visitor.SignInAsGuestAsync("Walk-in"))
        {
            Assert.Equal(HttpStatusCode.OK, guest.StatusCode);
        }

        var guestConversation = visitor.Conversation!;
        await visitor.SendAsync("a guest's question");

        // A guest: asked first, told it is a guest; nothing changes and the token is not used up.
        var grace = Token("customer-7", "Grace Hopper", now);
        using (var asked = await visitor.PostAsync("/api/embed", grace))
        {
            Assert.Equal(HttpStatusCode.Conflict, asked.StatusCode);
            var problem = JsonDocument.Parse(await asked.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal("Walk-in", problem.GetProperty("signedInAs").GetString());
            Assert.True(problem.GetProperty("guest").GetBoolean());
        }

        await visitor.RefreshSessionAsync();
        Assert.Equal(guestConversation, visitor.Conversation);
        Assert.Equal(["a guest's question"], (await visitor.HistoryAsync()).Messages.Select(m => m.Text));

        using (var agreed = await visitor.PostAsync("/api/embed", grace with { Replace = true }))
        {
            Assert.Equal(HttpStatusCode.OK, agreed.StatusCode);
        }

        await visitor.RefreshSessionAsync();
        var stored = await visitors.FindAsync(visitor.Conversation!, CancellationToken.None);
        Assert.Equal(("embed:shop.test", "customer-7"), (stored!.Issuer, stored.Subject));

        // Signed in as one of the site's users, another user's token is asked about too (not as a guest's).
        using var other = await visitor.PostAsync("/api/embed", Token("customer-8", "Alan Turing", now));
        Assert.Equal(HttpStatusCode.Conflict, other.StatusCode);
        var answer = JsonDocument.Parse(await other.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(("Grace Hopper", false), (answer.GetProperty("signedInAs").GetString(), answer.GetProperty("guest").GetBoolean()));
        Assert.Equal(stored.Id, (await visitor.RefreshSessionAsync()).GetProperty("conversation").GetString());
    }

    [Fact]
    public async Task A_link_with_somebody_elses_token_opened_in_a_tab_leaves_the_visitor_who_they_are()
    {
        await using var gateway = await StartAsync();
        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.NewPageAsync(new BrowserNewContextOptions { IgnoreHTTPSErrors = true });
        await page.GotoAsync(gateway.BaseAddress.ToString());
        await page.FillAsync("#guest-name", "Victim");
        await page.ClickAsync("#guest-form button");
        await Assertions.Expect(page.Locator("#me")).ToHaveTextAsync("as Victim");
        await page.FillAsync("#text", "my private question");
        await page.PressAsync("#text", "Enter");
        await Assertions.Expect(page.Locator("#messages li.visitor .text")).ToHaveTextAsync("my private question");
        var conversation = await page.EvaluateAsync<string>("async () => (await (await fetch('/api/session')).json()).conversation");

        // Mallory kept a token the shop signed for him and sends the victim links to the chat carrying it.
        var token = Token("mallory", "Mallory", DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        var fragment = $"site={token.Site}&user={token.User}&name={token.Name}&ts={token.Ts}&sig={token.Sig}";
        foreach (var link in new[] { $"{gateway.BaseAddress}#{fragment}", $"{gateway.BaseAddress}?embed=1#{fragment}" })
        {
            var tab = await page.Context.NewPageAsync();
            await tab.GotoAsync(link);
            await Assertions.Expect(tab.Locator("#me")).ToHaveTextAsync("as Victim");
            await Assertions.Expect(tab.Locator("#messages li.visitor .text")).ToHaveTextAsync("my private question");
            Assert.True(await tab.Locator("#switch").IsHiddenAsync());
            await tab.CloseAsync();
        }

        // Even a tab that posts the token itself — without a ticket, or with the one Mallory's own frame load got — is refused.
        using var mallory = await FramedVisitorAsync(gateway);
        var statuses = await page.EvaluateAsync<int[]>(
            """
            async ([token, ticket]) => {
              const { csrf } = await (await fetch('/api/session')).json();
              const post = (extra) => fetch('/api/embed', {
                method: 'POST', body: JSON.stringify(token),
                headers: { 'Content-Type': 'application/json', 'X-CSRF-TOKEN': csrf, ...extra },
              }).then((response) => response.status);
              return [await post({}), await post({ 'X-Parley-Frame': ticket })];
            }
            """,
            new object[] { token, mallory.FrameTicket });
        Assert.Equal([403, 403], statuses);

        await page.ReloadAsync();
        await Assertions.Expect(page.Locator("#me")).ToHaveTextAsync("as Victim");
        Assert.Equal(conversation, await page.EvaluateAsync<string>("async () => (await (await fetch('/api/session')).json()).conversation"));
        var visitor = await gateway.Services.GetRequiredService<VisitorRepository>().FindAsync(conversation, CancellationToken.None);
        Assert.Equal("guest", visitor!.Issuer);
    }

    [Fact]
    public async Task In_the_frame_on_a_listed_site_its_user_replaces_a_guest_only_when_the_visitor_agrees()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        await using var site = await HostSite.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(server, "owner@" + server.Domain, null,
            [.. WidgetTests.SiteArgs, $"--Parley:Widget:AllowedOrigins:0={site.Origin}", .. await WidgetTests.HttpsAsync()]);
        site.Gateway = new UriBuilder(gateway.BaseAddress) { Host = "localhost" }.Uri;
        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.NewPageAsync(new BrowserNewContextOptions { IgnoreHTTPSErrors = true });
        var chat = page.FrameLocator("#parley-chat-frame");
        async Task OpenChatAsync()
        {
            await page.GotoAsync(site.Address.ToString());
            await page.Locator("#parley-chat-bubble").ClickAsync();
        }

        // Nobody signed in at the shop: the visitor chats as a guest in the frame.
        await OpenChatAsync();
        await chat.Locator("#guest-name").FillAsync("Walk-in");
        await chat.Locator("#guest-form button").ClickAsync();
        await Assertions.Expect(chat.Locator("#me")).ToHaveTextAsync("as Walk-in");
        await chat.Locator("#text").FillAsync("a guest's question");
        await chat.Locator("#text").PressAsync("Enter");
        await Assertions.Expect(chat.Locator("#messages li.visitor .text")).ToHaveTextAsync("a guest's question");

        // Then the shop signs Grace in: the frame asks, and says the guest's conversation would be gone. "Stay" keeps it.
        site.User = ("customer-7", "Grace Hopper");
        await OpenChatAsync();
        await Assertions.Expect(chat.Locator("#switch")).ToBeVisibleAsync();
        await Assertions.Expect(chat.Locator("#switch-question")).ToContainTextAsync("“Walk-in”");
        await Assertions.Expect(chat.Locator("#switch-question")).ToContainTextAsync("“Grace Hopper”");
        await Assertions.Expect(chat.Locator("#switch-guest")).ToContainTextAsync("cannot be opened again");
        Assert.True(await chat.Locator("#chat").IsHiddenAsync());
        await chat.Locator("#switch-no").ClickAsync();
        await Assertions.Expect(chat.Locator("#me")).ToHaveTextAsync("as Walk-in");
        await Assertions.Expect(chat.Locator("#messages li.visitor .text")).ToHaveTextAsync("a guest's question");

        // Asked again on the next page, the visitor switches.
        await OpenChatAsync();
        await chat.Locator("#switch-yes").ClickAsync();
        await Assertions.Expect(chat.Locator("#me")).ToHaveTextAsync("as Grace Hopper");
        await Assertions.Expect(chat.Locator("#messages li")).ToHaveCountAsync(0);
        var frame = await (await page.Locator("#parley-chat-frame").ElementHandleAsync()).ContentFrameAsync();
        var conversation = await frame!.EvaluateAsync<string>("async () => (await (await fetch('/api/session')).json()).conversation");
        var visitor = await gateway.Services.GetRequiredService<VisitorRepository>().FindAsync(conversation, CancellationToken.None);
        Assert.Equal(("embed:shop.test", "customer-7"), (visitor!.Issuer, visitor.Subject));

        // The same user's next page is no question.
        await OpenChatAsync();
        await Assertions.Expect(chat.Locator("#me")).ToHaveTextAsync("as Grace Hopper");
        Assert.True(await chat.Locator("#switch").IsHiddenAsync());

        // The only console errors are the browser's notes on the two answers that asked ("409 (Conflict)").
        Assert.All(chromium.Errors, error => Assert.Contains("409", error, StringComparison.Ordinal));
        Assert.Equal(2, chromium.Errors.Count);
    }

    [Fact]
    public void A_frame_ticket_is_bound_to_its_browsers_cookie_and_lives_as_long_as_a_site_token()
    {
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1_800_000_000));
        var options = Options.Create(new GatewayOptions
        {
            Widget =
            {
                AllowedOrigins = { ShopOrigin },
                Sites = { new() { Host = "shop.test", Secret = HostSite.Secret } },
                TokenLifetime = TimeSpan.FromMinutes(5),
            },
        });
        var tickets = new FrameTickets(new EphemeralDataProtectionProvider(), options, time);
        var frame = new DefaultHttpContext();
        var ticket = tickets.Issue(frame);
        var setCookie = frame.Response.Headers.SetCookie.ToString();
        Assert.StartsWith(FrameTickets.CookieName + "=", setCookie, StringComparison.Ordinal);
        foreach (var attribute in new[] { "path=/api/embed", "secure", "samesite=none", "httponly", "partitioned" })
        {
            Assert.Contains(attribute, setCookie, StringComparison.OrdinalIgnoreCase);
        }

        static string KeyOf(HttpContext context)
        {
            var header = context.Response.Headers.SetCookie.ToString();
            return header[(FrameTickets.CookieName.Length + 1)..header.IndexOf(';', StringComparison.Ordinal)];
        }

        var key = KeyOf(frame);
        HttpRequest Post(string? cookie, string? header)
        {
            var context = new DefaultHttpContext();
            if (cookie is not null)
            {
                context.Request.Headers.Cookie = $"{FrameTickets.CookieName}={cookie}";
            }

            if (header is not null)
            {
                context.Request.Headers[FrameTickets.HeaderName] = header;
            }

            return context.Request;
        }

        Assert.True(tickets.Accepts(Post(key, ticket)));
        Assert.False(tickets.Accepts(Post(null, ticket)));
        Assert.False(tickets.Accepts(Post(key, null)));
        var elsewhere = new DefaultHttpContext();
        tickets.Issue(elsewhere);
        Assert.False(tickets.Accepts(Post(KeyOf(elsewhere), ticket)));
        Assert.False(tickets.Accepts(Post(key, ticket[..^1] + (ticket[^1] == 'A' ? 'B' : 'A'))));

        // A second frame of the same browser keeps its key, so the first frame's ticket stays good.
        var second = new DefaultHttpContext();
        second.Request.Headers.Cookie = $"{FrameTickets.CookieName}={key}";
        var secondTicket = tickets.Issue(second);
        Assert.Equal(key, KeyOf(second));
        Assert.True(tickets.Accepts(Post(key, ticket)));
        Assert.True(tickets.Accepts(Post(key, secondTicket)));

        time.Advance(TimeSpan.FromMinutes(5));
        Assert.True(tickets.Accepts(Post(key, ticket)));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(tickets.Accepts(Post(key, ticket)));
    }

    internal sealed record SiteToken(string Site, string User, string Name, string Ts, string Sig, bool Replace = false);

    internal static SiteToken Token(string user, string name, long ts, string? sig = null, string site = HostSite.Name)
        => new(site, user, name, ts.ToString(CultureInfo.InvariantCulture), sig ?? HostSite.Sign(HostSite.Secret, user, name, ts));

    /// <summary>A new browser that has loaded the chat page into a frame: it holds the frame's ticket and its anti-forgery token.</summary>
    internal static async Task<Visitor> FramedVisitorAsync(GatewayHost gateway)
    {
        var visitor = gateway.NewVisitor();
        Assert.NotEqual("", await visitor.LoadPageAsync());
        await visitor.RefreshSessionAsync();
        return visitor;
    }

    private async Task<GatewayHost> StartAsync()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        return await GatewayHost.StartAsync(server, "owner@" + server.Domain, null,
            [.. WidgetTests.SiteArgs, $"--Parley:Widget:AllowedOrigins:0={ShopOrigin}", "--Parley:Guests:PerMinute=100", .. await WidgetTests.HttpsAsync()]);
    }

    private static async Task<HttpStatusCode> EmbedAsync(GatewayHost gateway, SiteToken token)
    {
        using var visitor = await FramedVisitorAsync(gateway);
        using var response = await visitor.PostAsync("/api/embed", token);
        return response.StatusCode;
    }
}
