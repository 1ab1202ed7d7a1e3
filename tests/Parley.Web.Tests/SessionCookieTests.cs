using System.Net;
using System.Security.Claims;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Parley.Testing;
using Parley.Web.Api;
using Parley.Web.Auth;
using Parley.Web.Chat;
using Parley.Web.Storage;

namespace Parley.Web.Tests;

/// <summary>
/// The auth cookie as a protected reference to the server-side sign-in session (<see cref="SessionReferenceFormat"/>),
/// and the response headers of <c>/api</c>. Sign-out and the refused copy of a cookie are in <see cref="ChatTests"/>;
/// two gateways reading each other's cookies in <see cref="ScaleOutTests"/>.
/// </summary>
[Collection(ServerFixture.CollectionName)]
public sealed class SessionCookieTests(ServerFixture servers)
{
    private const string CookieName = "parley.visitor";

    [Fact]
    public void The_format_keeps_only_the_session_id_and_the_cookie_lifetime()
    {
        var format = new SessionReferenceFormat(new EphemeralDataProtectionProvider(), CookieAuthenticationDefaults.AuthenticationScheme);
        var issued = new DateTimeOffset(2026, 11, 22, 5, 0, 0, TimeSpan.Zero);
        var ticket = new AuthenticationTicket(
            VisitorIdentity.Create(new Storage.Visitor("visitor1", "https://id.example", "subject-1", "A rather long display name", false), "session-id-of-32-characters-xxxx"),
            new AuthenticationProperties { IssuedUtc = issued, ExpiresUtc = issued.AddDays(30), IsPersistent = true },
            CookieAuthenticationDefaults.AuthenticationScheme);

        var cookie = format.Protect(ticket);
        Assert.InRange(cookie.Length, 1, 200);
        var read = format.Unprotect(cookie)!;
        Assert.Equal("session-id-of-32-characters-xxxx", read.Principal.SessionId());
        Assert.Single(read.Principal.Claims);
        Assert.Null(read.Principal.VisitorId());
        Assert.Equal(issued, read.Properties.IssuedUtc);
        Assert.Equal(issued.AddDays(30), read.Properties.ExpiresUtc);
        Assert.True(read.Properties.IsPersistent);
        Assert.False(read.Properties.Items.ContainsKey(SessionReferenceFormat.LegacyItem));

        // Tampered, foreign (another key ring) and garbage cookies open as nothing.
        Assert.Null(format.Unprotect(cookie[..^4] + (cookie[^4] == 'A' ? "BAAA" : "AAAA")));
        Assert.Null(new SessionReferenceFormat(new EphemeralDataProtectionProvider(), CookieAuthenticationDefaults.AuthenticationScheme).Unprotect(cookie));
        Assert.Null(format.Unprotect("not base64url!"));
        Assert.Null(format.Unprotect(""));
    }

