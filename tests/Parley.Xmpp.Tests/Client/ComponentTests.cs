using Parley.Testing;

namespace Parley.Xmpp.Tests.Client;

/// <summary>XEP-0114 against both servers: handshake, and sending/receiving for any address of the component's domain.</summary>
[Collection(ServerFixture.CollectionName)]
public sealed class ComponentTests(ServerFixture servers)
{
    public static TheoryData<string> Kinds => Servers.Kinds;

    private static XmppComponentOptions OptionsFor(XmppTestServer server, string? secret = null) => new()
    {
        Domain = server.ComponentDomain,
        Secret = secret ?? server.ComponentSecret,
        Host = server.Host,
        Port = server.ComponentPort,
        Reconnect = ReconnectPolicy.Disabled,
        KeepAliveInterval = TimeSpan.Zero,
    };

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_component_talks_to_a_user_from_any_address_of_its_domain(string kind)
    {
        var server = await servers.GetAsync(kind);
        var account = await server.CreateAccountAsync();
        await using var component = new XmppComponent(OptionsFor(server));
        await using var user = new XmppClient(server.ClientOptions(account, "desk"));
        var atComponent = new TaskCompletionSource<Message>(TaskCreationOptions.RunContinuationsAsynchronously);
        var atUser = new TaskCompletionSource<Message>(TaskCreationOptions.RunContinuationsAsynchronously);
        component.OnMessage((message, _) =>
        {
            atComponent.TrySetResult(message);
            return ValueTask.CompletedTask;
        });
        user.OnMessage((message, _) =>
        {
            atUser.TrySetResult(message);
            return ValueTask.CompletedTask;
        });
        await component.ConnectAsync();
        await user.ConnectAsync();
        await user.SendPresenceAsync();

        var visitor = Jid.Create("visitor-42", server.ComponentDomain);
        await user.SendAsync(new Message(visitor, "hello visitor"));
        var inbound = await atComponent.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(visitor, inbound.To);
        Assert.Equal(user.Jid, inbound.From);
        Assert.Equal("hello visitor", inbound.Body);

        await component.SendAsync(new Message(user.Jid!, "hello owner") { From = visitor });
        var outbound = await atUser.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(visitor, outbound.From);
        Assert.Equal("hello owner", outbound.Body);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task The_component_answers_disco_and_ping_for_its_addresses(string kind)
    {
        var server = await servers.GetAsync(kind);
        var account = await server.CreateAccountAsync();
        await using var component = new XmppComponent(OptionsFor(server));
        await using var user = new XmppClient(server.ClientOptions(account));
        await component.ConnectAsync();
        await user.ConnectAsync();
        var info = await user.Disco.QueryInfoAsync(Jid.Parse(server.ComponentDomain));
        Assert.Contains(info.Identities, i => i.Category == "component");
        Assert.True(info.Supports(XmppNamespaces.Ping));
        await user.PingAsync(Jid.Create("someone", server.ComponentDomain));

        // And the component's own requests are matched to answers from the server.
        var serverInfo = await component.Disco.QueryInfoAsync(Jid.Parse(server.Domain));
        Assert.Contains(serverInfo.Identities, i => i.Category == "server");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_wrong_secret_is_an_authentication_exception(string kind)
    {
        var server = await servers.GetAsync(kind);
        await using var component = new XmppComponent(OptionsFor(server, secret: "wrong-" + server.ComponentSecret));
        var error = await Assert.ThrowsAsync<XmppAuthenticationException>(() => component.ConnectAsync());
        Assert.Equal("not-authorized", error.Condition);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task The_keep_alive_ping_of_a_component_is_addressed_and_answered(string kind)
    {
        // A component's server refuses a stanza without 'to' (ejabberd closes the stream with improper-addressing).
        var server = await servers.GetAsync(kind);
        using var logs = new Support.CapturingLoggerFactory();
        var options = OptionsFor(server);
        options.KeepAliveInterval = TimeSpan.FromMilliseconds(400);
        await using var component = new XmppComponent(options, logs);
        var changes = new System.Collections.Concurrent.ConcurrentQueue<XmppConnectionState>();
        await component.ConnectAsync();
        component.StateChanged += (_, e) => changes.Enqueue(e.NewState);

        bool IsAnswer(string traffic) => traffic.StartsWith("RECV <iq", StringComparison.Ordinal)
            && traffic.Contains($"from=\"{server.Domain}\"", StringComparison.Ordinal) && traffic.Contains("type=\"result\"", StringComparison.Ordinal);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (logs.Entries.Count(e => IsAnswer(e.Message)) < 2)
        {
            Assert.True(DateTime.UtcNow < deadline, "no keep-alive ping was answered");
            await Task.Delay(50);
        }

        Assert.Empty(changes);
        Assert.Equal(XmppConnectionState.Connected, component.State);
    }
}
