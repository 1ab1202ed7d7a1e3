using Parley.Testing.Architecture;

namespace Parley.Xmpp.Tests.Support;

/// <summary>
/// The library's parts (Xml, Net, Sasl, Stanzas, Im, Accounts, Forms, Upload, Internal) depend one way. The root
/// namespace is left out: it is the public surface every part speaks (Jid, the exceptions, the options) and the
/// endpoints that compose the parts, so parts use it and it uses them by design.
/// </summary>
public sealed class ArchitectureUnitTests
{
    [Fact]
    public void No_two_namespaces_of_the_library_depend_on_each_other()
    {
        var graph = NamespaceGraph.ReadUnder(typeof(XmppEndpoint).Assembly.Location, "Parley.Xmpp.");
        Assert.Contains("Parley.Xmpp.Xml", graph.Namespaces);
        graph.AssertNoCycles();
    }
}
