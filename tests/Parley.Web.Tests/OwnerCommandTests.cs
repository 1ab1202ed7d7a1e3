using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Parley.Testing;
using Parley.Web.Xmpp;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Web.Tests;

/// <summary>
/// The owner's controls (XEP-0050 ad-hoc commands on the gateway's address) run by a real client, slixmpp's xep_0050,
/// against the real gateway and a harness server; the visitor's side is checked over HTTP.
/// </summary>
[Collection(ServerFixture.CollectionName)]
public sealed class OwnerCommandTests(ServerFixture servers)
{
    [Theory]
    [MemberData(nameof(Servers.Kinds), MemberType = typeof(Servers))]
    public async Task The_owner_and_an_administrator_run_the_commands_and_the_visitor_sees_their_effect(string kind)
    {
        var server = await servers.GetAsync(kind);
        var owner = await server.CreateAccountAsync();
        var admin = await server.CreateAccountAsync();
        await using var gateway = await GatewayHost.StartAsync(server, owner.Jid.ToString(), null, $"--Parley:Admins:0={admin.Jid}");
        await gateway.WaitConnectedAsync();
        using var alice = gateway.NewVisitor();
        Assert.Equal(HttpStatusCode.OK, (await alice.SignInAsGuestAsync("Alice Liddell")).StatusCode);
        var tab = await alice.OpenTabAsync(page: "https://shop.example/help?ticket=secret");
        await alice.SendAsync("Is anyone there?");
        await alice.SendAsync("Hello?");
        var id = alice.Conversation!;

        var ownerRun = await RunAsync(server, owner, """
            [{"list": true}, {"run": "parley-visitors"}, {"run": "parley-block", "fields": {"visitor": "ID", "block-address": "true"}}]
            """.Replace("ID", id, StringComparison.Ordinal));

        Assert.Equal(
            new[] { OwnerCommands.AwayNode, OwnerCommands.BlockNode, OwnerCommands.EndNode, OwnerCommands.UnblockNode, OwnerCommands.ActiveNode }.Order(StringComparer.Ordinal),
            ownerRun[0].GetProperty("commands").EnumerateArray().Select(n => n.GetString()!).Order(StringComparer.Ordinal));
        var active = ownerRun[1].GetProperty("first");
        Assert.Equal("completed", active.GetProperty("status").GetString());
        var row = Assert.Single(active.GetProperty("items").EnumerateArray());
        Assert.Equal("Alice Liddell", row.GetProperty("name").GetString());
        Assert.Equal("guest", row.GetProperty("signed-in").GetString());
        Assert.Equal("2", row.GetProperty("unanswered").GetString());
        Assert.Equal("https://shop.example/help", row.GetProperty("page").GetString());
        Assert.Equal(id, row.GetProperty("id").GetString());
        Assert.Contains("Alice Liddell (guest)", active.GetProperty("notes")[0].GetString(), StringComparison.Ordinal);

        var block = ownerRun[2];
        Assert.Equal("executing", block.GetProperty("first").GetProperty("status").GetString());
        Assert.Contains(id, block.GetProperty("first").GetProperty("fields").GetProperty("visitor").GetProperty("options").EnumerateArray().Select(o => o.GetString()));
        Assert.Equal("completed", block.GetProperty("final").GetProperty("status").GetString());
        Assert.StartsWith("Alice Liddell is blocked. Guests from their address are refused until", block.GetProperty("final").GetProperty("notes")[0].GetString(), StringComparison.Ordinal);

        // The open tab is ended; the next one is told the conversation is closed, and nothing more is accepted.
        Assert.True(await tab.EndsAsync(TimeSpan.FromSeconds(10)));
        await tab.DisposeAsync();
        await using (var closedTab = await alice.OpenTabAsync())
        {
            await closedTab.NextEventAsync("closed");
        }

        Assert.True((await alice.RefreshSessionAsync()).GetProperty("closed").GetBoolean());
        using (var refused = await alice.PostAsync($"/api/conversations/{id}/messages", new { text = "let me in" }))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.Equal("This conversation is closed.", (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("title").GetString());
        }

        // A new guest from the same address is refused while the address block lasts.
        using (var again = gateway.NewVisitor())
        {
            Assert.Equal(HttpStatusCode.Forbidden, (await again.SignInAsGuestAsync("Alice again")).StatusCode);
        }

        // The administrator lifts both blocks, ends the conversation and sets the away message.
        var adminRun = await RunAsync(server, admin, """
            [{"run": "parley-unblock", "fields": {"visitor": "visitor:ID"}}, {"run": "parley-unblock", "fields": {"visitor": "address:127.0.0.1"}},
             {"run": "parley-end", "fields": {"visitor": "ID"}}, {"run": "parley-away", "fields": {"message": "Back at nine."}}]
            """.Replace("ID", id, StringComparison.Ordinal));
        Assert.Contains("visitor:" + id, adminRun[0].GetProperty("first").GetProperty("fields").GetProperty("visitor").GetProperty("options").EnumerateArray().Select(o => o.GetString()));
        Assert.Contains("address:127.0.0.1", adminRun[0].GetProperty("first").GetProperty("fields").GetProperty("visitor").GetProperty("options").EnumerateArray().Select(o => o.GetString()));
        Assert.All(adminRun, step => Assert.Equal("completed", step.GetProperty("final").GetProperty("status").GetString()));
        Assert.Equal("The conversation with Alice Liddell has ended.", adminRun[2].GetProperty("final").GetProperty("notes")[0].GetString());

        var session = await alice.RefreshSessionAsync();
        Assert.False(session.GetProperty("closed").GetBoolean());
        Assert.Equal("Back at nine.", session.GetProperty("away").GetString());
        Assert.True(session.GetProperty("endedAfter").GetInt64() > 0);

        // The ended conversation is gone from the page; the visitor starts a new one.
        Assert.Empty((await alice.HistoryAsync()).Messages);
        await using var newTab = await alice.OpenTabAsync();
        Assert.Equal(session.GetProperty("endedAfter").GetInt64(), (await newTab.NextEventAsync("conversation")).GetProperty("endedAfter").GetInt64());
        var fresh = await alice.SendAsync("A new question");
        await newTab.NextMessageAsync(m => m.Id == fresh.Id);
        Assert.Equal(["A new question"], (await alice.HistoryAsync()).Messages.Select(m => m.Text));
        using (var guest = gateway.NewVisitor())
        {
            Assert.Equal(HttpStatusCode.OK, (await guest.SignInAsGuestAsync("Alice again")).StatusCode);
        }
    }

