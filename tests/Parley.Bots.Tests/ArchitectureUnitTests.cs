using Parley.Testing.Architecture;

namespace Parley.Bots.Tests;

public sealed class ArchitectureUnitTests
{
    [Fact]
    public void No_two_folders_of_the_bot_host_depend_on_each_other()
    {
        var graph = NamespaceGraph.Read(typeof(Bot).Assembly.Location, ns => ns.StartsWith("Parley.Bots", StringComparison.Ordinal) ? ns : null);
        var cycles = graph.Cycles();
        Assert.True(cycles.Count == 0, "Folders that use each other:\n" + string.Join('\n', cycles));
    }

    [Fact]
    public void Every_log_event_id_of_the_bot_host_is_used_once()
        => Assert.Empty(LogEventIds.Reused(typeof(Bot).Assembly));
}
