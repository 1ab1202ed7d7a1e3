using System.Diagnostics.Metrics;
using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Parley.Testing;

namespace Parley.Bots.Tests;

/// <summary>The bot host's counters (meter <c>Parley.Bots</c>) while a real user talks to the report bot.</summary>
[Collection(ServerFixture.CollectionName)]
public sealed class BotMetricsTests(ServerFixture servers) : IDisposable
{
    private readonly string _reports = Directory.CreateTempSubdirectory("parley-reports-").FullName;

    [Fact]
    public async Task Messages_report_outcomes_and_delivered_bytes_are_counted_per_bot()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        await File.WriteAllBytesAsync(Path.Combine(_reports, "1234.pdf"), RandomNumberGenerator.GetBytes(10_000));
        var settings = new Dictionary<string, string?> { ["Parley:Bots:counted:Report:Folder"] = _reports };
        var bot = await BotHost.ConfigureAsync(settings, server, "counted", "Report");
        await using var host = await BotHost.StartAsync(settings);
        var meters = host.Services.GetRequiredService<IMeterFactory>();
        using var messages = new MetricCollector<long>(meters, BotMetrics.MeterName, "parley.bots.messages");
        using var reports = new MetricCollector<long>(meters, BotMetrics.MeterName, "parley.bots.reports");
        using var transfers = new MetricCollector<long>(meters, BotMetrics.MeterName, "parley.bots.transfers");
        using var transferBytes = new MetricCollector<long>(meters, BotMetrics.MeterName, "parley.bots.transfer.bytes");
        await using var user = await Person.ConnectAsync(server);

        await user.SayAsync(bot.Jid, "1234");
        Assert.Equal("Fetching report 1234…", await user.NextBodyAsync());
        Assert.Equal("Sending 1234.pdf (9.8 KB)…", await user.NextBodyAsync());
        Assert.Contains("link", await user.NextBodyAsync(), StringComparison.Ordinal);
        await user.NextAsync();
        await user.SayAsync(bot.Jid, "9999");
        Assert.Equal("Fetching report 9999…", await user.NextBodyAsync());
        Assert.Equal("No report for project 9999.", await user.NextBodyAsync());
        await user.Client.SendAsync(new Xmpp.Stanzas.Message(bot.Jid, "news", Xmpp.Stanzas.MessageType.Headline));
        await user.SayAsync(bot.Jid, "help");
        await user.NextBodyAsync();

        Assert.Equal(3, messages.Sum(("bot", "counted"), ("verdict", "accepted")));
        Assert.Equal(1, messages.Sum(("bot", "counted"), ("verdict", "not_chat")));
        Assert.Equal(1, reports.Sum(("bot", "counted"), ("outcome", "delivered")));
        Assert.Equal(1, reports.Sum(("bot", "counted"), ("outcome", "not_found")));
        Assert.Equal(1, transfers.Sum(("bot", "counted")));
        Assert.Equal(10_000, transferBytes.Sum(("bot", "counted")));
    }

    public void Dispose() => Directory.Delete(_reports, recursive: true);
}
