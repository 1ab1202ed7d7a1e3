using Microsoft.Playwright;
using Parley.Testing;
using Parley.Xmpp;

namespace Parley.Web.Tests;

/// <summary>The page in headless Chromium (Debian's, driven by Playwright): sign in, chat live with the owner, two tabs, reload, markup shown as text.</summary>
[Collection(ServerFixture.CollectionName)]
public sealed class BrowserTests(ServerFixture servers)
{
    private const string Chromium = "/usr/bin/chromium";
    private const string Payload = "<img src=x onerror=\"document.title='pwned'\"><b>bold?</b>";

    [Fact]
    public async Task A_visitor_chats_with_the_owner_in_the_browser()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: run scripts/install-deps.sh (Debian package chromium).");
        var server = await servers.GetAsync(Servers.Prosody);
        await using var owner = await Owner.ConnectAsync(server);
        await using var gateway = await GatewayHost.StartAsync(server, owner.Account.Jid.ToString());
        await gateway.WaitConnectedAsync();

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        var context = await browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1100, Height = 720 } });
        var errors = new List<string>();
        var page = await context.NewPageAsync();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                errors.Add($"{message.Text} ({message.Location})");
            }
        };
        var url = gateway.BaseAddress.ToString();
        await page.GotoAsync(url);

        // Sign in as a guest whose name is markup.
        await page.FillAsync("#guest-name", "<i>Dora</i> Explorer");
        await page.ClickAsync("#guest-form button");
        await Assertions.Expect(page.Locator("#me")).ToHaveTextAsync("as <i>Dora</i> Explorer");
        await Assertions.Expect(page.Locator("#signin")).ToBeHiddenAsync();
        await Assertions.Expect(page.Locator("#owner-presence")).ToHaveClassAsync("presence offline");

        // Send from the composer; the owner gets it from the visitor's JID.
        await page.FillAsync("#text", "Hello from the browser");
        await page.PressAsync("#text", "Enter");
        var atOwner = await owner.NextMessageAsync();
        Assert.Equal("Hello from the browser", atOwner.Body);
        Assert.Equal("<i>Dora</i> Explorer", atOwner.ElementText("nick", Xmpp.VisitorLink.NickNamespace));
        await Assertions.Expect(page.Locator("#messages li.visitor")).ToHaveClassAsync("visitor sent");

        // A second tab of the same browser shares the conversation.
        var second = await context.NewPageAsync();
        await second.GotoAsync(url);
        await Assertions.Expect(second.Locator("#messages li.visitor .text")).ToHaveTextAsync("Hello from the browser");

        // The owner approves the gateway's one subscription request: the page shows the owner's presence.
        await owner.ApproveGatewayAsync(server.ComponentDomain);
        await owner.Client.SendPresenceAsync();
        await Assertions.Expect(page.Locator("#owner-presence")).ToHaveTextAsync("Online");
        await Assertions.Expect(second.Locator("#owner-presence")).ToHaveClassAsync("presence online");

        // The owner's replies appear in both tabs without a reload, markup as text.
        await owner.Client.SendAsync(atOwner.CreateReply("Hi Dora! How can I help?"));
        await owner.Client.SendAsync(atOwner.CreateReply(Payload));
        var replies = page.Locator("#messages li.owner .text");
        await Assertions.Expect(replies).ToHaveTextAsync(["Hi Dora! How can I help?", Payload]);
        await Assertions.Expect(second.Locator("#messages li.owner .text")).ToHaveTextAsync(["Hi Dora! How can I help?", Payload]);
        Assert.Equal(0, await page.Locator("#messages img, #messages b").CountAsync());
        Assert.NotEqual("pwned", await page.TitleAsync());

        // Reload keeps everything.
        await second.ReloadAsync();
        await Assertions.Expect(second.Locator("#messages li .text")).ToHaveTextAsync(["Hello from the browser", "Hi Dora! How can I help?", Payload]);
        await page.FillAsync("#text", "Thanks, that works.\nSecond line.");
        await page.ClickAsync("#composer button[type=submit]");
        Assert.Equal("Thanks, that works.\nSecond line.", (await owner.NextMessageAsync()).Body);
        await Assertions.Expect(second.Locator("#messages li.visitor .text").Last).ToHaveTextAsync("Thanks, that works.\nSecond line.");
        Assert.Empty(errors);

        if (Environment.GetEnvironmentVariable("PARLEY_SCREENSHOTS") is { Length: > 0 } directory)
        {
            Directory.CreateDirectory(directory);
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(directory, "web-chat-desktop.png") });
            var mobile = await browser.NewContextAsync(new BrowserNewContextOptions
            {
                ViewportSize = new ViewportSize { Width = 390, Height = 780 },
                DeviceScaleFactor = 2,
                IsMobile = true,
                HasTouch = true,
                StorageState = await context.StorageStateAsync(),
            });
            var phone = await mobile.NewPageAsync();
            await phone.GotoAsync(url);
            await Assertions.Expect(phone.Locator("#messages li")).ToHaveCountAsync(4);
            await phone.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(directory, "web-chat-mobile.png") });
            await mobile.CloseAsync();
        }

        // Sign-out really signs out: the page goes back to the sign-in form, the conversation is gone from it.
        await page.ClickAsync("#signout");
        await Assertions.Expect(page.Locator("#guest-form")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#messages li")).ToHaveCountAsync(0);
        await second.ReloadAsync();
        await Assertions.Expect(second.Locator("#guest-form")).ToBeVisibleAsync();
    }
}
