using Microsoft.Extensions.Logging;
using Parley.Testing;
using Parley.Xmpp.Tests.Support;

namespace Parley.Xmpp.Tests.Client;

/// <summary>The trace-level traffic log shows the XML but never a password, SASL data or a component secret.</summary>
[Collection(ServerFixture.CollectionName)]
public sealed class TrafficLogTests(ServerFixture servers)
{
    [Fact]
    public async Task The_traffic_log_redacts_sasl_exchanges_and_handshakes()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        var account = await server.CreateAccountAsync();
        using var logs = new CapturingLoggerFactory();
        var options = server.ClientOptions(account);
        await using (var client = new XmppClient(options, logs))
        {
            await client.ConnectAsync();
            await client.PingAsync();
        }

        await using (var component = new XmppComponent(new XmppComponentOptions { Domain = server.ComponentDomain, Secret = server.ComponentSecret, Host = server.Host, Port = server.ComponentPort }, logs))
        {
            await component.ConnectAsync();
        }

        var traffic = logs.Entries.Where(e => e.Category == "Parley.Xmpp.Traffic" && e.Level == LogLevel.Trace).Select(e => e.Message).ToList();
        Assert.Contains(traffic, m => m.Contains("<auth", StringComparison.Ordinal) && m.Contains("[redacted]", StringComparison.Ordinal));
        Assert.Contains(traffic, m => m.Contains("<handshake", StringComparison.Ordinal) && m.Contains("[redacted]", StringComparison.Ordinal));
        Assert.Contains(traffic, m => m.Contains("urn:xmpp:ping", StringComparison.Ordinal));
        var everything = string.Join("\n", logs.Entries.Select(e => e.Message));
        Assert.DoesNotContain(account.Password, everything, StringComparison.Ordinal);
        Assert.DoesNotContain(server.ComponentSecret, everything, StringComparison.Ordinal);
        var unredactedSasl = new System.Text.RegularExpressions.Regex("<(auth|challenge|response|success)[^>]*>(?!\\[redacted\\])[^<]+<");
        Assert.DoesNotContain(traffic, unredactedSasl.IsMatch);
    }
}
