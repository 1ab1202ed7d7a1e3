using Parley.Testing.Architecture;

namespace Parley.Xmpp.Tests.Support;

public sealed class LogEventIdUnitTests
{
    [Fact]
    public void Every_log_event_id_of_the_library_is_used_once()
        => Assert.Empty(LogEventIds.Reused(typeof(XmppEndpoint).Assembly));
}
