using System.Net;
using System.Net.Sockets;
using Parley.Testing;

namespace Parley.Xmpp.Tests.Client;

/// <summary>The client core against real servers: every test runs once on Prosody and once on ejabberd.</summary>
[Collection(ServerFixture.CollectionName)]
public sealed class ClientTests(ServerFixture servers)
{
    public static TheoryData<string> Kinds => Servers.Kinds;

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Connects_with_starttls_scram_and_binds_the_requested_resource(string kind)
    {
        var server = await servers.GetAsync(kind);
        var account = await server.CreateAccountAsync();
        var options = server.ClientOptions(account, resource: "desk");
        await using var client = new XmppClient(options);
        await client.ConnectAsync();
        Assert.Equal(XmppConnectionState.Connected, client.State);
        Assert.Equal(account.Jid.WithResource("desk"), client.Jid);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Over_tls_1_2_the_channel_bound_scram_plus_is_chosen(string kind)
    {
        // Both servers bind with tls-unique, which exists only up to TLS 1.2 (RFC 9266); .NET cannot export
        // tls-exporter keying material, so TLS 1.3 falls back to plain SCRAM.
        var server = await servers.GetAsync(kind);
        var account = await server.CreateAccountAsync();
        var options = server.ClientOptions(account);
        options.TlsProtocols = System.Security.Authentication.SslProtocols.Tls12;
        using var logs = new Support.CapturingLoggerFactory();
        await using var client = new XmppClient(options, logs);
        await client.ConnectAsync();
        var authenticated = Assert.Single(logs.Entries, e => e.Id.Id == 1003);
        Assert.Matches("SCRAM-SHA-(1|256)-PLUS", authenticated.Message);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Connects_with_direct_tls(string kind)
    {
        var server = await servers.GetAsync(kind);
        var account = await server.CreateAccountAsync();
        var options = server.ClientOptions(account);
        options.Tls = TlsMode.DirectTls;
        options.Port = server.DirectTlsPort;
        await using var client = new XmppClient(options);
        await client.ConnectAsync();
        Assert.Equal(XmppConnectionState.Connected, client.State);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_wrong_password_is_an_authentication_exception_with_the_sasl_condition(string kind)
    {
        var server = await servers.GetAsync(kind);
        var account = await server.CreateAccountAsync();
        var options = server.ClientOptions(account);
        options.Password = "not-" + account.Password;
        await using var client = new XmppClient(options);
        var error = await Assert.ThrowsAsync<XmppAuthenticationException>(() => client.ConnectAsync());
        Assert.Equal("not-authorized", error.Condition);
        Assert.Equal(XmppConnectionState.Disconnected, client.State);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task An_untrusted_certificate_is_refused_and_names_its_fingerprint(string kind)
    {
        var server = await servers.GetAsync(kind);
        var account = await server.CreateAccountAsync();
        var options = new XmppClientOptions { Jid = account.Jid, Password = account.Password, Host = server.Host, Port = server.ClientPort, Reconnect = ReconnectPolicy.Disabled };
        await using var client = new XmppClient(options);
        var error = await Assert.ThrowsAsync<XmppTlsException>(() => client.ConnectAsync());
        Assert.Equal(server.CertificateSha256, error.CertificateSha256);
        Assert.Contains(server.CertificateSha256, error.Message, StringComparison.Ordinal);
        Assert.False(error.IsTransient);
    }

    [Fact]
    public async Task An_unreachable_host_is_a_clear_timeout()
    {
        // A host that never answers the SYN: a listener whose accept queue is full makes Linux drop further
        // SYNs, which is what a firewalled or dead host looks like (the sandbox answers outside addresses itself).
        using var listener = new Socket(SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(0);
        var port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        var fillers = new List<Socket>();
        for (var i = 0; i < 4; i++)
        {
            var filler = new Socket(SocketType.Stream, ProtocolType.Tcp);
            fillers.Add(filler);
            _ = filler.ConnectAsync(IPAddress.Loopback, port);
        }

        await Task.Delay(200);
        try
        {
            var options = new XmppClientOptions
            {
                Jid = Jid.Parse("nobody@unreachable.test"),
                Password = "x",
                Host = "127.0.0.1",
                Port = port,
                ConnectTimeout = TimeSpan.FromMilliseconds(700),
                Reconnect = ReconnectPolicy.Disabled,
            };
            await using var client = new XmppClient(options);
            var started = System.Diagnostics.Stopwatch.StartNew();
            var error = await Assert.ThrowsAsync<XmppTransportException>(() => client.ConnectAsync());
            Assert.True(error.IsTransient);
            Assert.Contains("timed out after 0.7 s", error.Message, StringComparison.Ordinal);
            Assert.IsType<TimeoutException>(error.InnerException);
            Assert.True(started.Elapsed < TimeSpan.FromSeconds(5));
        }
        finally
        {
            fillers.ForEach(f => f.Dispose());
        }
    }

    [Fact]
    public async Task A_port_that_speaks_something_else_is_a_protocol_exception_saying_so()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var serve = Task.Run(async () =>
        {
            using var peer = await listener.AcceptTcpClientAsync();
            await peer.GetStream().WriteAsync("HTTP/1.1 400 Bad Request\r\n\r\n"u8.ToArray());
            await Task.Delay(2000);
        });
        var options = new XmppClientOptions { Jid = Jid.Parse("a@b.test"), Password = "x", Host = "127.0.0.1", Port = port, Reconnect = ReconnectPolicy.Disabled };
        await using var client = new XmppClient(options);
        var error = await Assert.ThrowsAsync<XmppProtocolException>(() => client.ConnectAsync());
        Assert.Contains("found byte 0x48", error.Message, StringComparison.Ordinal);
        listener.Stop();
    }

    [Fact]
    public async Task A_refused_port_fails_fast_with_a_transport_exception()
    {
        using var probe = new Socket(SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)probe.LocalEndPoint!).Port; // bound, not listening: connections are refused
        var options = new XmppClientOptions { Jid = Jid.Parse("a@b.test"), Password = "x", Host = "127.0.0.1", Port = port, Reconnect = ReconnectPolicy.Disabled };
        await using var client = new XmppClient(options);
        var error = await Assert.ThrowsAsync<XmppTransportException>(() => client.ConnectAsync());
        Assert.Contains($"127.0.0.1:{port}", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Two_clients_exchange_messages_in_order(string kind)
    {
        var server = await servers.GetAsync(kind);
        var (alice, bob) = (await server.CreateAccountAsync(), await server.CreateAccountAsync());
        await using var a = new XmppClient(server.ClientOptions(alice, "a"));
        await using var b = new XmppClient(server.ClientOptions(bob, "b"));
        var received = new List<string>();
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        b.OnMessage((message, _) =>
        {
            if (message.Body is { } body)
            {
                received.Add(body);
                if (received.Count == 100)
                {
                    all.TrySetResult();
                }
            }

            return ValueTask.CompletedTask;
        });
        await a.ConnectAsync();
        await b.ConnectAsync();
        await b.SendPresenceAsync();
        for (var i = 0; i < 100; i++)
        {
            await a.SendAsync(new Message(b.Jid!, $"m{i} <&>\"'"));
        }

        await all.Task.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(Enumerable.Range(0, 100).Select(i => $"m{i} <&>\"'"), received);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task An_iq_nobody_handles_is_answered_service_unavailable_and_errors_are_typed(string kind)
    {
        var server = await servers.GetAsync(kind);
        var (alice, bob) = (await server.CreateAccountAsync(), await server.CreateAccountAsync());
        await using var a = new XmppClient(server.ClientOptions(alice, "a"));
        await using var b = new XmppClient(server.ClientOptions(bob, "b"));
        await a.ConnectAsync();
        await b.ConnectAsync();

        // The server routes an IQ to a full JID only from a contact with a presence subscription; a direct
        // presence is not needed for IQs on both servers, so this reaches b's handler table.
        var error = await Assert.ThrowsAsync<XmppStanzaException>(() => a.SendIqAsync(new Iq(IqType.Get, b.Jid, new XmppElement("query", "urn:example:nobody")), TimeSpan.FromSeconds(10)));
        Assert.Equal("service-unavailable", error.Condition);
        Assert.Equal(b.Jid, error.From);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_handler_that_throws_is_logged_and_the_connection_goes_on(string kind)
    {
        var server = await servers.GetAsync(kind);
        var (alice, bob) = (await server.CreateAccountAsync(), await server.CreateAccountAsync());
        await using var a = new XmppClient(server.ClientOptions(alice, "a"));
        await using var b = new XmppClient(server.ClientOptions(bob, "b"));
        var second = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        b.OnMessage((message, _) => message.Body == "boom" ? throw new InvalidOperationException("handler bug") : ValueTask.CompletedTask);
        b.OnMessage((message, _) =>
        {
            if (message.Body == "after")
            {
                second.TrySetResult(message.Body);
            }

            return ValueTask.CompletedTask;
        });
        b.SetIqHandler("query", "urn:example:crash", (_, _) => throw new InvalidOperationException("iq handler bug"));
        await a.ConnectAsync();
        await b.ConnectAsync();
        await b.SendPresenceAsync();
        await a.SendAsync(new Message(b.Jid!, "boom"));
        var iqError = await Assert.ThrowsAsync<XmppStanzaException>(() => a.SendIqAsync(new Iq(IqType.Get, b.Jid, new XmppElement("query", "urn:example:crash"))));
        Assert.Equal("internal-server-error", iqError.Condition);
        await a.SendAsync(new Message(b.Jid!, "after"));
        Assert.Equal("after", await second.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(XmppConnectionState.Connected, b.State);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task An_iq_response_from_the_wrong_sender_is_not_taken_as_the_answer(string kind)
    {
        var server = await servers.GetAsync(kind);
        var (alice, bob, mallory) = (await server.CreateAccountAsync(), await server.CreateAccountAsync(), await server.CreateAccountAsync());
        await using var a = new XmppClient(server.ClientOptions(alice, "a"));
        await using var b = new XmppClient(server.ClientOptions(bob, "b"));
        await using var m = new XmppClient(server.ClientOptions(mallory, "m"));
        var requestSeen = new TaskCompletionSource<Iq>(TaskCreationOptions.RunContinuationsAsynchronously);
        b.SetIqHandler("query", "urn:example:slow", async (request, ct) =>
        {
            requestSeen.TrySetResult(request);
            await Task.Delay(1500, ct);
            return new XmppElement("query", "urn:example:slow") { Text = "from-b" };
        });
        await a.ConnectAsync();
        await b.ConnectAsync();
        await m.ConnectAsync();
        var pending = a.SendIqAsync(new Iq(IqType.Get, b.Jid, new XmppElement("query", "urn:example:slow")), TimeSpan.FromSeconds(15));
        var seen = await requestSeen.Task.WaitAsync(TimeSpan.FromSeconds(10));

        // Mallory guesses the id and answers first.
        var forged = new Iq(IqType.Result, a.Jid, new XmppElement("query", "urn:example:slow") { Text = "forged" }) { Id = seen.Id };
        await m.SendAsync(forged);
        var answer = await pending;
        Assert.Equal("from-b", answer.Payload!.Text);
        Assert.Equal(b.Jid, answer.From);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Ping_and_disco_of_the_server_work(string kind)
    {
        var server = await servers.GetAsync(kind);
        var account = await server.CreateAccountAsync();
        await using var client = new XmppClient(server.ClientOptions(account));
        await client.ConnectAsync();
        var rtt = await client.PingAsync();
        Assert.True(rtt < TimeSpan.FromSeconds(5));
        var info = await client.Disco.QueryInfoAsync(Jid.Parse(server.Domain));
        Assert.Contains(info.Identities, i => i.Category == "server");
        Assert.True(info.Supports(XmppNamespaces.Ping));
        var items = await client.Disco.QueryItemsAsync(Jid.Parse(server.Domain));
        Assert.Contains(items, i => i.Jid.ToString() == server.ProxyJid);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Our_disco_info_lists_exactly_what_is_registered(string kind)
    {
        var server = await servers.GetAsync(kind);
        var (alice, bob) = (await server.CreateAccountAsync(), await server.CreateAccountAsync());
        await using var a = new XmppClient(server.ClientOptions(alice, "a"));
        await using var b = new XmppClient(server.ClientOptions(bob, "b"));
        b.SetIqHandler("query", "urn:example:feature", (_, _) => ValueTask.FromResult<XmppElement?>(null));
        await a.ConnectAsync();
        await b.ConnectAsync();
        var info = await a.Disco.QueryInfoAsync(b.Jid!);
        Assert.True(info.Supports("urn:example:feature"));
        Assert.True(info.Supports(XmppNamespaces.Ping));
        Assert.True(info.Supports(XmppNamespaces.DiscoInfo));
        Assert.False(info.Supports("urn:example:not-registered"));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Stream_management_is_enabled_and_acks_flow(string kind)
    {
        var server = await servers.GetAsync(kind);
        var account = await server.CreateAccountAsync();
        await using var client = new XmppClient(server.ClientOptions(account));
        await client.ConnectAsync();
        Assert.True(client.IsStreamManagementEnabled);
        await client.PingAsync();
    }
}
