using Parley.Testing;

namespace Parley.Xmpp.Tests.Client;

/// <summary>The library's activity source and meter, read with the framework's listeners while clients talk to a real Prosody.</summary>
[Collection(ServerFixture.CollectionName)]
public sealed class TelemetryTests(ServerFixture servers)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Connects_stanzas_in_and_out_and_iq_round_trips_are_recorded()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        using var telemetry = new TelemetryRecorder(XmppTelemetry.ActivitySourceName, XmppTelemetry.MeterName);
        await using var alice = new XmppClient(server.ClientOptions(await server.CreateAccountAsync(), "a"));
        await using var bob = new XmppClient(server.ClientOptions(await server.CreateAccountAsync(), "b"));
        var received = 0;
        var allThree = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        bob.OnMessage((message, _) =>
        {
            if (Interlocked.Increment(ref received) == 3)
            {
                allThree.TrySetResult();
            }

            return ValueTask.CompletedTask;
        });
        await alice.ConnectAsync();
        await bob.ConnectAsync();
        await bob.SendPresenceAsync();
        for (var i = 0; i < 3; i++)
        {
            await alice.SendAsync(new Message(bob.Jid!, $"m{i}"));
        }

        await allThree.Task.WaitAsync(Patience);
        await alice.PingAsync();
        // A request the server refuses: disco#items of an account that does not exist is answered with an error.
        var missing = await Assert.ThrowsAsync<XmppStanzaException>(() => alice.SendIqAsync(
            new Iq(IqType.Get, Jid.Parse($"nobody-{Guid.NewGuid():N}@{server.Domain}/x"), new XmppElement("query", "http://jabber.org/protocol/disco#items"))));

        var connects = telemetry.Activities.Where(a => a.OperationName == "xmpp.connect").ToList();
        Assert.Equal(2, connects.Count);
        Assert.All(connects, a => Assert.Equal("established", a.GetTagItem("parley.xmpp.outcome")));
        Assert.All(connects, a => Assert.Equal(server.Domain, a.GetTagItem("server.address")));
        Assert.Equal(2, telemetry.Values("parley.xmpp.connects", ("parley.xmpp.connect.kind", "connect"), ("parley.xmpp.outcome", "established")).Count);
        Assert.Equal(3, telemetry.Sum("parley.xmpp.stanzas.sent", ("parley.xmpp.stanza", "message")));
        Assert.Equal(3, telemetry.Sum("parley.xmpp.stanzas.received", ("parley.xmpp.stanza", "message")));
        Assert.True(telemetry.Sum("parley.xmpp.stanzas.sent", ("parley.xmpp.stanza", "presence")) >= 1, "bob's presence went out");
        Assert.True(telemetry.Sum("parley.xmpp.stanzas.received", ("parley.xmpp.stanza", "iq")) >= 2, "the answers to the ping and the refused request came in");

        var answered = telemetry.Values("parley.xmpp.iq.duration", ("parley.xmpp.outcome", "result"));
        Assert.NotEmpty(answered);
        Assert.All(answered, seconds => Assert.InRange(seconds, 0, Patience.TotalSeconds));
        Assert.Single(telemetry.Values("parley.xmpp.iq.duration", ("parley.xmpp.outcome", "error")));
        var failedIq = Assert.Single(telemetry.Activities, a => a.OperationName == "xmpp.iq" && Equals(a.GetTagItem("parley.xmpp.outcome"), "error"));
        Assert.Equal(System.Diagnostics.ActivityStatusCode.Error, failedIq.Status);
        Assert.Equal(missing.Error.Condition, failedIq.GetTagItem("parley.xmpp.error.condition"));
        Assert.Equal("http://jabber.org/protocol/disco#items", failedIq.GetTagItem("parley.xmpp.iq.namespace"));
    }

    [Fact]
    public async Task A_dropped_link_is_counted_as_lost_and_its_resumption_as_a_resumed_reconnect()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        await using var relay = new FaultyLink(server.ClientPort);
        using var telemetry = new TelemetryRecorder(XmppTelemetry.ActivitySourceName, XmppTelemetry.MeterName);
        var options = server.ClientOptions(await server.CreateAccountAsync(), "a");
        options.Port = relay.Port;
        options.Reconnect = FaultyLink.FastReconnect;
        await using var client = new XmppClient(options);
        var resumed = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.StateChanged += (_, e) =>
        {
            if (e.NewState == XmppConnectionState.Connected && e.OldState == XmppConnectionState.Reconnecting)
            {
                resumed.TrySetResult(e.Resumed);
            }
        };
        await client.ConnectAsync();
        Assert.True(client.IsStreamManagementEnabled);

        relay.DropAll();
        Assert.True(await resumed.Task.WaitAsync(Patience), "the session should have been resumed");

        Assert.Equal(1, telemetry.Sum("parley.xmpp.connections.lost", ("parley.xmpp.outcome", "reconnecting")));
        Assert.Single(telemetry.Values("parley.xmpp.connects", ("parley.xmpp.connect.kind", "connect"), ("parley.xmpp.outcome", "established")));
        Assert.Single(telemetry.Values("parley.xmpp.connects", ("parley.xmpp.connect.kind", "reconnect"), ("parley.xmpp.outcome", "resumed")));
        Assert.Contains(telemetry.Activities, a => a.OperationName == "xmpp.connect"
            && Equals(a.GetTagItem("parley.xmpp.connect.kind"), "reconnect") && Equals(a.GetTagItem("parley.xmpp.outcome"), "resumed"));
    }
}
