using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Parley.Testing;
using Parley.Web.Xmpp;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;

namespace Parley.Web.Tests;

/// <summary>
/// A message's state on the page in headless Chromium, with the owner as a real XMPP client sending receipts and chat
/// markers: sending, sent, delivered, seen; "displayed" back to the owner only once a visible tab shows a reply; a POST
/// that fails shows Retry, and a retry never sends twice.
/// </summary>
[Collection(ServerFixture.CollectionName)]
public sealed class DeliveryStateBrowserTests(ServerFixture servers)
{
    private static readonly LocatorAssertionsToHaveClassOptions Patient = new() { Timeout = 15_000 };

    // Headless Chromium always reports a visible page: the page's visibility is set from the test, as a hidden tab reports it.
    private const string VisibilitySwitch = """
        window.__parleyHidden = false;
        Object.defineProperty(Document.prototype, 'visibilityState', { configurable: true, get() { return window.__parleyHidden ? 'hidden' : 'visible'; } });
        Object.defineProperty(Document.prototype, 'hidden', { configurable: true, get() { return window.__parleyHidden; } });
        """;

    [Theory]
    [MemberData(nameof(Servers.Kinds), MemberType = typeof(Servers))]
    public async Task A_message_goes_from_sending_to_seen_and_the_owner_gets_one_displayed_once_the_tab_shows_the_reply(string kind)
    {
        var server = await servers.GetAsync(kind);
        await using var owner = await Owner.ConnectAsync(server);
        await using var gateway = await GatewayHost.StartAsync(server, owner.Account.Jid.ToString());
        await gateway.WaitConnectedAsync();
        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.NewPageAsync();
        await page.AddInitScriptAsync(VisibilitySwitch);
        var displayedPosts = new DisplayedPosts(page);
        await SignInAsync(page, gateway, "Dora");

        // Hold the POST: the message shows as sending before the gateway has it.
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await page.RouteAsync("**/api/conversations/*/messages", async route =>
        {
            await release.Task;
            await route.ContinueAsync();
        });
        await page.FillAsync("#text", "Are you there?");
        await page.PressAsync("#text", "Enter");
        var mine = page.Locator("#messages li.visitor");
        await Assertions.Expect(mine).ToHaveClassAsync("visitor unsent pending", Patient);
        Assert.Equal("sending", await StateLabelAsync(mine));
        release.SetResult();

        var atOwner = await owner.NextMessageAsync(m => m.Body == "Are you there?");
        Assert.NotNull(atOwner.Element("markable", ChatMarkers.Namespace));
        await Assertions.Expect(mine).ToHaveClassAsync("visitor sent", Patient);

        var receipt = new Message { To = atOwner.From };
        receipt.AddChild("received", XmppNamespaces.Receipts).SetAttribute("id", atOwner.Id!);
        await owner.Client.SendAsync(receipt);
        await Assertions.Expect(mine).ToHaveClassAsync("visitor delivered", Patient);

        var displayed = new Message { To = atOwner.From, Type = MessageType.Chat };
        displayed.AddChild("displayed", ChatMarkers.Namespace).SetAttribute("id", atOwner.Id!);
        await owner.Client.SendAsync(displayed);
        await Assertions.Expect(mine).ToHaveClassAsync("visitor seen", Patient);
        await Assertions.Expect(mine.Locator(".meta")).ToHaveAttributeAsync("data-state", "seen");

        // The tab is hidden when two markable replies arrive: they are shown in the list, but nobody has seen them.
        await SetHiddenAsync(page, true);
        var replies = new[] { "First answer", "Second answer" }.Select(text =>
        {
            var reply = atOwner.CreateReply(text);
            reply.AddChild("markable", ChatMarkers.Namespace);
            return reply;
        }).ToList();
        foreach (var reply in replies)
        {
            await owner.Client.SendAsync(reply);
        }

        await Assertions.Expect(page.Locator("#messages li.owner .text")).ToHaveTextAsync(["First answer", "Second answer"]);
        await NoDisplayedAsync(owner, atOwner.From!, displayedPosts, page);

        // Shown: one displayed, for the newest reply, from the visitor's JID (it covers the first).
        await SetHiddenAsync(page, false);
        var marker = await owner.NextAnyMessageAsync(IsDisplayed);
        Assert.Equal(replies[1].Id, marker.Element("displayed", ChatMarkers.Namespace)!.GetAttribute("id"));
        Assert.Equal(atOwner.From!.Bare, marker.From!.Bare);

        // Never again for these replies: not on the next visibility change, not after a reload, not from a second tab.
        await SetHiddenAsync(page, true);
        await SetHiddenAsync(page, false);
        await page.ReloadAsync();
        await Assertions.Expect(page.Locator("#messages li.owner .text")).ToHaveTextAsync(["First answer", "Second answer"]);
        var second = await page.Context.NewPageAsync();
        displayedPosts.Watch(second);
        await second.GotoAsync(gateway.BaseAddress.ToString());
        await Assertions.Expect(second.Locator("#messages li.owner")).ToHaveCountAsync(2);
        await NoDisplayedAsync(owner, atOwner.From!, displayedPosts, page, second);
        Assert.Empty(chromium.Errors);
    }

