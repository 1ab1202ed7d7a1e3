using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;
using Parley.Testing;
using Parley.Xmpp;
using Parley.Xmpp.Profiles;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Web.Tests;

/// <summary>
/// Who the visitor talks to, in headless Chromium with a real owner: the name and avatar of the owner's own XMPP profile
/// (vCard-temp on Prosody and ejabberd, PEP on Prosody), followed when the owner changes them, the owner's status text,
/// neutral wording without a profile, and the configuration's overrides. <c>PARLEY_SCREENSHOTS=docs</c> writes
/// <c>web-chat-owner.png</c>.
/// </summary>
[Collection(ServerFixture.CollectionName)]
public sealed class OwnerProfileTests(ServerFixture servers)
{
    private static readonly byte[] BluePng = TestImages.Png(96, (30, 64, 175), (250, 204, 21));
    private static readonly byte[] GreenPng = TestImages.Png(96, (21, 128, 61), (255, 255, 255));

    [Theory]
    [MemberData(nameof(Servers.Kinds), MemberType = typeof(Servers))]
    public async Task A_new_visitor_sees_the_owners_vcard_name_avatar_and_status_and_the_open_page_follows_a_change(string kind)
    {
        var server = await servers.GetAsync(kind);
        await using var owner = await Owner.ConnectAsync(server);
        await SetVCardAsync(owner, "Alex Example", "Alex", BluePng);
        await using var gateway = await GatewayHost.StartAsync(server, owner.Account.Jid.ToString());
        await gateway.WaitConnectedAsync();
        await owner.ApproveGatewayAsync(server.ComponentDomain);
        await SendPresenceAsync(owner, "In the shop until five", BluePng);

        await using var chromium = await Chromium.LaunchAsync();
        var page = await PageFeatureTests.SignInAsync(chromium, gateway, "Robin");
        await Assertions.Expect(page.Locator("#owner-presence")).ToHaveTextAsync("Alex is online");
        await Assertions.Expect(page.Locator("#owner-status")).ToHaveTextAsync("“In the shop until five”");
        var avatar = page.Locator("#owner-avatar");
        await Assertions.Expect(avatar).ToBeVisibleAsync();
        await Assertions.Expect(avatar).ToHaveAttributeAsync("alt", "Picture of Alex");
        Assert.True(await avatar.EvaluateAsync<bool>("img => img.complete && img.naturalWidth === 96"), "the avatar is loaded");
        Assert.Equal(BluePng, await FetchAvatarAsync(gateway, await avatar.GetAttributeAsync("src")));
        if (kind == Servers.Prosody)
        {
            await page.FillAsync("#text", "Hello! Do you still have the blue teapot?");
            await page.PressAsync("#text", "Enter");
            var visitor = (await owner.NextMessageAsync()).From!.Bare;
            await owner.Client.SendAsync(new Message(visitor, "Hi Robin, yes — one left. Shall I keep it for you?") { Type = MessageType.Chat });
            await Assertions.Expect(page.Locator("#messages li.owner")).ToHaveCountAsync(1);
            await page.SetViewportSizeAsync(640, 400);
            await ScreenshotAsync(page, "web-chat-owner.png");
        }

        // With the avatar and status shown, the header still fits a 360 px phone and passes axe, light and dark.
        await page.SetViewportSizeAsync(360, 640);
        Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= 360"), "the header scrolls sideways at 360 px");
        AccessibilityTests.AssertNoSeriousViolations("owner profile", await page.RunAxe());
        await page.EmulateMediaAsync(new PageEmulateMediaOptions { ColorScheme = ColorScheme.Dark });
        AccessibilityTests.AssertNoSeriousViolations("owner profile, dark", await page.RunAxe());

        // The owner's client stores a new vCard and announces the new photo in its presence (XEP-0153): the open page follows.
        await SetVCardAsync(owner, "Sam Example", "Sam", GreenPng);
        await SendPresenceAsync(owner, null, GreenPng, PresenceShow.Away);
        await Assertions.Expect(page.Locator("#owner-presence")).ToHaveTextAsync("Sam is away — leave a message");
        await Assertions.Expect(page.Locator("#owner-status")).ToBeHiddenAsync();
        await Assertions.Expect(avatar).ToHaveAttributeAsync("alt", "Picture of Sam");
        await Assertions.Expect(avatar).ToHaveAttributeAsync("src", new System.Text.RegularExpressions.Regex("v="));
        await WaitAsync(async () =>
        {
            var bytes = await FetchAvatarAsync(gateway, await avatar.GetAttributeAsync("src"));
            return bytes.AsSpan().SequenceEqual(GreenPng);
        });
        Assert.Empty(chromium.Errors);
    }

