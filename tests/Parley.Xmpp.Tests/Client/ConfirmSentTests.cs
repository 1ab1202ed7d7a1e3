using System.Collections.Concurrent;
using Parley.Testing;

namespace Parley.Xmpp.Tests.Client;

/// <summary>
/// <see cref="XmppEndpoint.ConfirmSentAsync"/> against both servers: it completes only once the server has what was
/// sent (a ping round trip for a component or a client without stream management, the acknowledgement with it), and
/// it fails on a link that died or went silent, so the caller sends again.
/// </summary>
[Collection(ServerFixture.CollectionName)]
public sealed class ConfirmSentTests(ServerFixture servers)
{
    public static TheoryData<string> Kinds => Servers.Kinds;

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_component_confirms_after_the_server_routed_everything_before(string kind)
    {
        var server = await servers.GetAsync(kind);
        var account = await server.CreateAccountAsync();
        await using var user = new XmppClient(server.ClientOptions(account, "desk"));
        var received = Collect(user);
        await user.ConnectAsync();
        await user.SendPresenceAsync();
        await using var component = new XmppComponent(ComponentOptions(server, server.ComponentPort));
        await component.ConnectAsync();

        var visitor = Jid.Create("visitor", server.ComponentDomain);
        for (var i = 0; i < 50; i++)
        {
            await component.SendAsync(new Message(user.Jid!, $"m{i}") { From = visitor });
        }

        await component.ConfirmSentAsync().WaitAsync(TimeSpan.FromSeconds(10));

        // Confirmed means routed: the user's own round trip to its server now comes after all fifty.
        await user.PingAsync();
        await WaitUntilAsync(() => received.Count >= 50);
        Assert.Equal(Enumerable.Range(0, 50).Select(i => $"m{i}"), received);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_silent_link_fails_the_confirmation_and_the_component_reconnects(string kind)
    {
        var server = await servers.GetAsync(kind);
        await using var relay = new FaultyLink(server.ComponentPort);
        var options = ComponentOptions(server, relay.Port);
        options.DefaultIqTimeout = TimeSpan.FromSeconds(1);
        options.Reconnect = FaultyLink.FastReconnect;
        await using var component = new XmppComponent(options);
        var reconnected = Reconnected(component);
        await component.ConnectAsync();
        await component.ConfirmSentAsync().WaitAsync(TimeSpan.FromSeconds(10));

        relay.Freeze();
        await component.SendAsync(new Message(Jid.Parse("nobody@" + server.Domain), "into the void") { From = Jid.Create("visitor", server.ComponentDomain) });
        await Assert.ThrowsAsync<XmppTransportException>(() => component.ConfirmSentAsync().WaitAsync(TimeSpan.FromSeconds(10)));

        // The silent connection was taken for dead; the new one (relayed normally again) confirms.
        await reconnected.WaitAsync(TimeSpan.FromSeconds(20));
        await component.ConfirmSentAsync().WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_component_does_not_confirm_what_a_lost_connection_carried(string kind)
    {
        var server = await servers.GetAsync(kind);
        await using var relay = new FaultyLink(server.ComponentPort);
        var options = ComponentOptions(server, relay.Port);
        options.Reconnect = FaultyLink.FastReconnect;
        await using var component = new XmppComponent(options);
        var reconnected = Reconnected(component);
        await component.ConnectAsync();

        // Written, then the link is cut before any confirmation: the new connection cannot vouch for it.
        relay.Freeze();
        await component.SendAsync(new Message(Jid.Parse("nobody@" + server.Domain), "maybe lost") { From = Jid.Create("visitor", server.ComponentDomain) });
        relay.DropAll();
        await reconnected.WaitAsync(TimeSpan.FromSeconds(20));
        await Assert.ThrowsAsync<XmppTransportException>(() => component.ConfirmSentAsync().WaitAsync(TimeSpan.FromSeconds(10)));

        // Once told, the caller sends again; from then on the new connection confirms.
        await component.ConfirmSentAsync().WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_client_with_stream_management_confirms_across_a_dropped_link(string kind)
    {
        var server = await servers.GetAsync(kind);
        await using var relay = new FaultyLink(server.ClientPort);
        var (sender, receiver) = (await server.CreateAccountAsync(), await server.CreateAccountAsync());
        await using var to = new XmppClient(server.ClientOptions(receiver, "desk"));
        var received = Collect(to);
        await to.ConnectAsync();
        await to.SendPresenceAsync();
        var options = server.ClientOptions(sender, "bot");
        options.Port = relay.Port;
        options.Reconnect = FaultyLink.FastReconnect;
        await using var from = new XmppClient(options);
        await from.ConnectAsync();
        Assert.True(from.IsStreamManagementEnabled);

        // Frozen: the stanzas are written into the relay but reach nobody, so nothing can acknowledge them yet.
        relay.Freeze();
        for (var i = 0; i < 20; i++)
        {
            await from.SendAsync(new Message(to.Jid!, $"m{i}"));
        }

        var confirmed = from.ConfirmSentAsync();
        Assert.False(await Completes(confirmed, TimeSpan.FromMilliseconds(500)));

        // The link is cut; the client resumes (or starts anew) and sends the unacknowledged stanzas again.
        relay.DropAll();
        await confirmed.WaitAsync(TimeSpan.FromSeconds(30));
        await WaitUntilAsync(() => received.Distinct().Count() >= 20);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"m{i}"), received.Distinct());
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_client_without_stream_management_confirms_with_a_ping(string kind)
    {
        var server = await servers.GetAsync(kind);
        var account = await server.CreateAccountAsync();
        var options = server.ClientOptions(account, "plain");
        options.StreamManagement = false;
        await using var client = new XmppClient(options);
        await Assert.ThrowsAsync<XmppNotConnectedException>(() => client.ConfirmSentAsync());
        await client.ConnectAsync();
        Assert.False(client.IsStreamManagementEnabled);
        await client.SendAsync(new Message(client.Jid!.Bare, "to myself"));
        await client.ConfirmSentAsync().WaitAsync(TimeSpan.FromSeconds(10));

        await client.DisconnectAsync();
        await Assert.ThrowsAsync<XmppNotConnectedException>(() => client.ConfirmSentAsync());
    }

    private static XmppComponentOptions ComponentOptions(XmppTestServer server, int port) => new()
    {
        Domain = server.ComponentDomain,
        Secret = server.ComponentSecret,
        Host = server.Host,
        Port = port,
        Reconnect = ReconnectPolicy.Disabled,
        KeepAliveInterval = TimeSpan.Zero,
    };

    /// <summary>Completes when the endpoint is connected again after reconnecting.</summary>
    private static Task Reconnected(XmppEndpoint endpoint)
    {
        var reconnected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        endpoint.StateChanged += (_, e) =>
        {
            if (e.OldState == XmppConnectionState.Reconnecting && e.NewState == XmppConnectionState.Connected)
            {
                reconnected.TrySetResult();
            }
        };
        return reconnected.Task;
    }

    private static ConcurrentQueue<string> Collect(XmppClient client)
    {
        var received = new ConcurrentQueue<string>();
        client.OnMessage((message, _) =>
        {
            if (message.Body is { } body)
            {
                received.Enqueue(body);
            }

            return ValueTask.CompletedTask;
        });
        return received;
    }

    private static async Task<bool> Completes(Task task, TimeSpan within)
        => await Task.WhenAny(task, Task.Delay(within)) == task;

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting");
            await Task.Delay(20);
        }
    }
}