    [Fact]
    public async Task A_post_that_fails_shows_retry_and_the_retry_sends_the_message_once()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        await using var owner = await Owner.ConnectAsync(server);
        await using var gateway = await GatewayHost.StartAsync(server, owner.Account.Jid.ToString());
        await gateway.WaitConnectedAsync();
        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.NewPageAsync();
        await SignInAsync(page, gateway, "Eve");

        // The first POST never reaches the gateway (a network error).
        var posts = 0;
        await page.RouteAsync("**/api/conversations/*/messages", async route =>
        {
            if (route.Request.Method == "POST" && Interlocked.Increment(ref posts) == 1)
            {
                await route.AbortAsync();
                return;
            }

            await route.ContinueAsync();
        });
        await page.FillAsync("#text", "Lost on the way");
        await page.PressAsync("#text", "Enter");
        var failed = page.Locator("#messages li.visitor.failed");
        await Assertions.Expect(failed).ToHaveCountAsync(1);
        Assert.Equal("not sent", await StateLabelAsync(failed));
        await failed.Locator("button.retry").ClickAsync();
        await Assertions.Expect(page.Locator("#messages li.visitor")).ToHaveClassAsync("visitor sent", Patient);
        Assert.Equal("Lost on the way", (await owner.NextMessageAsync()).Body);

        // The answer to the next POST is lost after the gateway stored the message: the push stream brings the stored
        // copy, which replaces the page's own; nothing is stored or sent twice.
        await page.UnrouteAllAsync();
        await page.RouteAsync("**/api/conversations/*/messages", async route =>
        {
            if (route.Request.Method == "POST")
            {
                await route.FetchAsync();
                await route.AbortAsync();
                return;
            }

            await route.ContinueAsync();
        });
        await page.FillAsync("#text", "Answer lost");
        await page.PressAsync("#text", "Enter");
        Assert.Equal("Answer lost", (await owner.NextMessageAsync()).Body);
        await Assertions.Expect(page.Locator("#messages li.visitor")).ToHaveClassAsync(["visitor sent", "visitor sent"], Patient);

