using Deque.AxeCore.Commons;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;
using Parley.Testing;
using Parley.Xmpp.Stanzas;

namespace Parley.Web.Tests;

/// <summary>
/// The page for everyone, in headless Chromium: axe-core finds no serious or critical violation on the sign-in page, the
/// chat (light and dark) and the widget; the keyboard alone signs in, sends, attaches and signs out; a 360 px phone
/// needs no sideways scrolling. <c>PARLEY_SCREENSHOTS=docs</c> writes the phone and dark-mode screenshots.
/// </summary>
[Collection(ServerFixture.CollectionName)]
public sealed class AccessibilityTests(ServerFixture servers)
{
    [Fact]
    public async Task Sign_in_chat_and_dark_mode_have_no_serious_violations_and_fit_a_360_pixel_phone()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        await using var owner = await Owner.ConnectAsync(server);
        await using var gateway = await GatewayHost.StartAsync(server, owner.Account.Jid.ToString());
        await gateway.WaitConnectedAsync();
        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.NewPageAsync(new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = 360, Height = 740 },
            DeviceScaleFactor = 2,
            IsMobile = true,
            HasTouch = true,
        });
        await page.GotoAsync(gateway.BaseAddress.ToString());
        await Assertions.Expect(page.Locator("#guest-form")).ToBeVisibleAsync();
        AssertNoSeriousViolations("sign-in", await page.RunAxe());

        await page.FillAsync("#guest-name", "Pat");
        await page.ClickAsync("#guest-form button");
        await page.FillAsync("#text", "Is the shop open on Sunday? https://example.org/opening-hours");
        await page.PressAsync("#text", "Enter");
        var visitor = (await owner.NextMessageAsync()).From!.Bare;
        await owner.Client.SendAsync(new Message(visitor, "Yes, from ten to four.") { Type = MessageType.Chat });
        await Assertions.Expect(page.Locator("#messages li.owner .text")).ToHaveTextAsync("Yes, from ten to four.");
        await Assertions.Expect(page.Locator("#messages li.visitor")).ToHaveClassAsync("visitor sent");
        AssertNoSeriousViolations("chat", await page.RunAxe());
        Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= 360"), "the chat scrolls sideways at 360 px");
        await ScreenshotAsync(page, "web-chat-phone-360.png");

        await page.EmulateMediaAsync(new PageEmulateMediaOptions { ColorScheme = ColorScheme.Dark });
        Assert.Equal("rgb(17, 24, 39)", await page.EvaluateAsync<string>("() => getComputedStyle(document.getElementById('app')).backgroundColor"));
        AssertNoSeriousViolations("chat, dark", await page.RunAxe());
        await ScreenshotAsync(page, "web-chat-dark.png");
        Assert.Empty(chromium.Errors);
    }

    [Fact]
    public async Task The_keyboard_alone_signs_in_sends_attaches_and_signs_out()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        await using var owner = await Owner.ConnectAsync(server);
        await using var gateway = await GatewayHost.StartAsync(server, owner.Account.Jid.ToString());
        await gateway.WaitConnectedAsync();
        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.NewPageAsync();
        // Listening before the page loads: Playwright turns on file-chooser interception when the first listener is added,
        // without waiting for the browser, and a key pressed before the browser has it opens no chooser at all.
        var chooserOpened = new TaskCompletionSource<IFileChooser>(TaskCreationOptions.RunContinuationsAsynchronously);
        page.FileChooser += (_, chooser) => chooserOpened.TrySetResult(chooser);
        await page.GotoAsync(gateway.BaseAddress.ToString());
        await Assertions.Expect(page.Locator("#guest-form")).ToBeVisibleAsync();

        await TabToAsync(page, "guest-name");
        await page.Keyboard.TypeAsync("Kim");
        await page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(page.Locator("#me")).ToHaveTextAsync("as Kim");

        // The chat puts the caret in the composer; Enter sends.
        await Assertions.Expect(page.Locator("#text")).ToBeFocusedAsync();
        await page.Keyboard.TypeAsync("typed without a mouse");
        await page.Keyboard.PressAsync("Enter");
        Assert.Equal("typed without a mouse", (await owner.NextMessageAsync()).Body);

        // The file button opens the file chooser from the keyboard.
        await TabToAsync(page, "attach");
        await page.Keyboard.PressAsync("Enter");
        var chooser = await chooserOpened.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await chooser.SetFilesAsync(new FilePayload { Name = "notes.txt", MimeType = "text/plain", Buffer = "keyboard"u8.ToArray() });
        await Assertions.Expect(page.Locator("#messages li.visitor a.file")).ToHaveTextAsync("notes.txt");

        await TabToAsync(page, "signout");
        await page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(page.Locator("#guest-form")).ToBeVisibleAsync();
        Assert.Empty(chromium.Errors);
    }

    [Fact]
    public async Task The_widget_on_a_host_page_has_no_serious_violations()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        await using var site = await HostSite.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(server, "owner@" + server.Domain, null,
            [.. WidgetTests.SiteArgs, $"--Parley:Widget:AllowedOrigins:0={site.Origin}", .. await WidgetTests.HttpsAsync()]);
        site.Gateway = new UriBuilder(gateway.BaseAddress) { Host = "localhost" }.Uri;
        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.NewPageAsync(new BrowserNewContextOptions { IgnoreHTTPSErrors = true });
        await page.GotoAsync(site.Address.ToString());
        AssertNoSeriousViolations("widget closed", await page.RunAxe());
        await page.Locator("#parley-chat-bubble").ClickAsync();
        await Assertions.Expect(page.FrameLocator("#parley-chat-frame").Locator("#guest-form")).ToBeVisibleAsync();
        AssertNoSeriousViolations("widget open", await page.RunAxe());
    }

    internal static void AssertNoSeriousViolations(string where, AxeResult result)
    {
        var serious = result.Violations.Where(v => v.Impact is "serious" or "critical")
            .Select(v => $"{v.Id} ({v.Impact}): {v.Help} at {string.Join(", ", v.Nodes.Select(n => n.Target.ToString()))}")
            .ToList();
        Assert.True(serious.Count == 0, where + ": " + string.Join("; ", serious));
    }

    // Presses Tab until the element has the focus; fails when a whole round of the page never reaches it.
    private static async Task TabToAsync(IPage page, string id)
    {
        for (var presses = 0; presses < 30; presses++)
        {
            if (await FocusedIdAsync(page) == id)
            {
                return;
            }

            await page.Keyboard.PressAsync("Tab");
        }

        Assert.Fail($"Tab never reaches #{id}.");
    }

    private static Task<string> FocusedIdAsync(IPage page) => page.EvaluateAsync<string>("() => document.activeElement ? document.activeElement.id : ''");

    private static async Task ScreenshotAsync(IPage page, string name)
    {
        if (Environment.GetEnvironmentVariable("PARLEY_SCREENSHOTS") is { Length: > 0 } directory)
        {
            Directory.CreateDirectory(directory);
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(directory, name) });
        }
    }
}
