using Parley.Testing.Architecture;

namespace Parley.Xmpp.FileTransfer.Tests;

/// <summary>The file-transfer parts (sending, receiving, Jingle, SI, bytestreams, HTTP) depend one way.</summary>
public sealed class ArchitectureUnitTests
{
    [Fact]
    public void No_two_namespaces_depend_on_each_other()
        => NamespaceGraph.ReadUnder(typeof(FileTransferManager).Assembly.Location, "Parley.Xmpp.FileTransfer").AssertNoCycles();

    [Fact]
    public void Every_log_event_id_is_used_once()
        => Assert.Empty(LogEventIds.Reused(typeof(FileTransferManager).Assembly));
}
