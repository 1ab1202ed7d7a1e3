using Microsoft.Playwright;
using Parley.Testing;
using Parley.Web.Xmpp;
using Parley.Xmpp;
using Parley.Xmpp.Stanzas;

namespace Parley.Web.Tests;

/// <summary>The page's chat features in headless Chromium: typing indicators, links, the owner-offline note.</summary>
[Collection(ServerFixture.CollectionName)]
public sealed class PageFeatureTests(ServerFixture servers)
{
    [Fact]
    public async Task Typing_shows_both_ways()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        await using var owner = await Owner.ConnectAsync(server);
        await using var gateway = await GatewayHost.StartAsync(server, owner.Account.Jid.ToString());
        await gateway.WaitConnectedAsync();
        await using var chromium = await Chromium.LaunchAsync();
        var page = await SignInAsync(chromium, gateway, "Typist");

        // Typing in the composer: "composing" from the visitor's JID, "paused" after a few idle seconds.
        await page.Locator("#text").PressSequentiallyAsync("Hel");
        var composing = await owner.NextAnyMessageAsync(m => m.Body is null && ChatStates.Of(m) is not null);
        Assert.Equal(ChatStates.Composing, ChatStates.Of(composing));
        var visitorJid = composing.From!.Bare;
        Assert.Equal(server.ComponentDomain, visitorJid.Domain);
        Assert.Equal(ChatStates.Paused, ChatStates.Of(await owner.NextAnyMessageAsync(m => m.Body is null && ChatStates.Of(m) is not null)));

        // The owner typing: shown, then cleared by "paused", shown again, cleared by the reply.
        var indicator = page.Locator("#typing");
        await Assertions.Expect(indicator).ToBeHiddenAsync();
        await owner.Client.SendAsync(OwnerState(visitorJid, ChatStates.Composing));
        await Assertions.Expect(indicator).ToBeVisibleAsync();
        await Assertions.Expect(indicator).ToHaveTextAsync("The owner is typing…");
        await owner.Client.SendAsync(OwnerState(visitorJid, ChatStates.Paused));
        await Assertions.Expect(indicator).ToBeHiddenAsync();
        await owner.Client.SendAsync(OwnerState(visitorJid, ChatStates.Composing));
        await Assertions.Expect(indicator).ToBeVisibleAsync();
        await owner.Client.SendAsync(new Message(visitorJid, "Hello, typist"));
        await Assertions.Expect(page.Locator("#messages li.owner .text")).ToHaveTextAsync("Hello, typist");
        await Assertions.Expect(indicator).ToBeHiddenAsync();

        // Sending the message: the owner gets it with "active"; no state was stored as a message.
        await page.Locator("#text").PressSequentiallyAsync("lo");
        await page.PressAsync("#text", "Enter");
        var message = await owner.NextMessageAsync();
        Assert.Equal("Hello", message.Body);
        Assert.Equal(ChatStates.Active, ChatStates.Of(message));
        await Assertions.Expect(page.Locator("#messages li .text")).ToHaveTextAsync(["Hello, typist", "Hello"]);
        Assert.Empty(chromium.Errors);
    }

    [Fact]
    public async Task Links_are_clickable_and_markup_or_script_urls_never_become_html()
    {
        const string Payload =
            "Docs: https://example.org/guide?a=1&b=2. Wiki (https://en.wikipedia.org/wiki/Foo_(bar)) here.\n" +
            "javascript:alert(document.domain) data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg== " +
            "<a href=\"javascript:document.title='pwned'\">click</a> <img src=x onerror=\"document.title='pwned'\">\n" +
            "https://evil.example/\"><script>document.title='pwned'</script> JAVASCRIPT://%0aalert(3) " +
            "javascript:https://example.org/ HTTP://plain.example";
        var server = await servers.GetAsync(Servers.Prosody);
        await using var owner = await Owner.ConnectAsync(server);
        await using var gateway = await GatewayHost.StartAsync(server, owner.Account.Jid.ToString());
        await gateway.WaitConnectedAsync();
        await using var chromium = await Chromium.LaunchAsync();
        var page = await SignInAsync(chromium, gateway, "Linker");

        await page.FillAsync("#text", "my shop: https://shop.example/cart?id=7, thanks");
        await page.PressAsync("#text", "Enter");
        var atOwner = await owner.NextMessageAsync();
        await owner.Client.SendAsync(atOwner.CreateReply(Payload));

        var reply = page.Locator("#messages li.owner .text");
        await Assertions.Expect(reply).ToHaveTextAsync(Payload);
        var links = page.Locator("#messages a");
        await Assertions.Expect(links).ToHaveCountAsync(6);
        string[] hrefs =
        [
            "https://shop.example/cart?id=7",
            "https://example.org/guide?a=1&b=2",
            "https://en.wikipedia.org/wiki/Foo_(bar)",
            "https://evil.example/",
            "https://example.org/",
            "http://plain.example/",
        ];
        Assert.Equal(hrefs, await links.EvaluateAllAsync<string[]>("links => links.map(a => a.getAttribute('href'))"));
        Assert.Equal(
            ["https://shop.example/cart?id=7", "https://example.org/guide?a=1&b=2", "https://en.wikipedia.org/wiki/Foo_(bar)", "https://evil.example/", "https://example.org/", "HTTP://plain.example"],
            await links.AllTextContentsAsync());
        Assert.All(await links.EvaluateAllAsync<string[]>("links => links.map(a => a.rel + '|' + a.target)"), value => Assert.Equal("noopener noreferrer nofollow|_blank", value));

        // None of the markup became elements, and the text around the links is intact (the visitor's too).
        Assert.Equal(0, await page.Locator("#messages img, #messages script, #messages a[href^='javascript' i], #messages a[href^='data' i]").CountAsync());
        await Assertions.Expect(page.Locator("#messages li.visitor .text")).ToHaveTextAsync("my shop: https://shop.example/cart?id=7, thanks");
        Assert.NotEqual("pwned", await page.TitleAsync());

        // A click opens a new tab (target=_blank) without a handle back to the chat.
        await page.Context.RouteAsync("https://example.org/**", route => route.FulfillAsync(new RouteFulfillOptions { Status = 200, ContentType = "text/html", Body = "<title>docs</title>" }));
        var popup = await page.Context.RunAndWaitForPageAsync(() => links.Nth(1).ClickAsync());
        await popup.WaitForLoadStateAsync();
        Assert.True(await popup.EvaluateAsync<bool>("() => window.opener === null"));
        Assert.Empty(chromium.Errors);
    }

    internal static async Task<IPage> SignInAsync(Chromium chromium, GatewayHost gateway, string name)
    {
        var page = await chromium.NewPageAsync();
        await page.GotoAsync(gateway.BaseAddress.ToString());
        await page.FillAsync("#guest-name", name);
        await page.ClickAsync("#guest-form button");
        await Assertions.Expect(page.Locator("#me")).ToHaveTextAsync("as " + name);
        return page;
    }

    internal static Message OwnerState(Jid to, string state)
    {
        var message = new Message { To = to, Type = MessageType.Chat };
        message.Add(ChatStates.Element(state));
        return message;
    }
}
