using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Parley.Testing;
using Parley.Web.Xmpp;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;

namespace Parley.Web.Tests;

/// <summary>
/// Message states over HTTP with the owner as a real XMPP client: chat markers (XEP-0333) from the owner and from
/// strangers, and a client id that makes a retried POST store the message once.
/// </summary>
[Collection(ServerFixture.CollectionName)]
public sealed class ChatMarkerTests(ServerFixture servers)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    [Theory]
    [MemberData(nameof(Servers.Kinds), MemberType = typeof(Servers))]
    public async Task The_owners_displayed_marker_makes_messages_seen_and_a_strangers_marker_changes_nothing(string kind)
    {
        var server = await servers.GetAsync(kind);
        await using var owner = await Owner.ConnectAsync(server);
        await using var gateway = await GatewayHost.StartAsync(server, owner.Account.Jid.ToString());
        await gateway.WaitConnectedAsync();
        using var alice = gateway.NewVisitor();
        await alice.SignInAsGuestAsync("Alice");
        await using var tab = await alice.OpenTabAsync();
        var visitorJid = Jid.Create(alice.Conversation!, server.ComponentDomain);
        Assert.True((await owner.Client.Disco.QueryInfoAsync(visitorJid)).Supports(ChatMarkers.Namespace));

        var first = await alice.SendAsync("first");
        var firstAtOwner = await owner.NextMessageAsync(m => m.Body == "first");
        var second = await alice.SendAsync("second");
        var secondAtOwner = await owner.NextMessageAsync(m => m.Body == "second");
        Assert.NotNull(secondAtOwner.Element("markable", ChatMarkers.Namespace));
        await tab.NextMessageAsync(m => m.Id == second.Id && m.State == "sent");

        // One displayed for the second message covers the first (XEP-0333: earlier messages were displayed too).
        await owner.Client.SendAsync(Marker(visitorJid, "displayed", secondAtOwner.Id!));
        await tab.NextMessageAsync(m => m.Id == first.Id && m.State == "seen");
        await tab.NextMessageAsync(m => m.Id == second.Id && m.State == "seen");
        Assert.NotNull(firstAtOwner.Id);

        // A late receipt does not take a seen message back.
        var receipt = new Message { To = visitorJid };
        receipt.AddChild("received", XmppNamespaces.Receipts).SetAttribute("id", firstAtOwner.Id!);
        await owner.Client.SendAsync(receipt);

        // A stranger's marker is refused (the error shows it was handled) and changes nothing.
        var third = await alice.SendAsync("third");
        var thirdAtOwner = await owner.NextMessageAsync(m => m.Body == "third");
        await tab.NextMessageAsync(m => m.Id == third.Id && m.State == "sent");
        await using (var stranger = await Owner.ConnectAsync(server))
        {
            var forged = Marker(visitorJid, "displayed", thirdAtOwner.Id!);
            forged.Id = "forged-1";
            await stranger.Client.SendAsync(forged);
            Assert.Equal("not-allowed", (await stranger.NextAnyMessageAsync(m => m.Id == "forged-1")).Error?.Condition);
        }

        Assert.Equal(["seen", "seen", "sent"], (await alice.HistoryAsync()).Messages.Select(m => m.State));

        // The owner's "received" marker counts as a receipt; "acknowledged" as displayed.
        await owner.Client.SendAsync(Marker(visitorJid, "received", thirdAtOwner.Id!));
        await tab.NextMessageAsync(m => m.Id == third.Id && m.State == "delivered");
        await owner.Client.SendAsync(Marker(visitorJid, "acknowledged", thirdAtOwner.Id!));
        await tab.NextMessageAsync(m => m.Id == third.Id && m.State == "seen");
        Assert.Equal(["seen", "seen", "seen"], (await alice.HistoryAsync()).Messages.Select(m => m.State));
    }

    [Fact]
    public async Task Posting_the_same_client_id_twice_stores_one_message_that_reaches_the_owner_once()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        await using var owner = await Owner.ConnectAsync(server);
        await using var gateway = await GatewayHost.StartAsync(server, owner.Account.Jid.ToString());
        await gateway.WaitConnectedAsync();
        using var bob = gateway.NewVisitor();
        await bob.SignInAsGuestAsync("Bob");
        var path = $"/api/conversations/{bob.Conversation}/messages";

        // The page lost the answer to its first POST and sends the same message again.
        using var firstPost = await bob.PostAsync(path, new { text = "only once", clientId = "3f2a9c" });
        using var retry = await bob.PostAsync(path, new { text = "only once", clientId = "3f2a9c" });
        Assert.Equal(HttpStatusCode.Accepted, firstPost.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, retry.StatusCode);
        var stored = (await firstPost.Content.ReadFromJsonAsync<Visitor.Message>(Json))!;
        Assert.Equal(stored.Id, (await retry.Content.ReadFromJsonAsync<Visitor.Message>(Json))!.Id);
        Assert.Equal("3f2a9c", stored.ClientId);

        // The same id for other text is a client's mistake; ids outside the format are refused.
        using (var other = await bob.PostAsync(path, new { text = "something else", clientId = "3f2a9c" }))
        {
            Assert.Equal(HttpStatusCode.Conflict, other.StatusCode);
        }

        foreach (var bad in new[] { "", "has space", "<x>", new string('a', 65) })
        {
            using var refused = await bob.PostAsync(path, new { text = "bad id", clientId = bad });
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        }

        // Everything after the first copy reached the owner: there was only one.
        await bob.SendAsync("after");
        Assert.Equal("only once", (await owner.NextMessageAsync()).Body);
        Assert.Equal("after", (await owner.NextMessageAsync()).Body);
        Assert.DoesNotContain(owner.DrainMessages(), m => m.Body is not null);
        Assert.Equal(["only once", "after"], (await bob.HistoryAsync()).Messages.Select(m => m.Text));
    }

    [Theory]
    [MemberData(nameof(Servers.Kinds), MemberType = typeof(Servers))]
    public async Task In_account_mode_markers_travel_both_ways_and_a_reply_is_reported_displayed_once(string kind)
    {
        var server = await servers.GetAsync(kind);
        await using var owner = await Owner.ConnectAsync(server);
        await using var gateway = await GatewayHost.StartAsync(
            server,
            owner.Account.Jid.ToString(),
            null,
            "--Parley:Mode=Account",
            $"--Parley:Accounts:Domain={server.Domain}",
            $"--Parley:Accounts:Host={server.Host}",
            $"--Parley:Accounts:Port={server.ClientPort}",
            $"--Parley:Accounts:CertificateSha256={server.CertificateSha256}",
            "--Parley:Accounts:Provisioning=AdminCommand",
            $"--Parley:Accounts:AdminJid={server.AdminJid}",
            $"--Parley:Accounts:AdminPassword={server.AdminPassword}");
        await gateway.WaitConnectedAsync();
        using var carol = gateway.NewVisitor();
        await carol.SignInAsGuestAsync("Carol");
        await using var tab = await carol.OpenTabAsync();

        var sent = await carol.SendAsync("hello from an account");
        var atOwner = await owner.NextMessageAsync(m => m.Body == "hello from an account");
        Assert.NotNull(atOwner.Element("markable", ChatMarkers.Namespace));
        await owner.Client.SendAsync(Marker(atOwner.From!.Bare, "displayed", atOwner.Id!));
        await tab.NextMessageAsync(m => m.Id == sent.Id && m.State == "seen");

        // A markable reply, then a plain one after it: the tab reports the newest; the one displayed names the markable one.
        var markable = atOwner.CreateReply("markable reply");
        markable.AddChild("markable", ChatMarkers.Namespace);
        await owner.Client.SendAsync(markable);
        await owner.Client.SendAsync(atOwner.CreateReply("plain reply"));
        await tab.NextMessageAsync(m => m.Text == "markable reply");
        var plain = await tab.NextMessageAsync(m => m.Text == "plain reply");
        var path = $"/api/conversations/{carol.Conversation}/displayed";
        using (var shown = await carol.PostAsync(path, new { id = plain.Id }))
        {
            Assert.Equal(HttpStatusCode.NoContent, shown.StatusCode);
        }

        var marker = await owner.NextAnyMessageAsync(m => m.Element("displayed", ChatMarkers.Namespace) is not null);
        Assert.Equal(markable.Id, marker.Element("displayed", ChatMarkers.Namespace)!.GetAttribute("id"));
        Assert.Equal(atOwner.From!.Bare, marker.From!.Bare);
        await tab.NextMessageAsync(m => m.Id == plain.Id && m.State == "seen");

        // Asked again (another tab, a reload): nothing more reaches the owner.
        using (var again = await carol.PostAsync(path, new { id = plain.Id }))
        {
            Assert.Equal(HttpStatusCode.NoContent, again.StatusCode);
        }

        using (var bad = await carol.PostAsync(path, new { id = 0 }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        }

        await carol.SendAsync("after");
        await owner.NextMessageAsync(m => m.Body == "after");
        Assert.DoesNotContain(owner.DrainMessages(), m => m.Element("displayed", ChatMarkers.Namespace) is not null);
    }

    [Fact]
    public async Task With_displayed_markers_off_a_shown_reply_is_seen_but_the_owner_is_not_told()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        await using var owner = await Owner.ConnectAsync(server);
        await using var gateway = await GatewayHost.StartAsync(server, owner.Account.Jid.ToString(), null, "--Parley:DisplayedMarkers=false");
        await gateway.WaitConnectedAsync();
        using var dan = gateway.NewVisitor();
        await dan.SignInAsGuestAsync("Dan");
        await using var tab = await dan.OpenTabAsync();
        await dan.SendAsync("question");
        var atOwner = await owner.NextMessageAsync();
        var reply = atOwner.CreateReply("answer");
        reply.AddChild("markable", ChatMarkers.Namespace);
        await owner.Client.SendAsync(reply);
        var stored = await tab.NextMessageAsync(m => m.From == "owner");

        using (var shown = await dan.PostAsync($"/api/conversations/{dan.Conversation}/displayed", new { id = stored.Id }))
        {
            Assert.Equal(HttpStatusCode.NoContent, shown.StatusCode);
        }

        await tab.NextMessageAsync(m => m.Id == stored.Id && m.State == "seen");

        // The visitor's next message travels the same way a marker would have, after it.
        await dan.SendAsync("after");
        await owner.NextMessageAsync(m => m.Body == "after");
        Assert.DoesNotContain(owner.DrainMessages(), m => m.Element("displayed", ChatMarkers.Namespace) is not null);
    }

    private static Message Marker(Jid to, string name, string id)
    {
        var marker = new Message { To = to, Type = MessageType.Chat };
        marker.AddChild(name, ChatMarkers.Namespace).SetAttribute("id", id);
        return marker;
    }
}
