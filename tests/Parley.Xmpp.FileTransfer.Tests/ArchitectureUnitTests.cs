using Parley.Testing.Architecture;

namespace Parley.Xmpp.FileTransfer.Tests;

/// <summary>The file-transfer parts (sending, receiving, Jingle, SI, bytestreams, HTTP) depend one way.</summary>
public sealed class ArchitectureUnitTests
{
    [Fact]
    public void No_two_namespaces_depend_on_each_other()
    {
        var graph = NamespaceGraph.Read(typeof(FileTransferManager).Assembly.Location, ns => ns.StartsWith("Parley.Xmpp.FileTransfer", StringComparison.Ordinal) ? ns : null);
        var cycles = graph.Cycles();
        Assert.True(cycles.Count == 0, "Namespaces that use each other:\n" + string.Join('\n', cycles));
    }

    [Fact]
    public void Every_log_event_id_is_used_once()
        => Assert.Empty(LogEventIds.Reused(typeof(FileTransferManager).Assembly));
}
