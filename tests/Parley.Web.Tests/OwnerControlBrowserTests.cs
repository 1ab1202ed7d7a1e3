using Microsoft.Playwright;
using Parley.Testing;

namespace Parley.Web.Tests;

/// <summary>What the owner's commands do to the page, in headless Chromium: a blocked visitor's page, an ended conversation.</summary>
[Collection(ServerFixture.CollectionName)]
public sealed class OwnerControlBrowserTests(ServerFixture servers)
{
    [Fact]
    public async Task A_blocked_visitor_sees_the_conversation_closed_and_an_ended_one_starts_anew()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        await using var owner = await Owner.ConnectAsync(server);
        await using var gateway = await GatewayHost.StartAsync(server, owner.Account.Jid.ToString());
        await gateway.WaitConnectedAsync();
        await using var chromium = await Chromium.LaunchAsync();
        var url = gateway.BaseAddress.ToString();

        var mallory = await chromium.NewPageAsync();
        await mallory.GotoAsync(url);
        await mallory.FillAsync("#guest-name", "Mallory");
        await mallory.ClickAsync("#guest-form button");
        await mallory.FillAsync("#text", "spam spam spam");
        await mallory.PressAsync("#text", "Enter");
        await owner.NextMessageAsync(m => m.Body == "spam spam spam");
        var malloryId = await mallory.EvaluateAsync<string>("() => state.conversation");

        var dora = await chromium.NewPageAsync();
        await dora.GotoAsync(url);
        await dora.FillAsync("#guest-name", "Dora");
        await dora.ClickAsync("#guest-form button");
        await dora.FillAsync("#text", "Where is my parcel?");
        await dora.PressAsync("#text", "Enter");
        var atOwner = await owner.NextMessageAsync(m => m.Body == "Where is my parcel?");
        await owner.Client.SendAsync(atOwner.CreateReply("It left this morning."));
        await Assertions.Expect(dora.Locator("#messages li")).ToHaveCountAsync(2);
        var doraId = await dora.EvaluateAsync<string>("() => state.conversation");

        var run = await OwnerCommandTests.RunAsync(server, owner.Account, $$$"""
            [{"run": "parley-block", "fields": {"visitor": "{{{malloryId}}}"}}, {"run": "parley-end", "fields": {"visitor": "{{{doraId}}}"}}]
            """);
        Assert.All(run, step => Assert.Equal("completed", step.GetProperty("final").GetProperty("status").GetString()));

        // The blocked visitor's open page says so and offers no composer; so does a reload.
        await Assertions.Expect(mallory.Locator("#closed-note")).ToBeVisibleAsync(new() { Timeout = 15_000 });
        await Assertions.Expect(mallory.Locator("#closed-note")).ToHaveTextAsync("This conversation is closed.");
        await Assertions.Expect(mallory.Locator("#composer")).ToBeHiddenAsync();
        await mallory.ReloadAsync();
        await Assertions.Expect(mallory.Locator("#closed-note")).ToBeVisibleAsync();
        await Assertions.Expect(mallory.Locator("#composer")).ToBeHiddenAsync();

        // The ended conversation leaves the page; the visitor starts a new one.
        await Assertions.Expect(dora.Locator("#ended-note")).ToBeVisibleAsync(new() { Timeout = 15_000 });
        await Assertions.Expect(dora.Locator("#messages li")).ToHaveCountAsync(0);
        if (Environment.GetEnvironmentVariable("PARLEY_SCREENSHOTS") is { Length: > 0 } directory)
        {
            Directory.CreateDirectory(directory);
            await mallory.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(directory, "web-chat-blocked.png") });
            await dora.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(directory, "web-chat-ended.png") });
        }

        await dora.ClickAsync("#new-conversation");
        await Assertions.Expect(dora.Locator("#ended-note")).ToBeHiddenAsync();
        await dora.FillAsync("#text", "Another question");
        await dora.PressAsync("#text", "Enter");
        await owner.NextMessageAsync(m => m.Body == "Another question");
        await Assertions.Expect(dora.Locator("#messages li .text")).ToHaveTextAsync(["Another question"]);
        await dora.ReloadAsync();
        await Assertions.Expect(dora.Locator("#messages li .text")).ToHaveTextAsync(["Another question"]);
        await Assertions.Expect(dora.Locator("#ended-note")).ToBeHiddenAsync();
        Assert.Empty(chromium.Errors);
    }
}