    [Fact]
    public void A_ticket_without_a_session_is_never_written()
    {
        var format = new SessionReferenceFormat(new EphemeralDataProtectionProvider(), CookieAuthenticationDefaults.AuthenticationScheme);
        var ticket = new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, "x")], "test")), "test");
        Assert.Throws<InvalidOperationException>(() => format.Protect(ticket));
    }

    [Fact]
    public async Task A_signed_in_visitor_carries_a_short_cookie_and_gets_the_claims_from_the_database()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        await using var gateway = await GatewayHost.StartAsync(server, "owner@" + server.Domain);
        using var visitor = gateway.NewVisitor();
        Assert.Equal(HttpStatusCode.OK, (await visitor.SignInAsGuestAsync("Cookie Monster")).StatusCode);
        var cookie = visitor.Cookies.GetCookies(gateway.BaseAddress)[CookieName]!;
        Assert.InRange(cookie.Value.Length, 1, 200);

        var session = await visitor.RefreshSessionAsync();
        Assert.True(session.GetProperty("signedIn").GetBoolean());
        Assert.Equal("Cookie Monster", session.GetProperty("name").GetString());
        Assert.Equal(HttpStatusCode.OK, (await visitor.Http.GetAsync($"/api/conversations/{visitor.Conversation}/messages")).StatusCode);

        // The name is read from the visitor's row on every request, not from the cookie.
        var visitors = gateway.Services.GetRequiredService<VisitorRepository>();
        var sessions = gateway.Services.GetRequiredService<SessionRepository>();
        var row = (await visitors.FindAsync(visitor.Conversation!, default))!;
        await visitors.GetOrCreateAsync(row.Issuer, row.Subject, "Renamed Monster", default);
        Assert.Equal("Renamed Monster", (await visitor.RefreshSessionAsync()).GetProperty("name").GetString());
    }

    [Fact]
    public async Task A_cookie_in_the_earlier_full_ticket_format_still_signs_in_and_is_rewritten_short()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        await using var gateway = await GatewayHost.StartAsync(server, "owner@" + server.Domain);
        var visitors = gateway.Services.GetRequiredService<VisitorRepository>();
        var sessions = gateway.Services.GetRequiredService<SessionRepository>();
        var visitor = await visitors.GetOrCreateAsync(VisitorIdentity.GuestIssuer, Guid.NewGuid().ToString("N"), "Old Cookie", default);
        var session = await sessions.CreateAsync(visitor.Id, default);

        // What the gateway wrote before: ASP.NET's own ticket format under its default protector purposes.
        var protection = gateway.Services.GetRequiredService<IDataProtectionProvider>();
        var legacy = new TicketDataFormat(protection.CreateProtector(
            "Microsoft.AspNetCore.Authentication.Cookies.CookieAuthenticationMiddleware", CookieAuthenticationDefaults.AuthenticationScheme, "v2"));
        var now = DateTimeOffset.UtcNow;
        var oldCookie = legacy.Protect(new AuthenticationTicket(
            VisitorIdentity.Create(visitor, session),
            new AuthenticationProperties { IssuedUtc = now.AddDays(-1), ExpiresUtc = now.AddDays(29), IsPersistent = true },
            CookieAuthenticationDefaults.AuthenticationScheme));
        Assert.True(oldCookie.Length > 400, $"The old format was long ({oldCookie.Length}).");

        using var client = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = gateway.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/conversations/{visitor.Id}/messages");
        request.Headers.Add("Cookie", $"{CookieName}={oldCookie}");
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var rewritten = Assert.Single(response.Headers.GetValues("Set-Cookie"), value => value.StartsWith(CookieName + "=", StringComparison.Ordinal));
        var value = rewritten[(CookieName.Length + 1)..rewritten.IndexOf(';', StringComparison.Ordinal)];
        Assert.InRange(value.Length, 1, 200);

        // The rewritten cookie works, and sign-out ends it like any other.
        using var again = new HttpRequestMessage(HttpMethod.Get, $"/api/conversations/{visitor.Id}/messages");
        again.Headers.Add("Cookie", $"{CookieName}={value}");
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(again)).StatusCode);
        await sessions.EndAsync(session, default);
        using var ended = new HttpRequestMessage(HttpMethod.Get, $"/api/conversations/{visitor.Id}/messages");
        ended.Headers.Add("Cookie", $"{CookieName}={oldCookie}");
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.SendAsync(ended)).StatusCode);
    }

    [Fact]
    public async Task Api_responses_are_not_cached_and_issuing_anti_forgery_tokens_logs_no_warning()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        await using var gateway = await GatewayHost.StartAsync(server, "owner@" + server.Domain);
        var logs = new CapturingLoggerProvider();
        gateway.Services.GetRequiredService<ILoggerFactory>().AddProvider(logs);

        using var visitor = gateway.NewVisitor();
        using (var response = await visitor.Http.GetAsync("/api/session"))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.True(response.Headers.CacheControl!.NoStore);
            Assert.True(response.Headers.CacheControl.NoCache);
            Assert.Contains("no-cache", response.Headers.Pragma.Select(static p => p.Name));
        }

        Assert.Equal(HttpStatusCode.OK, (await visitor.SignInAsGuestAsync("Quiet Logs")).StatusCode);
        await visitor.RefreshSessionAsync();

        Assert.Equal(HttpStatusCode.OK, (await visitor.Http.GetAsync($"/api/conversations/{visitor.Conversation}/messages")).StatusCode);
        Assert.DoesNotContain(logs.Entries, IsCacheHeaderWarning);

        // The capture does see that warning: tokens issued on a response whose Cache-Control anti-forgery must override.
        var probe = new DefaultHttpContext { RequestServices = gateway.Services };
        probe.Response.Headers.CacheControl = "no-store";
        gateway.Services.GetRequiredService<IAntiforgery>().GetAndStoreTokens(probe);
        Assert.Contains(logs.Entries, IsCacheHeaderWarning);
    }

    [Fact]
    public async Task An_idle_stream_gets_a_ping_from_the_shared_keep_alive_and_still_gets_messages_after_it()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        await using var gateway = await GatewayHost.StartAsync(server, "owner@" + server.Domain);
        using var visitor = gateway.NewVisitor();
        Assert.Equal(HttpStatusCode.OK, (await visitor.SignInAsGuestAsync("Idle Tab")).StatusCode);
        await using var tab = await visitor.OpenTabAsync();
        await tab.NextEventAsync("presence");

        // One full round of the slots wakes every stream once, whichever slot this one has.
        var keepAlive = gateway.Services.GetRequiredService<StreamKeepAlive>();
        for (var i = 0; i < 20; i++)
        {
            keepAlive.Tick();
        }

        await tab.NextEventAsync("ping");

        // The channel wait left pending across the ping still delivers.
        var sent = await visitor.SendAsync("after the ping");
        var echoed = await tab.NextMessageAsync(message => message.Id == sent.Id);
        Assert.Equal("after the ping", echoed.Text);
    }

    [Fact]
    public async Task Stopping_the_gateway_ends_open_streams_at_once()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        var gateway = await GatewayHost.StartAsync(server, "owner@" + server.Domain);
        using var visitor = gateway.NewVisitor();
        Assert.Equal(HttpStatusCode.OK, (await visitor.SignInAsGuestAsync("Leaving Tab")).StatusCode);
        await using var tab = await visitor.OpenTabAsync();
        await tab.NextEventAsync("presence");

        // One registration on ApplicationStopping ends every stream; without it the stream would hold the shutdown
        // until the host's timeout (30 s) aborts the connection.
        var stopping = Task.Run(async () => await gateway.DisposeAsync());
        Assert.True(await tab.EndsAsync(TimeSpan.FromSeconds(10)), "The stream was still open 10 s after the gateway began to stop.");
        await stopping.WaitAsync(TimeSpan.FromSeconds(20));
    }

    private static bool IsCacheHeaderWarning((string Category, LogLevel Level, string Message) entry)
        => entry.Category.StartsWith("Microsoft.AspNetCore.Antiforgery", StringComparison.Ordinal)
            && entry.Level >= LogLevel.Warning
            && entry.Message.Contains("Cache-Control", StringComparison.Ordinal);
}
