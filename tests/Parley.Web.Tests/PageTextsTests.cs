using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Parley.Testing;

namespace Parley.Web.Tests;

/// <summary>
/// The page's words come from one resource per language (wwwroot/texts-&lt;language&gt;.json), chosen from the
/// browser's languages: every language has every key with the same placeholders, every key the page uses exists, and a
/// German browser gets the German page.
/// </summary>
[Collection(ServerFixture.CollectionName)]
public sealed partial class PageTextsTests(ServerFixture servers)
{
    private static readonly string[] s_languages = ["en", "de"];
    private static readonly string[] s_scripts = ["app.js", "attention.js", "delivery.js", "frame.js", "signin.js"];

    [Fact]
    public void Every_language_has_every_key_with_the_same_placeholders()
    {
        var english = Texts("en");
        foreach (var language in s_languages.Skip(1))
        {
            var other = Texts(language);
            Assert.Equal(english.Keys.Order(StringComparer.Ordinal), other.Keys.Order(StringComparer.Ordinal));
            foreach (var (key, text) in english)
            {
                Assert.True(Placeholders(text).SetEquals(Placeholders(other[key])), $"texts-{language}.json: '{key}' has other placeholders than English.");
                Assert.False(string.IsNullOrWhiteSpace(other[key]), $"texts-{language}.json: '{key}' is empty.");
            }
        }
    }

    [Fact]
    public void Every_key_the_page_uses_is_in_the_resources()
    {
        var english = Texts("en");
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (Match match in MarkupKey().Matches(Resource("index.html")))
        {
            used.Add(match.Groups["key"].Value);
        }

        foreach (var script in s_scripts)
        {
            foreach (Match match in ScriptKey().Matches(Resource(script)))
            {
                used.Add(match.Groups["key"].Value);
            }
        }

        // Keys built at run time: the owner's presence and the message states.
        used.UnionWith(["presence.online", "presence.away", "presence.offline", "presence.onlineNamed", "presence.awayNamed", "presence.offlineNamed"]);
        used.UnionWith(["state.pending", "state.sent", "state.delivered", "state.undelivered", "state.seen"]);
        Assert.True(used.Count > 40, $"Only {used.Count} keys found: the patterns no longer match how the page names its texts.");
        Assert.Empty(used.Where(key => !english.ContainsKey(key)).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_German_browser_gets_the_page_in_German()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        await using var owner = await Owner.ConnectAsync(server);
        await using var gateway = await GatewayHost.StartAsync(server, owner.Account.Jid.ToString());
        await gateway.WaitConnectedAsync();
        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.NewPageAsync(new BrowserNewContextOptions { Locale = "de-DE", ViewportSize = new ViewportSize { Width = 1100, Height = 720 } });
        await page.GotoAsync(gateway.BaseAddress.ToString());

        await Assertions.Expect(page.Locator("#guest-form button")).ToHaveTextAsync("Chat beginnen");
        Assert.Equal("de", await page.GetAttributeAsync("html", "lang"));
        await page.FillAsync("#guest-name", "Kim");
        await page.ClickAsync("#guest-form button");
        await Assertions.Expect(page.Locator("#me")).ToHaveTextAsync("als Kim");
        await Assertions.Expect(page.Locator("#owner-presence")).ToHaveTextAsync("Offline");
        await Assertions.Expect(page.Locator("#offline-note")).ToHaveTextAsync("Gerade ist niemand da — hinterlassen Sie eine Nachricht, sie wird zugestellt");
        await Assertions.Expect(page.Locator("#text")).ToHaveAttributeAsync("placeholder", "Nachricht schreiben…");

        await page.FillAsync("#text", "Hallo");
        await page.PressAsync("#text", "Enter");
        var atOwner = await owner.NextMessageAsync();
        await Assertions.Expect(page.Locator("#messages li.visitor .meta")).ToHaveAttributeAsync("data-state", "gesendet");
        await owner.ApproveGatewayAsync(server.ComponentDomain);
        await owner.Client.SendPresenceAsync();
        await Assertions.Expect(page.Locator("#owner-presence")).ToHaveTextAsync("Online");
        await owner.Client.SendAsync(atOwner.CreateReply("Guten Tag!"));
        await Assertions.Expect(page.Locator("#messages li.owner .text")).ToHaveTextAsync("Guten Tag!");
        Assert.Empty(chromium.Errors);
    }

    [Fact]
    public async Task A_browser_in_a_language_without_a_resource_gets_English()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        await using var gateway = await GatewayHost.StartAsync(server, "owner@" + server.Domain);
        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.NewPageAsync(new BrowserNewContextOptions { Locale = "fi-FI" });
        await page.GotoAsync(gateway.BaseAddress.ToString());

        await Assertions.Expect(page.Locator("#guest-form button")).ToHaveTextAsync("Start chatting");
        Assert.Equal("en", await page.GetAttributeAsync("html", "lang"));
        Assert.Empty(chromium.Errors);
    }

    private static Dictionary<string, string> Texts(string language)
        => JsonSerializer.Deserialize<Dictionary<string, string>>(Resource($"texts-{language}.json"))
           ?? throw new InvalidOperationException($"texts-{language}.json is empty.");

    private static string Resource(string file)
    {
        using var stream = typeof(GatewayApp).Assembly.GetManifestResourceStream("Parley.Web.wwwroot." + file)
            ?? throw new InvalidOperationException($"wwwroot/{file} is not embedded in the gateway.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private static HashSet<string> Placeholders(string text)
        => [.. Placeholder().Matches(text).Select(match => match.Value)];

    [GeneratedRegex(@"\{\w+\}")]
    private static partial Regex Placeholder();

    [GeneratedRegex(@"data-t(?:-[a-z-]+)?=""(?<key>[a-zA-Z]+\.[a-zA-Z]+)""")]
    private static partial Regex MarkupKey();

    [GeneratedRegex(@"\bt\('(?<key>[a-zA-Z]+\.[a-zA-Z]+)'")]
    private static partial Regex ScriptKey();
}
