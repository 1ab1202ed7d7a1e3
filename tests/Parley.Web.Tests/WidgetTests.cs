using System.Globalization;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Microsoft.Playwright;
using Parley.Testing;
using Parley.Web.Api;
using Parley.Web.Configuration;
using Parley.Web.Storage;

namespace Parley.Web.Tests;

/// <summary>The embeddable widget: framing rules, a host site's signed sign-in, and the bubble on another site's page in Chromium.</summary>
[Collection(ServerFixture.CollectionName)]
public sealed class WidgetTests(ServerFixture servers)
{
    internal static readonly string[] SiteArgs =
    [
        $"--Parley:Widget:Sites:0:Host={HostSite.Name}",
        $"--Parley:Widget:Sites:0:Secret={HostSite.Secret}",
    ];

    [Fact]
    public async Task Framing_is_refused_by_default_and_allowed_only_for_the_listed_origins()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        await using (var closed = await GatewayHost.StartAsync(server, "owner@" + server.Domain))
        {
            using var visitor = closed.NewVisitor();
            using var page = await visitor.Http.GetAsync("/");
            Assert.EndsWith("frame-ancestors 'none'", page.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
            Assert.Equal("DENY", page.Headers.GetValues("X-Frame-Options").Single());

            // Not framed anywhere: first-party cookies only.
            using var session = await visitor.Http.GetAsync("/api/session");
            var csrfCookie = session.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("parley.csrf=", StringComparison.Ordinal));
            Assert.Contains("samesite=strict", csrfCookie, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("partitioned", csrfCookie, StringComparison.OrdinalIgnoreCase);
        }

        await using var open = await GatewayHost.StartAsync(server, "owner@" + server.Domain, null,
            ["--Parley:Widget:AllowedOrigins:0=https://www.example.com/", "--Parley:Widget:AllowedOrigins:1=http://127.0.0.1:8080", .. await HttpsAsync()]);
        using var framed = open.NewVisitor();
        using var index = await framed.Http.GetAsync("/");
        var csp = index.Headers.GetValues("Content-Security-Policy").Single();
        Assert.EndsWith("frame-ancestors https://www.example.com http://127.0.0.1:8080", csp, StringComparison.Ordinal);
        Assert.Contains("script-src 'self';", csp, StringComparison.Ordinal);
        Assert.False(index.Headers.Contains("X-Frame-Options"));
        Assert.Equal("same-origin", index.Headers.GetValues("Cross-Origin-Resource-Policy").Single());

        // Framed on listed sites, the chat's cookies are third-party cookies there: SameSite=None, Secure, Partitioned.
        using (var session = await framed.Http.GetAsync("/api/session"))
        {
            var csrfCookie = session.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("parley.csrf=", StringComparison.Ordinal));
            Assert.Contains("samesite=none", csrfCookie, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("secure", csrfCookie, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("partitioned", csrfCookie, StringComparison.OrdinalIgnoreCase);
        }

        // The script is for other sites' pages: loadable cross-origin, and it builds its elements without markup.
        using var script = await framed.Http.GetAsync("/widget.js");
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        Assert.Equal("text/javascript", script.Content.Headers.ContentType?.MediaType);
        Assert.Equal("cross-origin", script.Headers.GetValues("Cross-Origin-Resource-Policy").Single());
        var source = await script.Content.ReadAsStringAsync();
        Assert.DoesNotContain("innerHTML", source, StringComparison.Ordinal);
        Assert.Contains("document.createElement('iframe')", source, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://www.example.com", "https://www.example.com")]
    [InlineData("http://127.0.0.1:5080/", "http://127.0.0.1:5080")]
    [InlineData("HTTPS://Shop.Example.COM:443", "https://shop.example.com")]
    [InlineData("https://www.example.com/path", null)]
    [InlineData("https://www.example.com?q=1", null)]
    [InlineData("https://www.example.com; script-src *", null)]
    [InlineData("ftp://www.example.com", null)]
    [InlineData("https://user@www.example.com", null)]
    [InlineData("*", null)]
    [InlineData("'self'", null)]
    public void Only_plain_origins_can_be_allowed(string configured, string? expected) => Assert.Equal(expected, WidgetApi.NormalizeOrigin(configured));

    [Fact]
    public void Widget_settings_are_validated()
    {
        var validator = new GatewayOptionsValidator();
        GatewayOptions With(Action<GatewayOptions.WidgetSettings> change)
        {
            var options = new GatewayOptions { Owner = "me@example.org", Component = { Domain = "chat.example.org", Secret = "s" } };
            options.Widget.AllowedOrigins.Add("https://shop.example.com");
            change(options.Widget);
            return options;
        }

        Assert.True(validator.Validate(null, With(w => w.Sites.Add(new() { Host = "shop.example.com", Secret = HostSite.Secret }))).Succeeded);

        // A site's token counts only inside a frame on an allowed origin: a site without any is a mistake.
        Assert.True(validator.Validate(null, With(w =>
        {
            w.AllowedOrigins.Clear();
            w.Sites.Add(new() { Host = "shop.example.com", Secret = HostSite.Secret });
        })).Failed);
        Assert.True(validator.Validate(null, With(w => w.AllowedOrigins.Add("https://shop.example.com/a"))).Failed);
        Assert.True(validator.Validate(null, With(w => w.Sites.Add(new() { Host = "shop.example.com", Secret = "short" }))).Failed);
        Assert.True(validator.Validate(null, With(w => w.Sites.Add(new() { Host = "shop example", Secret = HostSite.Secret }))).Failed);
        Assert.True(validator.Validate(null, With(w =>
        {
            w.Sites.Add(new() { Host = "a.example", Secret = HostSite.Secret });
            w.Sites.Add(new() { Host = "A.example", Secret = HostSite.Secret });
        })).Failed);
        Assert.True(validator.Validate(null, With(w => w.TokenLifetime = TimeSpan.Zero)).Failed);
    }

    [Fact]
    public void Tokens_are_accepted_within_the_window_and_recorded_as_used_until_every_gateway_refuses_them()
    {
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1_800_000_000));
        var options = Options.Create(new GatewayOptions { Widget = { Sites = { new() { Host = "Shop.Test", Secret = HostSite.Secret } }, TokenLifetime = TimeSpan.FromMinutes(5) } });
        var tokens = new EmbedTokens(options, time);
        const long Ts = 1_800_000_000;
        var sig = HostSite.Sign(HostSite.Secret, "u", "N", Ts);
        Assert.Equal(EmbedTokenCheck.Valid, tokens.Verify("shop.test", "u", "N", "1800000000", sig.ToUpperInvariant(), out var identity));
        Assert.Equal(("embed:shop.test", "u", "N"), (identity!.Issuer, identity.Subject, identity.Name));
        Assert.Equal("embed:" + sig, EmbedTokens.UsedTokenKey(identity));

        // Remembered as used until every gateway within the clock skew refuses it as expired.
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(Ts) + TimeSpan.FromMinutes(5) + EmbedTokens.ClockSkew, identity.UsedUntil);

        time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(EmbedTokenCheck.Valid, tokens.Verify("shop.test", "u", "N", "1800000000", sig, out _));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(EmbedTokenCheck.Expired, tokens.Verify("shop.test", "u", "N", "1800000000", sig, out _));
        Assert.Equal(EmbedTokenCheck.UnknownSite, tokens.Verify("shop.other", "u", "N", "1800000000", sig, out _));
        Assert.Equal(EmbedTokenCheck.BadSignature, tokens.Verify("shop.test", "u", "M", "1800000000", sig, out _));
        Assert.Equal(EmbedTokenCheck.Malformed, tokens.Verify("shop.test", "u", "N", "-1", sig, out _));
        Assert.Equal(EmbedTokenCheck.Malformed, tokens.Verify("shop.test", "", "N", "1800000000", sig, out _));
    }

