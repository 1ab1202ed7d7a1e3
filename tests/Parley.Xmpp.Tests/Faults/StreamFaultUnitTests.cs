using System.Diagnostics;
using System.Text;

namespace Parley.Xmpp.Tests.Faults;

/// <summary>
/// A peer that sends malformed or hostile XML: the connection must end with a typed exception that says
/// why, promptly, without growing memory. Driven through a component connection to a scripted server.
/// </summary>
public sealed class StreamFaultUnitTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    public static TheoryData<string, string, string> HostilePayloads => new()
    {
        { "malformed", "<message><body>hi</bod></message>", "not-well-formed" },
        { "dtd", "<!DOCTYPE x [<!ENTITY a 'aaaa'>]><message/>", "restricted-xml" },
        { "entity-bomb", "<!DOCTYPE lolz [<!ENTITY lol 'lol'><!ENTITY lol2 '&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;'>]><message><body>&lol2;</body></message>", "restricted-xml" },
        { "undeclared-entity", "<message><body>&lol;</body></message>", "restricted-xml" },
        { "processing-instruction", "<?evil stuff?><message/>", "restricted-xml" },
        { "restricted-char", "<message><body>a\u0001b</body></message>", "not-well-formed" },
    };

    [Theory]
    [MemberData(nameof(HostilePayloads))]
    public async Task Hostile_xml_ends_the_connection_with_a_protocol_exception(string name, string payload, string condition)
    {
        _ = name;
        var error = await RunAgainstAsync(Encoding.UTF8.GetBytes(payload));
        var protocol = Assert.IsType<XmppProtocolException>(error);
        Assert.Equal(condition, protocol.StreamErrorCondition);
    }

    [Fact]
    public async Task Invalid_utf8_ends_the_connection_with_a_protocol_exception()
    {
        var error = await RunAgainstAsync([.. "<message><body>"u8, 0xC0, 0xAF, .. "</body></message>"u8]);
        Assert.Equal("not-well-formed", Assert.IsType<XmppProtocolException>(error).StreamErrorCondition);
    }

    [Fact]
    public async Task A_stanza_over_the_hard_cap_ends_the_connection_before_it_is_buffered_whole()
    {
        // 4.5 MiB of body against the default 4 MiB cap; the server never finishes the element.
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var huge = "<message><body>" + new string('x', 4608 * 1024);
        var error = await RunAgainstAsync(Encoding.UTF8.GetBytes(huge));
        Assert.Equal("policy-violation", Assert.IsType<XmppProtocolException>(error).StreamErrorCondition);
        var after = GC.GetTotalMemory(forceFullCollection: true);
        Assert.True(after - before < 16 * 1024 * 1024, $"memory grew by {after - before} bytes");
    }

    public static TheoryData<string, string> StanzasOverALimit => new()
    {
        { "40 nested elements", $"<message from='mallory@fake.test/r' to='x@chat.fake.test' id='bad' type='chat'>{string.Concat(Enumerable.Repeat("<a>", 40))}{string.Concat(Enumerable.Repeat("</a>", 40))}</message>" },
        { "80 attributes", $"<message from='mallory@fake.test/r' to='x@chat.fake.test' id='bad' type='chat'{string.Concat(Enumerable.Range(0, 80).Select(i => $" a{i}='{i}'"))}/>" },
        { "a 20,000-character attribute", $"<message from='mallory@fake.test/r' to='x@chat.fake.test' id='bad' type='chat' x='{new string('v', 20_000)}'/>" },
        { "100 KB of escaped apostrophes", $"<message from='mallory@fake.test/r' to='x@chat.fake.test' id='bad' type='chat'><body>{string.Concat(Enumerable.Repeat("&apos;", 100_000))}</body></message>" },
    };

    [Theory]
    [MemberData(nameof(StanzasOverALimit))]
    public async Task A_stanza_over_a_limit_is_refused_with_an_error_to_its_sender_and_the_link_stays_up(string name, string stanza)
    {
        _ = name;
        var answered = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = new FakeXmppServer(async (self, stream, ct) =>
        {
            await self.AcceptComponentAsync(stream, ct);
            await FakeXmppServer.SendAsync(stream, stanza + "<message from='alice@fake.test/r' to='x@chat.fake.test' id='ok' type='chat'><body>still here</body></message>", ct);
            await self.ExpectAsync(stream, "</message>", ct);
            answered.TrySetResult(self.Received.ToString());
            await Task.Delay(Timeout.Infinite, ct);
        });
        await using var component = ComponentOf(server, "chat.fake.test");
        var received = new TaskCompletionSource<Message>(TaskCreationOptions.RunContinuationsAsynchronously);
        component.OnMessage((message, _) =>
        {
            received.TrySetResult(message);
            return ValueTask.CompletedTask;
        });

        await component.ConnectAsync();

        var message = await received.Task.WaitAsync(Deadline);
        Assert.Equal("ok", message.Id);
        var reply = await answered.Task.WaitAsync(Deadline);
        Assert.Contains("<message type=\"error\" id=\"bad\" to=\"mallory@fake.test/r\" from=\"x@chat.fake.test\"><error type=\"modify\"><policy-violation ", reply, StringComparison.Ordinal);
        Assert.Equal(XmppConnectionState.Connected, component.State);
    }

    [Fact]
    public async Task A_close_in_the_middle_of_a_stanza_is_a_transport_error_naming_it()
    {
        var error = await RunAgainstAsync("<message><body>half"u8.ToArray(), closeAfter: true);
        var transport = Assert.IsType<XmppTransportException>(error);
        Assert.Contains("middle of a stanza", transport.Message, StringComparison.Ordinal);
        Assert.True(transport.IsTransient);
    }

    [Fact]
    public async Task A_stream_error_from_the_server_carries_its_condition()
    {
        var error = await RunAgainstAsync("<stream:error><system-shutdown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>bye</text></stream:error></stream:stream>"u8.ToArray());
        var streamError = Assert.IsType<XmppStreamErrorException>(error);
        Assert.Equal("system-shutdown", streamError.Condition);
        Assert.Equal("bye", streamError.Text);
    }

    [Fact]
    public async Task A_server_that_never_closes_its_stream_holds_a_disconnect_for_the_close_wait()
    {
        await using var server = SilentOnClose(out _);
        await using var component = await ConnectComponentAsync(server);

        var watch = Stopwatch.StartNew();
        await component.DisconnectAsync();

        Assert.True(watch.Elapsed >= TimeSpan.FromSeconds(1.9), $"the disconnect took {watch.Elapsed}");
        Assert.Equal(XmppConnectionState.Disconnected, component.State);
    }

    [Fact]
    public async Task Cancelling_a_disconnect_stops_waiting_for_the_server_and_still_closes_the_connection()
    {
        await using var server = SilentOnClose(out var clientGone);
        await using var component = await ConnectComponentAsync(server);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));

        var watch = Stopwatch.StartNew();
        await component.DisconnectAsync(cancel.Token);

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1.9), $"the disconnect took {watch.Elapsed}");
        Assert.Equal(XmppConnectionState.Disconnected, component.State);
        Assert.Contains("</stream:stream>", await clientGone.WaitAsync(Deadline), StringComparison.Ordinal);
    }

    /// <summary>A server that reads until the client closes the connection and never sends its own closing tag; completes with what it read.</summary>
    private static FakeXmppServer SilentOnClose(out Task<string> clientGone)
    {
        var gone = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        clientGone = gone.Task;
        return new FakeXmppServer(async (self, stream, ct) =>
        {
            await self.AcceptComponentAsync(stream, ct);
            try
            {
                await self.ExpectAsync(stream, "never sent by the client", ct);
            }
            finally
            {
                gone.TrySetResult(self.Received.ToString());
            }
        });
    }

    private static async Task<XmppComponent> ConnectComponentAsync(FakeXmppServer server)
    {
        var component = new XmppComponent(new XmppComponentOptions
        {
            Domain = "fake.test",
            Secret = "s",
            Host = "127.0.0.1",
            Port = server.Port,
            Reconnect = ReconnectPolicy.Disabled,
        });
        await component.ConnectAsync();
        return component;
    }

    /// <summary>Connects a component, lets the server send <paramref name="payload"/>, returns the error the connection ended with.</summary>
    private static async Task<Exception?> RunAgainstAsync(byte[] payload, bool closeAfter = false)
    {
        await using var server = new FakeXmppServer(async (self, stream, ct) =>
        {
            await self.AcceptComponentAsync(stream, ct);
            await FakeXmppServer.SendAsync(stream, payload, ct);
            if (!closeAfter)
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
        });
        await using var component = ComponentOf(server, "fake.test");
        var ended = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        component.StateChanged += (_, e) =>
        {
            if (e.NewState == XmppConnectionState.Disconnected && e.OldState == XmppConnectionState.Connected)
            {
                ended.TrySetResult(e.Error);
            }
        };
        var watch = Stopwatch.StartNew();
        await component.ConnectAsync();
        var error = await ended.Task.WaitAsync(Deadline);
        Assert.True(watch.Elapsed < Deadline);
        return error;
    }

    private static XmppComponent ComponentOf(FakeXmppServer server, string domain) => new(new XmppComponentOptions
    {
        Domain = domain,
        Secret = "s",
        Host = "127.0.0.1",
        Port = server.Port,
        Reconnect = ReconnectPolicy.Disabled,
    });
}