    [Fact]
    public async Task A_pep_nick_and_avatar_are_shown_and_changes_arrive_as_pep_notifications()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        await using var owner = await Owner.ConnectAsync(server);
        await PublishAsync(owner, ContactProfiles.NickNamespace, "current", new XmppElement("nick", ContactProfiles.NickNamespace) { Text = "Kim" });
        var id = Convert.ToHexStringLower(SHA1.HashData(GreenPng));
        await PublishAsync(owner, ContactProfiles.AvatarDataNamespace, id, new XmppElement("data", ContactProfiles.AvatarDataNamespace) { Text = Convert.ToBase64String(GreenPng) });
        var metadata = new XmppElement("metadata", ContactProfiles.AvatarMetadataNamespace);
        metadata.AddChild("info", ContactProfiles.AvatarMetadataNamespace).SetAttribute("id", id).SetAttribute("type", "image/png")
            .SetAttribute("bytes", GreenPng.Length.ToString(CultureInfo.InvariantCulture));
        await PublishAsync(owner, ContactProfiles.AvatarMetadataNamespace, id, metadata);
        await using var gateway = await GatewayHost.StartAsync(server, owner.Account.Jid.ToString());
        await gateway.WaitConnectedAsync();

        // The nodes are open to presence subscribers (PEP's default): the gateway reads them once the owner approved it.
        await owner.ApproveGatewayAsync(server.ComponentDomain);
        await owner.Client.SendPresenceAsync();
        await using var chromium = await Chromium.LaunchAsync();
        var page = await PageFeatureTests.SignInAsync(chromium, gateway, "Jo");
        await Assertions.Expect(page.Locator("#owner-presence")).ToHaveTextAsync("Kim is online");
        await Assertions.Expect(page.Locator("#owner-avatar")).ToBeVisibleAsync();
        Assert.Equal(GreenPng, await FetchAvatarAsync(gateway, await page.Locator("#owner-avatar").GetAttributeAsync("src")));

