using System.Globalization;
using System.Net;
using System.Text.Json;
using Npgsql;
using Parley.Testing;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Web.Tests;

/// <summary>The whole gateway on PostgreSQL (a private PostgreSQL 15) against the private Prosody, over HTTP and XMPP.</summary>
[Collection(ServerFixture.CollectionName)]
public sealed class PostgresGatewayTests(ServerFixture servers, PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    [Fact]
    public async Task On_PostgreSQL_a_visitor_message_reaches_the_owner_and_the_reply_is_pushed_live_and_caught_up_later()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        var database = await postgres.CreateDatabaseAsync();
        await using var owner = await Owner.ConnectAsync(server);
        await using var gateway = await StartAsync(server, owner, database);
        using var alice = gateway.NewVisitor();
        Assert.Equal(HttpStatusCode.OK, (await alice.SignInAsGuestAsync("Alice on Postgres")).StatusCode);

        long lastSeq;
        Message atOwner;
        await using (var tab = await alice.OpenTabAsync())
        {
            var sent = await alice.SendAsync("Hello from PostgreSQL");
            Assert.Equal("pending", sent.State);
            atOwner = await owner.NextMessageAsync();
            Assert.Equal("Hello from PostgreSQL", atOwner.Body);
            Assert.Equal(Jid.Create(alice.Conversation!, server.ComponentDomain), atOwner.From!.Bare);
            await tab.NextMessageAsync(m => m.Id == sent.Id && m.State == "sent");

            var receipt = new Message { To = atOwner.From };
            receipt.AddChild("received", XmppNamespaces.Receipts).SetAttribute("id", atOwner.Id);
            await owner.Client.SendAsync(receipt);
            await owner.Client.SendAsync(atOwner.CreateReply("Reply through NOTIFY"));
            await tab.NextMessageAsync(m => m.Id == sent.Id && m.State == "delivered");
            lastSeq = (await tab.NextMessageAsync(m => m.From == "owner" && m.Text == "Reply through NOTIFY")).Seq;
        }

        // No tab open: stored anyway, and the next tab catches up from its Last-Event-ID.
        await owner.Client.SendAsync(atOwner.CreateReply("While you were away"));
        await WaitForHistoryAsync(alice, 3);
        await using (var back = await alice.OpenTabAsync(lastEventId: lastSeq.ToString(CultureInfo.InvariantCulture)))
        {
            var caughtUp = await back.NextMessageAsync(_ => true);
            Assert.Equal(("owner", "While you were away"), (caughtUp.From, caughtUp.Text));
        }

        Assert.Equal(["Hello from PostgreSQL", "Reply through NOTIFY", "While you were away"], (await alice.HistoryAsync()).Messages.Select(m => m.Text));

        // The rows are in PostgreSQL, and so is the cookie key ring (no key folder needed).
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT (SELECT count(*) FROM messages), (SELECT count(*) FROM data_protection_keys)", connection);
        await using var reader = await count.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal(3, reader.GetInt64(0));
        Assert.True(reader.GetInt64(1) >= 1);
    }

    [Fact]
    public async Task While_PostgreSQL_is_down_the_gateway_answers_503_and_loses_nothing_it_accepted()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        await using var database = await PostgresServer.StartNewAsync();
        await using var owner = await Owner.ConnectAsync(server);
        await using var gateway = await StartAsync(server, owner, await database.CreateDatabaseAsync());
        using var visitor = gateway.NewVisitor();
        await visitor.SignInAsGuestAsync("Patient");
        await visitor.SendAsync("accepted before the outage");
        var atOwner = await owner.NextMessageAsync();

        await database.StopAsync();
        using (var refused = await visitor.PostAsync($"/api/conversations/{visitor.Conversation}/messages", new { text = "during the outage" }))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.NotNull(refused.Headers.RetryAfter);
            var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal("The chat database is unavailable.", problem.GetProperty("title").GetString());
        }

        // The owner's reply cannot be stored: their client is told to try again, instead of the reply vanishing.
        var reply = atOwner.CreateReply("reply during the outage");
        reply.Id = "outage-reply";
        await owner.Client.SendAsync(reply);
        var bounce = await owner.NextAnyMessageAsync(m => m.Id == "outage-reply" && m.Type == MessageType.Error);
        Assert.Equal("resource-constraint", bounce.Error?.Condition);

        await database.StartAsync();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            using var retry = await visitor.PostAsync($"/api/conversations/{visitor.Conversation}/messages", new { text = "after the outage" });
            if (retry.StatusCode == HttpStatusCode.Accepted)
            {
                break;
            }

            Assert.Equal(HttpStatusCode.ServiceUnavailable, retry.StatusCode);
            Assert.True(DateTime.UtcNow < deadline, "The gateway did not recover after PostgreSQL came back.");
            await Task.Delay(200);
        }

        Assert.Equal("after the outage", (await owner.NextMessageAsync()).Body);
        var history = await WaitForHistoryAsync(visitor, 2);
        Assert.Equal(["accepted before the outage", "after the outage"], history.Select(m => m.Text));
    }

    private static Task<GatewayHost> StartAsync(XmppTestServer server, Owner owner, string connectionString) => StartConnectedAsync(
        server, owner.Account.Jid.ToString(), "--Parley:Database:Provider=PostgreSQL", $"--Parley:Database:ConnectionString={connectionString}");

    private static async Task<GatewayHost> StartConnectedAsync(XmppTestServer server, string owner, params string[] extra)
    {
        var gateway = await GatewayHost.StartAsync(server, owner, null, extra);
        try
        {
            await gateway.WaitConnectedAsync();
            return gateway;
        }
        catch
        {
            await gateway.DisposeAsync();
            throw;
        }
    }

    private static async Task<List<Visitor.Message>> WaitForHistoryAsync(Visitor visitor, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var messages = (await visitor.HistoryAsync()).Messages;
            if (messages.Count >= count && messages.All(m => m.State != "pending"))
            {
                return messages;
            }

            Assert.True(DateTime.UtcNow < deadline, $"Expected {count} stored, sent messages; have {messages.Count}.");
            await Task.Delay(50);
        }
    }
}
