using System.Xml.Linq;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp.FileTransfer.Tests;

/// <summary>Builds an <see cref="XmppElement"/> from XML text (the core's parser is internal to it).</summary>
internal static class Xml
{
    public static XmppElement Parse(string xml) => Convert(XElement.Parse(xml));

    private static XmppElement Convert(XElement source)
    {
        var element = new XmppElement(source.Name.LocalName, source.Name.NamespaceName);
        foreach (var attribute in source.Attributes().Where(a => !a.IsNamespaceDeclaration))
        {
            element.SetAttribute(attribute.Name.LocalName, attribute.Value);
        }

        foreach (var child in source.Elements())
        {
            element.Add(Convert(child));
        }

        if (!source.HasElements && source.Value.Length > 0)
        {
            element.Text = source.Value;
        }

        return element;
    }
}
