using System.Buffers;
using System.Text;

namespace Parley.Xmpp.Tests.Accounts;

/// <summary>Turns XML text (a spec example) into the element the library would receive, through the real stream parser.</summary>
internal static class TestXml
{
    private const string Header = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";

    public static XmppElement Parse(string xml)
    {
        var parser = new XmlStreamParser(XmlLimits.Default, StanzaRootFactory.Instance);
        var buffer = new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(Header + xml.Trim()));
        Assert.True(parser.TryRead(ref buffer, out var kind, out _));
        Assert.Equal(XmlStreamEventKind.StreamHeader, kind);
        Assert.True(parser.TryRead(ref buffer, out kind, out var element));
        Assert.Equal(XmlStreamEventKind.Element, kind);
        return element!;
    }

    public static Iq ParseIq(string xml) => Assert.IsType<Iq>(Parse(xml));

    /// <summary>Serializes and parses again: what a peer would read from what we write.</summary>
    public static XmppElement RoundTrip(XmppElement element) => Parse(element.ToString());
}
