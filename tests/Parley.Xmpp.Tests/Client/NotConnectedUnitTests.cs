namespace Parley.Xmpp.Tests.Client;

/// <summary>Sending on an endpoint that is not connected, and not reconnecting, fails with its own transport exception.</summary>
public sealed class NotConnectedUnitTests : IAsyncDisposable
{
    private readonly XmppClient _client = new(new XmppClientOptions { Jid = Jid.Parse("me@example.test/here"), Password = "not-used" });

    public ValueTask DisposeAsync() => _client.DisposeAsync();

    [Fact]
    public async Task Sending_before_connecting_is_a_non_transient_not_connected_exception()
    {
        var error = await Assert.ThrowsAsync<XmppNotConnectedException>(() => _client.SendAsync(new Message(Jid.Parse("you@example.test"), "hi")));

        Assert.IsAssignableFrom<XmppTransportException>(error);
        Assert.False(error.IsTransient);
        Assert.Equal(XmppConnectionState.Disconnected, error.State);
    }

    [Fact]
    public async Task An_iq_refused_for_not_being_connected_does_not_stay_pending()
    {
        var request = new Iq(IqType.Get, null, new XmppElement("ping", XmppNamespaces.Ping)) { Id = "same" };

        await Assert.ThrowsAsync<XmppNotConnectedException>(() => _client.SendIqAsync(request));

        // The same id again is refused for the same reason, not as "already waiting for its response".
        await Assert.ThrowsAsync<XmppNotConnectedException>(() => _client.SendIqAsync(request));
    }

    [Fact]
    public async Task Sending_after_disconnecting_is_refused_the_same_way()
    {
        await _client.DisconnectAsync();

        await Assert.ThrowsAsync<XmppNotConnectedException>(() => _client.PingAsync());
    }
}