        await page.UnrouteAllAsync();
        await page.FillAsync("#text", "Last one");
        await page.PressAsync("#text", "Enter");
        Assert.Equal("Last one", (await owner.NextMessageAsync()).Body);
        Assert.DoesNotContain(owner.DrainMessages(), m => m.Body is not null);
        await page.ReloadAsync();
        await Assertions.Expect(page.Locator("#messages li.visitor .text")).ToHaveTextAsync(["Lost on the way", "Answer lost", "Last one"]);
    }

    [Theory]
    [MemberData(nameof(Servers.Kinds), MemberType = typeof(Servers))]
    public async Task With_slixmpp_as_the_owners_client_the_page_shows_seen_and_slixmpp_gets_one_displayed_for_its_reply(string kind)
    {
        var server = await servers.GetAsync(kind);
        var ownerAccount = await server.CreateAccountAsync();
        await using var gateway = await GatewayHost.StartAsync(server, ownerAccount.Jid.ToString());
        await gateway.WaitConnectedAsync();

        // slixmpp's xep_0333 plugin: it answers "displayed" to the visitor's message and sends a markable reply.
        await using var slixmpp = await SlixmppOwner.StartAsync(server, ownerAccount, "slixmpp_markers.py", waitForReady: true, "Hello slixmpp", "Hello from slixmpp");
        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.NewPageAsync();
        await SignInAsync(page, gateway, "Slix");
        await page.FillAsync("#text", "Hello slixmpp");
        await page.PressAsync("#text", "Enter");
        await Assertions.Expect(page.Locator("#messages li.visitor")).ToHaveClassAsync("visitor seen", Patient);
        await Assertions.Expect(page.Locator("#messages li.owner .text")).ToHaveTextAsync("Hello from slixmpp");

        var result = await slixmpp.ResultAsync();
        var visitor = Jid.Create(await page.EvaluateAsync<string>("() => state.conversation"), server.ComponentDomain).ToString();
        Assert.Equal(visitor, result.GetProperty("visitor").GetString());
        Assert.True(result.GetProperty("markable").GetBoolean());
        var marker = Assert.Single(result.GetProperty("displayed").EnumerateArray());
        Assert.Equal(result.GetProperty("reply").GetString(), marker.GetProperty("id").GetString());
        Assert.Equal(visitor, marker.GetProperty("from").GetString());
        Assert.Empty(chromium.Errors);
    }

    private static bool IsDisplayed(Message message) => message.Element("displayed", ChatMarkers.Namespace) is not null;

    /// <summary>
    /// Shows that no <c>displayed</c> reached the owner, by positive signals rather than a wait: each page's scheduled
    /// report (after the next frame) has run, every POST to <c>/displayed</c> has its answer (the gateway answers once
    /// it has written any marker), and then a ping from the owner to the visitor's address comes back over the same
    /// route a marker takes, after it.
    /// </summary>
    private static async Task NoDisplayedAsync(Owner owner, Jid visitor, DisplayedPosts posts, params IPage[] pages)
    {
        foreach (var page in pages)
        {
            await page.EvaluateAsync("() => new Promise(resolve => requestAnimationFrame(() => setTimeout(() => setTimeout(resolve, 0), 0)))");
        }

        await posts.WaitAnsweredAsync();
        await owner.Client.PingAsync(visitor);
        Assert.DoesNotContain(owner.DrainMessages(), IsDisplayed);
    }

    /// <summary>The pages' POSTs to <c>/displayed</c>: how many were made and how many have their answer.</summary>
    private sealed class DisplayedPosts
    {
        private int _made;
        private int _answered;

        public DisplayedPosts(IPage page) => Watch(page);

        public void Watch(IPage page)
        {
            page.Request += (_, request) => Count(request, ref _made);
            page.RequestFinished += (_, request) => Count(request, ref _answered);
            page.RequestFailed += (_, request) => Count(request, ref _answered);
        }

        public async Task WaitAnsweredAsync()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            while (Volatile.Read(ref _answered) < Volatile.Read(ref _made))
            {
                await Task.Delay(20, timeout.Token);
            }
        }

        private static void Count(IRequest request, ref int counter)
        {
            if (request.Method == "POST" && request.Url.EndsWith("/displayed", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref counter);
            }
        }
    }

    private static async Task SignInAsync(IPage page, GatewayHost gateway, string name)
    {
        await page.GotoAsync(gateway.BaseAddress.ToString());
        await page.FillAsync("#guest-name", name);
        await page.ClickAsync("#guest-form button");
        await Assertions.Expect(page.Locator("#me")).ToHaveTextAsync(new Regex(name));
    }

    private static Task SetHiddenAsync(IPage page, bool hidden)
        => page.EvaluateAsync("hidden => { window.__parleyHidden = hidden; document.dispatchEvent(new Event('visibilitychange')); }", hidden);

    /// <summary>The state's words after the time, in the page's language (app.css shows the attribute after the time).</summary>
    private static async Task<string> StateLabelAsync(ILocator item)
        => await item.Locator(".meta").GetAttributeAsync("data-state") ?? "";
}
