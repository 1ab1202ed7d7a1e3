using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Parley.Testing;

namespace Parley.Web.Tests;

/// <summary>Sign-in with the real OpenID provider in headless Chromium: the provider's own login form, the chat afterwards, the same and other subjects, sign-out and the back button.</summary>
[Collection(ServerFixture.CollectionName)]
public sealed partial class ExternalSignInBrowserTests(ServerFixture servers, OpenIdFixture openId) : IClassFixture<OpenIdFixture>
{
    private const string Chromium = "/usr/bin/chromium";

    [Fact]
    public async Task A_visitor_signs_in_at_the_provider_chats_and_comes_back_as_the_same_visitor()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: run scripts/install-deps.sh (Debian package chromium).");
        var server = await servers.GetAsync(Servers.Prosody);
        await using var owner = await Owner.ConnectAsync(server);
        await using var gateway = await openId.StartGatewayAsync(server, owner.Account.Jid.ToString());
        await gateway.WaitConnectedAsync();
        var url = gateway.BaseAddress.ToString();
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchAsync(playwright);

        // The sign-in page offers the provider next to the guest form.
        var alice = await NewContextAsync(browser);
        var page = await alice.NewPageAsync();
        var errors = CollectErrors(page);
        await page.GotoAsync(url);
        await Assertions.Expect(page.Locator("#providers a")).ToHaveTextAsync(["Sign in with Test OP"]);
        await Assertions.Expect(page.Locator("#guest-form")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#guests-off")).ToBeHiddenAsync();

        await SignInAtProviderAsync(page, url, "alice");
        await Assertions.Expect(page.Locator("#me")).ToHaveTextAsync("as Alice Liddell");
        await page.FillAsync("#text", "Hello, I signed in at the OP");
        await page.PressAsync("#text", "Enter");
        var fromAlice = await owner.NextMessageAsync();
        Assert.Equal("Hello, I signed in at the OP", fromAlice.Body);
        Assert.Equal("Alice Liddell", fromAlice.ElementText("nick", Xmpp.VisitorLink.NickNamespace));
        await Assertions.Expect(page.Locator("#messages li.visitor .text")).ToHaveTextAsync(["Hello, I signed in at the OP"]);

        // Leave the page (into the back/forward cache), sign out in another tab, come back: no trace of Alice's chat.
        await page.GotoAsync(openId.Provider.Issuer.GetLeftPart(UriPartial.Authority) + "/.well-known/openid-configuration");
        var other = await alice.NewPageAsync();
        await other.GotoAsync(url);
        await Assertions.Expect(other.Locator("#me")).ToHaveTextAsync("as Alice Liddell");
        await other.ClickAsync("#signout");
        await Assertions.Expect(other.Locator("#providers a")).ToBeVisibleAsync();
        await page.GoBackAsync();
        await Assertions.Expect(page.Locator("#signin")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#chat")).ToBeHiddenAsync();
        await Assertions.Expect(page.Locator("#messages li")).ToHaveCountAsync(0);
        await Assertions.Expect(page.Locator("#me")).Not.ToHaveTextAsync("as Alice Liddell");

        // Chromium under Playwright loaded the page anew above rather than restoring it from the back/forward cache; a
        // restored page ("pageshow" with persisted) must reload too, or it would show what it showed when it was left.
        await page.EvaluateAsync("window.parleyMarker = 1");
        await page.EvaluateAsync("window.dispatchEvent(new PageTransitionEvent('pageshow', { persisted: true }))");
        await page.WaitForFunctionAsync("window.parleyMarker === undefined");
        await Assertions.Expect(page.Locator("#signin")).ToBeVisibleAsync();

        // Another browser, the same subject: the same visitor, with the earlier message.
        var again = await NewContextAsync(browser);
        var againPage = await again.NewPageAsync();
        await againPage.GotoAsync(url);
        await SignInAtProviderAsync(againPage, url, "alice");
        await Assertions.Expect(againPage.Locator("#me")).ToHaveTextAsync("as Alice Liddell");
        await Assertions.Expect(againPage.Locator("#messages li.visitor .text")).ToHaveTextAsync(["Hello, I signed in at the OP"]);

        // Another subject: another visitor, who sees nothing of Alice's and reaches the owner from another JID.
        var bob = await NewContextAsync(browser);
        var bobPage = await bob.NewPageAsync();
        await bobPage.GotoAsync(url);
        await SignInAtProviderAsync(bobPage, url, "bob");
        await Assertions.Expect(bobPage.Locator("#me")).ToHaveTextAsync("as Bob Marley");
        await Assertions.Expect(bobPage.Locator("#messages li")).ToHaveCountAsync(0);
        await bobPage.FillAsync("#text", "Bob here");
        await bobPage.PressAsync("#text", "Enter");
        var fromBob = await owner.NextMessageAsync();
        Assert.Equal("Bob Marley", fromBob.ElementText("nick", Xmpp.VisitorLink.NickNamespace));
        Assert.NotEqual(fromAlice.From!.Bare, fromBob.From!.Bare);
        Assert.Empty(errors);
    }

    [Fact]
    public async Task Without_guests_the_page_offers_the_providers_and_tells_when_a_sign_in_failed()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: run scripts/install-deps.sh (Debian package chromium).");
        var server = await servers.GetAsync(Servers.Prosody);
        await using var gateway = await openId.StartGatewayAsync(server, "owner@" + server.Domain, "--Parley:Guests:Enabled=false");
        var url = gateway.BaseAddress.ToString();
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchAsync(playwright);
        var page = await (await NewContextAsync(browser)).NewPageAsync();

        await page.GotoAsync(url + "?signin=failed");
        await Assertions.Expect(page.Locator("#status")).ToHaveTextAsync("Signing in did not work; please try again.");
        Assert.Equal(url, page.Url);
        await Assertions.Expect(page.Locator("#providers a")).ToHaveTextAsync(["Sign in with Test OP"]);
        await Assertions.Expect(page.Locator("#guest-form")).ToBeHiddenAsync();
        await Assertions.Expect(page.Locator("#guests-off")).ToBeHiddenAsync();

        // A forged callback in the browser lands on the page with the notice, not signed in.
        await page.GotoAsync(url + "auth/callback/op?code=forged&state=forged");
        await Assertions.Expect(page.Locator("#status")).ToHaveTextAsync("Signing in did not work; please try again.");
        await Assertions.Expect(page.Locator("#chat")).ToBeHiddenAsync();
    }

