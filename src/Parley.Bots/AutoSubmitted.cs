using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Bots;

/// <summary>
/// Marks and recognises machine-generated messages: an RFC 3834 <c>Auto-Submitted</c> header carried as a
/// XEP-0131 SHIM header. Parley's bots mark every message they send and never answer a marked one, so two
/// bots cannot talk to each other forever.
/// </summary>
public static class AutoSubmitted
{
    /// <summary>The SHIM namespace (XEP-0131).</summary>
    public const string ShimNamespace = "http://jabber.org/protocol/shim";

    /// <summary>The header name (RFC 3834 §5).</summary>
    public const string HeaderName = "Auto-Submitted";

    /// <summary>The value for a reply to a message (RFC 3834 §5.2).</summary>
    public const string AutoReplied = "auto-replied";

    /// <summary>Adds the header with <paramref name="value"/> (replacing an earlier one).</summary>
    /// <param name="message">The message.</param>
    /// <param name="value">e.g. <see cref="AutoReplied"/> or <c>auto-generated</c>.</param>
    public static void Mark(Message message, string value)
    {
        ArgumentNullException.ThrowIfNull(message);
        var headers = message.Element("headers", ShimNamespace) ?? message.Add(new XmppElement("headers", ShimNamespace));
        foreach (var existing in headers.Elements("header", ShimNamespace).Where(IsAutoSubmittedHeader).ToList())
        {
            headers.Remove(existing);
        }

        headers.AddChild("header", text: value).SetAttribute("name", HeaderName);
    }

    /// <summary>Whether the message says it was sent by a machine (an <c>Auto-Submitted</c> header with any value but <c>no</c>).</summary>
    /// <param name="message">The message.</param>
    public static bool IsMarked(Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return message.Element("headers", ShimNamespace)?.Elements("header", ShimNamespace)
            .Any(h => IsAutoSubmittedHeader(h) && !string.Equals(h.Text?.Trim(), "no", StringComparison.OrdinalIgnoreCase)) ?? false;
    }

    private static bool IsAutoSubmittedHeader(XmppElement header) => string.Equals(header.GetAttribute("name")?.Trim(), HeaderName, StringComparison.OrdinalIgnoreCase);
}
