using Parley.Xmpp.Core;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp;

/// <summary>Renders elements for the trace-level traffic log with secrets replaced: SASL data, component handshakes, passwords in registration and data forms.</summary>
internal static class TrafficRedactor
{
    private const string Redacted = "[redacted]";

    public static string ToLogString(XmppElement element) => NeedsRedaction(element) ? Redact(element.Clone()).ToString() : element.ToString();

    private static bool NeedsRedaction(XmppElement element)
    {
        if (element.Namespace == XmppNamespaces.Sasl || element.Name == "handshake")
        {
            return true;
        }

        foreach (var child in element.Children)
        {
            if (IsSecretField(child) || NeedsRedaction(child))
            {
                return true;
            }
        }

        return false;
    }

    private static XmppElement Redact(XmppElement element)
    {
        if ((element.Namespace == XmppNamespaces.Sasl || element.Name == "handshake") && !string.IsNullOrEmpty(element.Text))
        {
            element.Text = Redacted;
        }

        foreach (var child in element.Children)
        {
            if (IsSecretField(child))
            {
                child.Text = child.Text is null ? null : Redacted;
                foreach (var value in child.Elements("value", XmppNamespaces.DataForms))
                {
                    value.Text = Redacted;
                }
            }
            else
            {
                Redact(child);
            }
        }

        return element;
    }

    private static bool IsSecretField(XmppElement element) =>
        (element.Name == "password" && element.Namespace == XmppNamespaces.Register)
        || (element.Name == "field" && element.Namespace == XmppNamespaces.DataForms
            && (element.GetAttribute("type") == "text-private" || (element.GetAttribute("var")?.Contains("password", StringComparison.OrdinalIgnoreCase) ?? false)));
}
