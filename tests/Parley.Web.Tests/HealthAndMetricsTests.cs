using System.Diagnostics.Metrics;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Parley.Testing;
using Parley.Web.Diagnostics;

namespace Parley.Web.Tests;

/// <summary><c>/healthz</c> (XMPP link and database) and the gateway's counters in the standard .NET metrics.</summary>
[Collection(ServerFixture.CollectionName)]
public sealed class HealthAndMetricsTests(ServerFixture servers)
{
    [Fact]
    public async Task Healthz_reports_each_check_and_says_unhealthy_when_the_database_is_broken()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        await using var owner = await Owner.ConnectAsync(server);
        var folder = Path.Combine(Path.GetTempPath(), "parley-web-tests", Guid.NewGuid().ToString("N"));
        await using var gateway = await GatewayHost.StartAsync(server, owner.Account.Jid.ToString(), Path.Combine(folder, "chat.db"));
        await gateway.WaitConnectedAsync();
        using var http = new HttpClient { BaseAddress = gateway.BaseAddress };

        using (var response = await http.GetAsync("/healthz"))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal("Healthy", body.RootElement.GetProperty("status").GetString());
            Assert.Equal("Healthy", body.RootElement.GetProperty("checks").GetProperty("xmpp").GetProperty("status").GetString());
            Assert.Equal("Healthy", body.RootElement.GetProperty("checks").GetProperty("database").GetProperty("status").GetString());
        }

        // The database file is damaged (a disk error, a bad restore): its header no longer says SQLite. Closing the
        // pooled connections first folds the write-ahead log into the file, so the next connection reads the damage.
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        await using (var file = new FileStream(Path.Combine(folder, "chat.db"), FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
        {
            await file.WriteAsync(Enumerable.Repeat((byte)0xA5, 4096).ToArray());
        }

        using (var response = await http.GetAsync("/healthz"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            var text = await response.Content.ReadAsStringAsync();
            using var body = JsonDocument.Parse(text);
            Assert.Equal("Unhealthy", body.RootElement.GetProperty("status").GetString());
            var database = body.RootElement.GetProperty("checks").GetProperty("database");
            Assert.Equal("Unhealthy", database.GetProperty("status").GetString());
            Assert.Equal("Database does not answer.", database.GetProperty("description").GetString());
            Assert.DoesNotContain("SqliteException", text, StringComparison.Ordinal);
            Assert.Equal("Healthy", body.RootElement.GetProperty("checks").GetProperty("xmpp").GetProperty("status").GetString());
        }
    }

    [Theory]
    [InlineData("00:10:00", HttpStatusCode.OK, "Degraded")]
    [InlineData("00:00:00", HttpStatusCode.ServiceUnavailable, "Unhealthy")]
    public async Task A_link_that_is_down_is_degraded_first_and_unhealthy_after_the_configured_time(string after, HttpStatusCode code, string status)
    {
        var server = await servers.GetAsync(Servers.Prosody);
        await using var gateway = await GatewayHost.StartAsync(
            server, "owner@" + server.Domain, null, "--Parley:Component:Secret=wrong-secret", $"--Parley:XmppDownUnhealthyAfter={after}");
        using var visitor = gateway.NewVisitor();
        Assert.Equal((code, status), await visitor.HealthAsync());
    }

    [Fact]
    public async Task Sign_ins_messages_both_ways_and_active_visitors_are_counted()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        await using var owner = await Owner.ConnectAsync(server);
        await using var gateway = await GatewayHost.StartAsync(server, owner.Account.Jid.ToString());
        await gateway.WaitConnectedAsync();
        var meters = gateway.Services.GetRequiredService<IMeterFactory>();
        using var signIns = new MetricCollector<long>(meters, GatewayMetrics.MeterName, "parley.web.sign_ins");
        using var activeVisitors = new MetricCollector<long>(meters, GatewayMetrics.MeterName, "parley.web.visitors.active");
        using var messages = new MetricCollector<long>(meters, GatewayMetrics.MeterName, "parley.web.messages");
        using var files = new MetricCollector<long>(meters, GatewayMetrics.MeterName, "parley.web.files");

        using var visitor = gateway.NewVisitor();
        await visitor.SignInAsGuestAsync("Counted");
        Assert.Equal(1, signIns.Sum(("method", "guest")));

        await using (var tab = await visitor.OpenTabAsync())
        {
            await using var secondTab = await visitor.OpenTabAsync();
            Assert.Equal(1, activeVisitors.Sum());

            var sent = await visitor.SendAsync("count me");
            var atOwner = await owner.NextMessageAsync();
            await tab.NextMessageAsync(m => m.Id == sent.Id && m.State == "sent");
            Assert.Equal(1, messages.Sum(("direction", "to_owner")));

            await owner.Client.SendAsync(atOwner.CreateReply("counted"));
            await tab.NextMessageAsync(m => m.From == "owner");
            Assert.Equal(1, messages.Sum(("direction", "to_visitor")));

            // Files both ways: the visitor's upload, and the owner's link with jabber:x:oob.
            using var upload = new HttpRequestMessage(HttpMethod.Post, $"/api/conversations/{visitor.Conversation}/files") { Content = new ByteArrayContent([1, 2, 3]) };
            upload.Headers.Add(Api.FileApi.NameHeader, "counted.bin");
            upload.Headers.Add("X-CSRF-TOKEN", visitor.Csrf);
            using (var uploaded = await visitor.Http.SendAsync(upload))
            {
                Assert.Equal(HttpStatusCode.Accepted, uploaded.StatusCode);
            }

            Assert.Equal(1, files.Sum(("direction", "to_owner")));
            await owner.Client.SendAsync(Parley.Xmpp.Upload.OutOfBand.CreateLinkMessage(atOwner.From!.Bare, new Uri("https://upload.example.org/s/k/counted.pdf")));
            await tab.NextMessageAsync(m => m.From == "owner" && m.Text.EndsWith("counted.pdf", StringComparison.Ordinal));
            Assert.Equal(1, files.Sum(("direction", "to_visitor")));
        }

        // Both tabs closed: the visitor is no longer active (the hub notices the closed streams).
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (activeVisitors.Sum() != 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "The active-visitor count did not go back to 0.");
            await Task.Delay(50);
        }
    }
}
