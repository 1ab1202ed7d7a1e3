using Parley.Testing.Architecture;

namespace Parley.Bots.Tests;

public sealed class ArchitectureUnitTests
{
    [Fact]
    public void No_two_folders_of_the_bot_host_depend_on_each_other()
        => NamespaceGraph.ReadUnder(typeof(Bot).Assembly.Location, "Parley.Bots").AssertNoCycles();

    [Fact]
    public void Every_log_event_id_of_the_bot_host_is_used_once()
        => Assert.Empty(LogEventIds.Reused(typeof(Bot).Assembly));
}
