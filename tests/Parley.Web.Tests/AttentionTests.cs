using Microsoft.Playwright;
using Parley.Testing;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;

namespace Parley.Web.Tests;

/// <summary>
/// A reply that arrives while the visitor looks elsewhere, in headless Chromium: the unread count in the title (and on
/// the widget's bubble and the host page's title), the sound and the notification the visitor switched on, and looking
/// again clearing all of it.
/// </summary>
[Collection(ServerFixture.CollectionName)]
public sealed class AttentionTests(ServerFixture servers)
{
    // Records what the page asks of the browser, then lets the browser do it: notifications shown, permission
    // prompts, tones played. A switch stands for the browser hiding the tab, which headless Chromium never does.
    private const string BrowserSpies = """
        window.parleyNotified = [];
        window.parleyPrompts = 0;
        window.parleyTones = 0;
        window.parleyHidden = false;
        Object.defineProperty(document, 'visibilityState', { get: () => window.parleyHidden ? 'hidden' : 'visible' });
        Object.defineProperty(document, 'hidden', { get: () => window.parleyHidden });
        const RealNotification = window.Notification;
        window.Notification = function (title, options) {
          window.parleyNotified.push(title + ': ' + options.body);
          return new RealNotification(title, options);
        };
        Object.defineProperty(window.Notification, 'permission', { get: () => RealNotification.permission });
        window.Notification.requestPermission = () => { window.parleyPrompts += 1; return RealNotification.requestPermission(); };
        const createOscillator = AudioContext.prototype.createOscillator;
        AudioContext.prototype.createOscillator = function () { window.parleyTones += 1; return createOscillator.call(this); };
        """;

    private const string HideTab = "() => { window.parleyHidden = true; document.dispatchEvent(new Event('visibilitychange')); }";
    private const string ShowTab = "() => { window.parleyHidden = false; document.dispatchEvent(new Event('visibilitychange')); }";

    [Fact]
    public async Task Replies_to_a_hidden_tab_count_in_the_title_sound_and_notify_as_chosen_and_clear_when_it_shows()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        await using var owner = await Owner.ConnectAsync(server);
        await using var gateway = await GatewayHost.StartAsync(server, owner.Account.Jid.ToString());
        await gateway.WaitConnectedAsync();
        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.NewPageAsync(new BrowserNewContextOptions { Permissions = ["notifications"], ViewportSize = new() { Width = 1100, Height = 720 } });
        await page.AddInitScriptAsync(BrowserSpies);
        await page.GotoAsync(gateway.BaseAddress.ToString());
        await page.FillAsync("#guest-name", "Absent");
        await page.ClickAsync("#guest-form button");
        await page.FillAsync("#text", "are you there?");
        await page.PressAsync("#text", "Enter");
        var visitor = (await owner.NextMessageAsync()).From!.Bare;

        // Loading the chat asked the browser for nothing; both switches start off.
        Assert.Equal(0, await page.EvaluateAsync<int>("() => window.parleyPrompts"));
        await Assertions.Expect(page.Locator("#sound-toggle")).ToHaveAttributeAsync("aria-pressed", "false");
        await Assertions.Expect(page.Locator("#notify-toggle")).ToHaveAttributeAsync("aria-pressed", "false");

        // Without them, a hidden tab still counts.
        await page.EvaluateAsync(HideTab);
        await owner.Client.SendAsync(new Message(visitor, "first answer") { Type = MessageType.Chat });
        await Assertions.Expect(page).ToHaveTitleAsync("(1) Chat");
        Assert.Equal(0, await page.EvaluateAsync<int>("() => window.parleyTones"));
        Assert.Empty(await page.EvaluateAsync<string[]>("() => window.parleyNotified"));
        await page.EvaluateAsync(ShowTab);
        await Assertions.Expect(page).ToHaveTitleAsync("Chat");

