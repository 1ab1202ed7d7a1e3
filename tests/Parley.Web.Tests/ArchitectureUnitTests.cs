using Parley.Testing.Architecture;

namespace Parley.Web.Tests;

/// <summary>
/// The gateway's folders depend one way: requests go Api → Chat → Storage, XMPP goes Xmpp → Storage, and Storage
/// announces changes through its change feed instead of calling anyone. The root folder is the composition root: it
/// wires everything and nothing uses it.
/// </summary>
public sealed class ArchitectureUnitTests
{
    private static readonly Lazy<NamespaceGraph> Graph = new(() => NamespaceGraph.ReadUnder(typeof(GatewayApp).Assembly.Location, "Parley.Web"));

    [Fact]
    public void No_two_folders_depend_on_each_other()
        => Graph.Value.AssertNoCycles();

    [Theory]
    [InlineData("Parley.Web.Storage", "Parley.Web.Chat")]
    [InlineData("Parley.Web.Storage", "Parley.Web.Api")]
    [InlineData("Parley.Web.Storage", "Parley.Web.Xmpp")]
    [InlineData("Parley.Web.Storage", "Parley.Web.Auth")]
    [InlineData("Parley.Web.Chat", "Parley.Web.Api")]
    [InlineData("Parley.Web.Chat", "Parley.Web.Xmpp")]
    [InlineData("Parley.Web.Xmpp", "Parley.Web.Api")]
    [InlineData("Parley.Web.Xmpp", "Parley.Web.Chat")]
    [InlineData("Parley.Web.Auth", "Parley.Web.Api")]
    public void A_lower_folder_does_not_use_a_higher_one(string lower, string higher)
        => Assert.False(Graph.Value.DependsOn(lower, higher), $"{lower} uses {higher}");

    [Fact]
    public void Nothing_uses_the_composition_root()
    {
        var users = Graph.Value.Namespaces.Where(ns => ns != "Parley.Web" && Graph.Value.DependsOn(ns, "Parley.Web"));
        Assert.Empty(users);
    }

    [Fact]
    public void Every_log_event_id_of_the_gateway_is_used_once()
        => Assert.Empty(LogEventIds.Reused(typeof(GatewayApp).Assembly));
}