    private static async Task SignInAtProviderAsync(IPage page, string url, string login)
    {
        await page.ClickAsync("#providers a[data-provider=op]");
        await page.WaitForURLAsync(InteractionPage(), new PageWaitForURLOptions { WaitUntil = WaitUntilState.DOMContentLoaded });
        await page.FillAsync("input[name=login]", login);
        await page.FillAsync("input[name=password]", "any password");
        await page.ClickAsync("button[type=submit]");
        await page.WaitForURLAsync(url);
    }

    private static async Task<IBrowser> LaunchAsync(IPlaywright playwright) => await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
    {
        ExecutablePath = Chromium,
        Headless = true,
        Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });

    private static async Task<IBrowserContext> NewContextAsync(IBrowser browser)
    {
        var context = await browser.NewContextAsync();

        // Offline: the provider's login page imports web fonts from the internet; only loopback is reachable.
        await context.RouteAsync(NotLoopback(), static route => route.AbortAsync());
        return context;
    }

    private static List<string> CollectErrors(IPage page)
    {
        var errors = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error" && message.Location.StartsWith("http://127.0.0.1", StringComparison.Ordinal) && !message.Text.Contains("net::ERR_FAILED", StringComparison.Ordinal))
            {
                errors.Add($"{message.Text} ({message.Location})");
            }
        };
        return errors;
    }

    [GeneratedRegex(@"^https?://(?!127\.0\.0\.1[:/])")]
    private static partial Regex NotLoopback();

    [GeneratedRegex("/interaction/[^/]+$")]
    private static partial Regex InteractionPage();
}