    [Fact]
    public void A_signed_timestamp_past_the_year_9999_is_expired_not_a_server_error()
    {
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1_800_000_000));
        var options = Options.Create(new GatewayOptions { Widget = { Sites = { new() { Host = "shop.test", Secret = HostSite.Secret } } } });
        var tokens = new EmbedTokens(options, time);
        const long Ts = 376_722_550_042;
        var sig = HostSite.Sign(HostSite.Secret, "u", "N", Ts);
        Assert.Equal(EmbedTokenCheck.Expired, tokens.Verify("shop.test", "u", "N", "376722550042", sig, out var identity));
        Assert.Null(identity);
    }

    [Fact]
    public async Task The_bubble_on_another_sites_page_opens_the_chat_signed_in_as_the_sites_user()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        await using var owner = await Owner.ConnectAsync(server);
        await using var site = await HostSite.StartAsync();

        // Another site: the shop is http://127.0.0.1, the gateway https://localhost (sites ignore ports, so the hosts must
        // differ). Inside the frame the chat's cookies are third-party cookies, which browsers keep only when Secure:
        // the gateway runs on HTTPS as in production, with a certificate made for this test.
        await using var gateway = await GatewayHost.StartAsync(server, owner.Account.Jid.ToString(), null,
            [.. SiteArgs, $"--Parley:Widget:AllowedOrigins:0={site.Origin}", .. await HttpsAsync()]);
        await gateway.WaitConnectedAsync();
        var crossSite = new UriBuilder(gateway.BaseAddress) { Host = "localhost" }.Uri;
        site.Gateway = crossSite;
        site.User = ("customer-1001", "Grace <b>Hopper</b>");
        await using var chromium = await Chromium.LaunchAsync();

        var page = await chromium.NewPageAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1100, Height = 720 }, IgnoreHTTPSErrors = true });
        await page.GotoAsync(site.Address.ToString());
        var bubble = page.Locator("#parley-chat-bubble");
        await Assertions.Expect(bubble).ToBeVisibleAsync();
        await bubble.ClickAsync();
        var chat = page.FrameLocator("#parley-chat-frame");
        await Assertions.Expect(chat.Locator("#me")).ToHaveTextAsync("as Grace <b>Hopper</b>");
        Assert.Equal(0, await chat.Locator("#me b").CountAsync());
        var frame = await (await page.Locator("#parley-chat-frame").ElementHandleAsync()).ContentFrameAsync();
        var frameUrl = await frame!.EvaluateAsync<string>("() => location.href");
        Assert.StartsWith(crossSite.ToString(), frameUrl, StringComparison.Ordinal);
        Assert.DoesNotContain("sig=", frameUrl, StringComparison.Ordinal);

        await chat.Locator("#text").FillAsync("Is the blue one in stock?");
        await chat.Locator("#text").PressAsync("Enter");
        var atOwner = await owner.NextMessageAsync();
        Assert.Equal("Is the blue one in stock?", atOwner.Body);
        Assert.Equal("Grace <b>Hopper</b>", atOwner.ElementText("nick", Xmpp.VisitorLink.NickNamespace));
        var visitor = await gateway.Services.GetRequiredService<VisitorRepository>().FindAsync(atOwner.From!.Local!, CancellationToken.None);
        Assert.Equal(("embed:shop.test", "customer-1001"), (visitor!.Issuer, visitor.Subject));
        await owner.Client.SendAsync(atOwner.CreateReply("Yes, two left."));
        await Assertions.Expect(chat.Locator("#messages li.owner .text")).ToHaveTextAsync("Yes, two left.");

        // The bubble closes and reopens the same chat.
        await bubble.ClickAsync();
        await Assertions.Expect(page.Locator("#parley-chat-frame")).ToBeHiddenAsync();
        await bubble.ClickAsync();
        await Assertions.Expect(chat.Locator("#messages li")).ToHaveCountAsync(2);

        // On a phone the chat takes the screen's width above the bubble; the reload's fresh token finds the same conversation.
        var phone = await chromium.NewPageAsync(new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = 390, Height = 780 },
            IsMobile = true,
            HasTouch = true,
            IgnoreHTTPSErrors = true,
            StorageState = await page.Context.StorageStateAsync(),
        });
        await phone.GotoAsync(site.Address.ToString());
        await phone.Locator("#parley-chat-bubble").ClickAsync();
        await Assertions.Expect(phone.FrameLocator("#parley-chat-frame").Locator("#messages li")).ToHaveCountAsync(2);
        var box = (await phone.Locator("#parley-chat-frame").BoundingBoxAsync())!;
        Assert.Equal(390, box.Width, 1.0);
        Assert.True(box.Height > 600, $"The frame is {box.Height} px high on a 780 px phone.");
        if (Environment.GetEnvironmentVariable("PARLEY_SCREENSHOTS") is { Length: > 0 } directory)
        {
            Directory.CreateDirectory(directory);
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(directory, "web-chat-widget.png") });
        }

        Assert.True(chromium.Errors.Count == 0, string.Join("\n", chromium.Errors));
    }

    [Fact]
    public async Task Without_a_token_the_widget_offers_guest_sign_in_and_a_gateway_that_allows_no_origin_is_not_framed()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        await using var site = await HostSite.StartAsync();
        await using var chromium = await Chromium.LaunchAsync();
        await using (var gateway = await GatewayHost.StartAsync(server, "owner@" + server.Domain, null, [$"--Parley:Widget:AllowedOrigins:0={site.Origin}", .. await HttpsAsync()]))
        {
            site.Gateway = gateway.BaseAddress;
            var page = await chromium.NewPageAsync(new BrowserNewContextOptions { IgnoreHTTPSErrors = true });
            await page.GotoAsync(site.Address.ToString());
            await page.Locator("#parley-chat-bubble").ClickAsync();
            await Assertions.Expect(page.FrameLocator("#parley-chat-frame").Locator("#guest-form")).ToBeVisibleAsync();
        }

        await using (var closed = await GatewayHost.StartAsync(server, "owner@" + server.Domain))
        {
            site.Gateway = closed.BaseAddress;
            var page = await chromium.NewPageAsync();
            await page.GotoAsync(site.Address.ToString());
            await page.Locator("#parley-chat-bubble").ClickAsync();
            await Assertions.Expect(page.Locator("#parley-chat-frame")).ToBeVisibleAsync();
            await page.WaitForTimeoutAsync(1000);
            Assert.Equal(0, await page.FrameLocator("#parley-chat-frame").Locator("#guest-form").CountAsync());
        }
    }

    /// <summary>
    /// The gateway on HTTPS with a certificate made for the test: framed by other sites its cookies must be Secure (as in
    /// production behind nginx), and browsers keep Secure cookies only from HTTPS pages.
    /// </summary>
    internal static async Task<string[]> HttpsAsync()
    {
        var certificate = await Parley.Testing.Internal.SelfSignedCertificate.CreateAsync(
            Directory.CreateTempSubdirectory("parley-web-cert-").FullName, "localhost", CancellationToken.None);
        return ["--urls=https://127.0.0.1:0", $"--Kestrel:Certificates:Default:Path={certificate.CertificatePath}", $"--Kestrel:Certificates:Default:KeyPath={certificate.KeyPath}"];
    }
}