        // Switched on (the context grants notifications, as a visitor's "Allow" would), they play and show.
        await page.ClickAsync("#sound-toggle");
        await page.ClickAsync("#notify-toggle");
        await Assertions.Expect(page.Locator("#sound-toggle")).ToHaveAttributeAsync("aria-pressed", "true");
        await Assertions.Expect(page.Locator("#notify-toggle")).ToHaveAttributeAsync("aria-pressed", "true");
        var tonesBefore = await page.EvaluateAsync<int>("() => window.parleyTones");
        await page.EvaluateAsync(HideTab);
        await owner.Client.SendAsync(new Message(visitor, "second answer") { Type = MessageType.Chat });
        await owner.Client.SendAsync(new Message(visitor, "third answer") { Type = MessageType.Chat });
        await Assertions.Expect(page).ToHaveTitleAsync("(2) Chat");
        Assert.Equal(["New reply: second answer", "New reply: third answer"], await page.EvaluateAsync<string[]>("() => window.parleyNotified"));
        Assert.Equal(tonesBefore + 2, await page.EvaluateAsync<int>("() => window.parleyTones"));

        // Looking again clears the count; a reply read as it arrives adds nothing. The switches outlive a reload.
        await page.EvaluateAsync(ShowTab);
        await Assertions.Expect(page).ToHaveTitleAsync("Chat");
        await owner.Client.SendAsync(new Message(visitor, "seen at once") { Type = MessageType.Chat });
        await Assertions.Expect(page.Locator("#messages li.owner .text").Last).ToHaveTextAsync("seen at once");
        await Assertions.Expect(page).ToHaveTitleAsync("Chat");
        await page.ReloadAsync();
        await Assertions.Expect(page.Locator("#notify-toggle")).ToHaveAttributeAsync("aria-pressed", "true");
        Assert.Equal(0, await page.EvaluateAsync<int>("() => window.parleyPrompts"));
        Assert.Empty(chromium.Errors);
    }

    [Fact]
    public async Task In_the_widget_unread_replies_show_on_the_bubble_and_the_host_title_until_the_chat_is_opened()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        await using var owner = await Owner.ConnectAsync(server);
        await using var site = await HostSite.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(server, owner.Account.Jid.ToString(), null,
            [.. WidgetTests.SiteArgs, $"--Parley:Widget:AllowedOrigins:0={site.Origin}", .. await WidgetTests.HttpsAsync()]);
        await gateway.WaitConnectedAsync();
        site.Gateway = new UriBuilder(gateway.BaseAddress) { Host = "localhost" }.Uri;
        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.NewPageAsync(new BrowserNewContextOptions { IgnoreHTTPSErrors = true });
        var bubble = page.Locator("#parley-chat-bubble");
        var badge = bubble.Locator("span").Last;
        var chat = page.FrameLocator("#parley-chat-frame");
        await page.GotoAsync(site.Address.ToString());
        await bubble.ClickAsync();
        await chat.Locator("#guest-name").FillAsync("Shopper");
        await chat.Locator("#guest-form button").ClickAsync();
        await chat.Locator("#text").FillAsync("is this in stock?");
        await chat.Locator("#text").PressAsync("Enter");
        var visitor = (await owner.NextMessageAsync()).From!.Bare;

        // The visitor closes the chat and reads the shop: replies show on the bubble and in the shop's title.
        await bubble.ClickAsync();
        await page.Locator("h1, body").First.ClickAsync(new() { Position = new() { X = 5, Y = 5 } });
        await owner.Client.SendAsync(new Message(visitor, "yes, two left") { Type = MessageType.Chat });
        await owner.Client.SendAsync(new Message(visitor, "shall I keep one?") { Type = MessageType.Chat });
        await Assertions.Expect(badge).ToHaveTextAsync("2");
        await Assertions.Expect(badge).ToBeVisibleAsync();
        await Assertions.Expect(page).ToHaveTitleAsync("(2) The Shop");
        await Assertions.Expect(bubble).ToHaveAttributeAsync("aria-label", "Chat with us (2 unread)");
        if (Environment.GetEnvironmentVariable("PARLEY_SCREENSHOTS") is { Length: > 0 } directory)
        {
            // A screenshot has no tab strip: the bubble's count shows, the title "(2) The Shop" is what the line above checks.
            Directory.CreateDirectory(directory);
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(directory, "web-chat-unread.png") });
        }

        // Opening the chat is reading it.
        await bubble.ClickAsync();
        await Assertions.Expect(badge).ToBeHiddenAsync();
        await Assertions.Expect(page).ToHaveTitleAsync("The Shop");
        await Assertions.Expect(chat.Locator("#messages li.owner .text")).ToHaveTextAsync(["yes, two left", "shall I keep one?"]);
        Assert.Empty(chromium.Errors);
    }
}
