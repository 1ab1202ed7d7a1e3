using Parley.Testing.Architecture;

namespace Parley.Xmpp.Tests.Support;

/// <summary>
/// The library's namespaces depend one way, the root namespace included: Core (Jid, the exceptions) at the bottom, then
/// Xml, then Stanzas, Forms, Sasl, Net and Im, then the root (the endpoints, their options and the engine), then
/// Accounts, Upload and Muc.
/// </summary>
public sealed class ArchitectureUnitTests
{
    [Fact]
    public void No_two_namespaces_of_the_library_depend_on_each_other()
    {
        var graph = NamespaceGraph.ReadUnder(typeof(XmppEndpoint).Assembly.Location, "Parley.Xmpp");
        Assert.Contains("Parley.Xmpp", graph.Namespaces);
        Assert.Contains("Parley.Xmpp.Xml", graph.Namespaces);
        Assert.Contains("Parley.Xmpp.Muc", graph.Namespaces);
        graph.AssertNoCycles();
    }
}
