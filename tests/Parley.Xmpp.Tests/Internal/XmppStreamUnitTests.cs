using Microsoft.Extensions.Logging.Abstractions;
using Parley.Xmpp.Tests.Faults;

namespace Parley.Xmpp.Tests.Internal;

/// <summary>How <see cref="XmppStream"/> reports a read on a stream that was disposed under it.</summary>
public sealed class XmppStreamUnitTests
{
    [Fact]
    public async Task A_read_after_the_stream_was_disposed_is_an_object_disposed_exception_not_an_invalid_operation()
    {
        // The session takes ObjectDisposedException for a closed link; an InvalidOperationException would be a library bug.
        await using var server = new FakeXmppServer((_, _, ct) => Task.Delay(Timeout.Infinite, ct));
        var options = new XmppComponentOptions { Domain = "fake.test", Secret = "s", Host = "127.0.0.1", Port = server.Port };
        var transport = await XmppTransport.ConnectAsync("fake.test", options, NullLogger.Instance, CancellationToken.None);
        var stream = new XmppStream(transport, XmlLimits.Default, XmppNamespaces.Component, NullLogger.Instance);

        await stream.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => stream.ReadElementAsync(CancellationToken.None));
    }
}