    [Theory]
    [MemberData(nameof(Servers.Kinds), MemberType = typeof(Servers))]
    public async Task Anyone_else_sees_no_commands_and_is_refused(string kind)
    {
        var server = await servers.GetAsync(kind);
        var owner = await server.CreateAccountAsync();
        var stranger = await server.CreateAccountAsync();
        await using var gateway = await GatewayHost.StartAsync(server, owner.Jid.ToString());
        await gateway.WaitConnectedAsync();
        using var alice = gateway.NewVisitor();
        await alice.SignInAsGuestAsync("Alice Liddell");
        await alice.SendAsync("private words");

        var run = await RunAsync(server, stranger, """
            [{"list": true}, {"run": "parley-visitors"}, {"run": "parley-block"}, {"run": "parley-away"}]
            """);

        Assert.Empty(run[0].GetProperty("commands").EnumerateArray());
        Assert.All(run.Skip(1), step => Assert.Equal("forbidden", step.GetProperty("error").GetString()));
        Assert.DoesNotContain("Alice", JsonSerializer.Serialize(run), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_message_the_owners_server_bounces_after_a_blocking_command_is_shown_as_not_delivered()
    {
        // Prosody: the harness loads mod_blocklist (XEP-0191); ejabberd's configuration has no blocking module.
        var server = await servers.GetAsync(Servers.Prosody);
        await using var owner = await Owner.ConnectAsync(server);
        await using var gateway = await GatewayHost.StartAsync(server, owner.Account.Jid.ToString());
        await gateway.WaitConnectedAsync();
        using var alice = gateway.NewVisitor();
        await alice.SignInAsGuestAsync("Alice Liddell");
        await using var tab = await alice.OpenTabAsync();
        var first = await alice.SendAsync("before the block");
        await owner.NextMessageAsync(m => m.Body == "before the block");
        await tab.NextMessageAsync(m => m.Id == first.Id && m.State == "sent");

        // The owner blocks the visitor's address with their client's ordinary blocking command.
        var visitorJid = Jid.Create(alice.Conversation!, server.ComponentDomain);
        var block = new Iq(IqType.Set);
        block.AddChild("block", "urn:xmpp:blocking").AddChild("item").SetAttribute("jid", visitorJid.ToString());
        await owner.Client.SendIqAsync(block);

        var second = await alice.SendAsync("after the block");
        await tab.NextMessageAsync(m => m.Id == second.Id && m.State == "undelivered", TimeSpan.FromSeconds(15));
        var history = await alice.HistoryAsync();
        Assert.Equal(["sent", "undelivered"], history.Messages.Select(m => m.State));
    }

    /// <summary>Runs the steps with slixmpp as <paramref name="account"/> against the gateway's component address; one JSON result per step.</summary>
    internal static async Task<JsonElement[]> RunAsync(XmppTestServer server, TestAccount account, string steps)
    {
        await using var slixmpp = await SlixmppOwner.StartAsync(server, account, "slixmpp_commands.py", waitForReady: false, server.ComponentDomain, steps);
        return (await slixmpp.ResultAsync()).EnumerateArray().ToArray();
    }
}
