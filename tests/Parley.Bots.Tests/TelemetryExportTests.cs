using Parley.Testing;

namespace Parley.Bots.Tests;

/// <summary>The bot host with an OTLP endpoint configured exports the bots' and the XMPP library's telemetry to a collector.</summary>
[Collection(ServerFixture.CollectionName)]
public sealed class TelemetryExportTests(ServerFixture servers)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task With_an_otlp_endpoint_the_bot_host_exports_traces_and_metrics()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        await using var collector = OtlpReceiver.Start();
        var settings = new Dictionary<string, string?>
        {
            ["Parley:Telemetry:OtlpEndpoint"] = collector.BaseAddress.ToString(),
            ["Parley:Telemetry:MetricExportInterval"] = "00:00:01",
        };
        var bot = await BotHost.ConfigureAsync(settings, server, "echo", "Echo");
        await using var host = await BotHost.StartAsync(settings);
        await using var alice = await Person.ConnectAsync(server);
        await alice.SayAsync(bot.Jid, "measured");
        Assert.Equal("measured", (await alice.NextAsync()).Body);

        await collector.WaitForAsync("/v1/traces", "parley-bots", Patience);
        await collector.WaitForAsync("/v1/traces", "xmpp.connect", Patience);
        await collector.WaitForAsync("/v1/metrics", "parley-bots", Patience);
        await collector.WaitForAsync("/v1/metrics", "parley.bots.messages", Patience);
        await collector.WaitForAsync("/v1/metrics", "parley.xmpp.stanzas.received", Patience);
        await collector.WaitForAsync("/v1/metrics", "dotnet.gc.collections", Patience);
    }
}