        // The gateway's caps ask for nick and avatar notifications (+notify): a new nick or avatar arrives without any
        // presence from the owner, long before the periodic read (15 minutes by default).
        await PublishAsync(owner, ContactProfiles.NickNamespace, "current", new XmppElement("nick", ContactProfiles.NickNamespace) { Text = "Kim B." });
        await Assertions.Expect(page.Locator("#owner-presence")).ToHaveTextAsync("Kim B. is online");
        var newId = Convert.ToHexStringLower(SHA1.HashData(BluePng));
        await PublishAsync(owner, ContactProfiles.AvatarDataNamespace, newId, new XmppElement("data", ContactProfiles.AvatarDataNamespace) { Text = Convert.ToBase64String(BluePng) });
        var newMetadata = new XmppElement("metadata", ContactProfiles.AvatarMetadataNamespace);
        newMetadata.AddChild("info", ContactProfiles.AvatarMetadataNamespace).SetAttribute("id", newId).SetAttribute("type", "image/png")
            .SetAttribute("bytes", BluePng.Length.ToString(CultureInfo.InvariantCulture));
        await PublishAsync(owner, ContactProfiles.AvatarMetadataNamespace, newId, newMetadata);
        await Assertions.Expect(page.Locator("#owner-avatar")).ToHaveAttributeAsync("src", new System.Text.RegularExpressions.Regex("v="));
        await WaitAsync(async () =>
        {
            var bytes = await FetchAvatarAsync(gateway, await page.Locator("#owner-avatar").GetAttributeAsync("src"));
            return bytes.AsSpan().SequenceEqual(BluePng);
        });
        Assert.Empty(chromium.Errors);
    }

    [Fact]
    public async Task A_new_vcard_nickname_announced_nowhere_arrives_with_the_periodic_read()
    {
        var server = await servers.GetAsync(Servers.Ejabberd);
        await using var owner = await Owner.ConnectAsync(server);
        await SetVCardAsync(owner, "Pat Example", "Pat", BluePng);
        await using var gateway = await GatewayHost.StartAsync(server, owner.Account.Jid.ToString(), null, "--Parley:OwnerProfileRefresh=00:00:02");
        await gateway.WaitConnectedAsync();
        await owner.ApproveGatewayAsync(server.ComponentDomain);
        await owner.Client.SendPresenceAsync();
        await using var chromium = await Chromium.LaunchAsync();
        var page = await PageFeatureTests.SignInAsync(chromium, gateway, "Ash");
        await Assertions.Expect(page.Locator("#owner-presence")).ToHaveTextAsync("Pat is online");

        // ejabberd here has no PEP and the owner sends no presence: only the periodic read can find the new name.
        await SetVCardAsync(owner, "Pat Example", "Pat B.", BluePng);
        await Assertions.Expect(page.Locator("#owner-presence")).ToHaveTextAsync("Pat B. is online");
        Assert.Empty(chromium.Errors);
    }

    [Fact]
    public async Task Without_a_profile_the_wording_is_neutral_and_the_configured_name_and_avatar_win_over_the_profile()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        await using var owner = await Owner.ConnectAsync(server);
        await using var chromium = await Chromium.LaunchAsync();
        await using (var plain = await GatewayHost.StartAsync(server, owner.Account.Jid.ToString()))
        {
            await plain.WaitConnectedAsync();
            await owner.ApproveGatewayAsync(server.ComponentDomain);
            await owner.Client.SendPresenceAsync();
            var page = await PageFeatureTests.SignInAsync(chromium, plain, "Lee");
            await Assertions.Expect(page.Locator("#owner-presence")).ToHaveTextAsync("Online");
            await Assertions.Expect(page.Locator("#owner-avatar")).ToBeHiddenAsync();
            await Assertions.Expect(page.Locator("#owner-status")).ToBeHiddenAsync();
            using var http = new HttpClient { BaseAddress = plain.BaseAddress };
            Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(new Uri("/api/owner/avatar", UriKind.Relative))).StatusCode);

            // Closed before its gateway stops: the page would try to reconnect to it.
            await page.CloseAsync();
        }

        await SetVCardAsync(owner, "Profile Name", "Profile", BluePng);
        var file = Path.Combine(Directory.CreateTempSubdirectory("parley-avatar-").FullName, "me.png");
        await File.WriteAllBytesAsync(file, GreenPng);
        await using var gateway = await GatewayHost.StartAsync(server, owner.Account.Jid.ToString(), null, "--Parley:OwnerName=Alex", $"--Parley:OwnerAvatar={file}");
        await gateway.WaitConnectedAsync();
        await owner.Client.SendPresenceAsync(PresenceShow.Online, "back soon");
        var overridden = await PageFeatureTests.SignInAsync(chromium, gateway, "Max");
        await Assertions.Expect(overridden.Locator("#owner-status")).ToHaveTextAsync("“back soon”");
        await Assertions.Expect(overridden.Locator("#owner-presence")).ToHaveTextAsync("Alex is online");
        Assert.Equal(GreenPng, await FetchAvatarAsync(gateway, await overridden.Locator("#owner-avatar").GetAttributeAsync("src")));
        Assert.Empty(chromium.Errors);
    }

    /// <summary>Fetches the avatar as the page does, and checks how it is served (type, no sniffing, revalidation by tag).</summary>
    private static async Task<byte[]> FetchAvatarAsync(GatewayHost gateway, string? src)
    {
        Assert.NotNull(src);
        using var http = new HttpClient { BaseAddress = gateway.BaseAddress };
        using var response = await http.GetAsync(new Uri(src, UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("image/png", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("nosniff", string.Join(",", response.Headers.GetValues("X-Content-Type-Options")));
        var etag = response.Headers.ETag;
        Assert.NotNull(etag);
        using var again = new HttpRequestMessage(HttpMethod.Get, new Uri(src, UriKind.Relative));
        again.Headers.IfNoneMatch.Add(etag);
        using var notModified = await http.SendAsync(again);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        return await response.Content.ReadAsByteArrayAsync();
    }

    private static async Task WaitAsync(Func<Task<bool>> condition)
    {
        for (var attempt = 0; !await condition(); attempt++)
        {
            Assert.True(attempt < 50, "the condition did not hold within 10 seconds");
            await Task.Delay(200);
        }
    }

    private static Task SetVCardAsync(Owner owner, string fullName, string nickname, byte[] png)
    {
        var vcard = new XmppElement("vCard", ContactProfiles.VCardNamespace);
        vcard.AddChild("FN", ContactProfiles.VCardNamespace, fullName);
        vcard.AddChild("NICKNAME", ContactProfiles.VCardNamespace, nickname);
        var photo = vcard.AddChild("PHOTO", ContactProfiles.VCardNamespace);
        photo.AddChild("TYPE", ContactProfiles.VCardNamespace, "image/png");
        photo.AddChild("BINVAL", ContactProfiles.VCardNamespace, Convert.ToBase64String(png, Base64FormattingOptions.InsertLineBreaks));
        return owner.Client.SendIqAsync(new Iq(IqType.Set, null, vcard));
    }

    /// <summary>An available presence carrying the photo's hash (XEP-0153), as vCard-based clients send it.</summary>
    private static Task SendPresenceAsync(Owner owner, string? status, byte[] photo, PresenceShow show = PresenceShow.Online)
    {
        var presence = new Presence { Show = show, Status = status };
        presence.AddChild("x", ContactProfiles.VCardUpdateNamespace)
            .AddChild("photo", ContactProfiles.VCardUpdateNamespace, Convert.ToHexStringLower(SHA1.HashData(photo)));
        return owner.Client.SendAsync(presence);
    }

    /// <summary>Publishes to one of the owner's PEP nodes with the server's default access model.</summary>
    private static Task PublishAsync(Owner owner, string node, string itemId, XmppElement payload)
    {
        const string PubSub = "http://jabber.org/protocol/pubsub";
        var pubsub = new XmppElement("pubsub", PubSub);
        pubsub.AddChild("publish", PubSub).SetAttribute("node", node).AddChild("item", PubSub).SetAttribute("id", itemId).Add(payload);
        return owner.Client.SendIqAsync(new Iq(IqType.Set, null, pubsub));
    }

    private static async Task ScreenshotAsync(IPage page, string name)
    {
        if (Environment.GetEnvironmentVariable("PARLEY_SCREENSHOTS") is { Length: > 0 } directory)
        {
            Directory.CreateDirectory(directory);
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(directory, name) });
        }
    }
}
