using System.Globalization;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp.Stanzas;

/// <summary>A XEP-0203 delayed-delivery stamp: when a stanza was originally sent and by whom it was held.</summary>
/// <param name="Stamp">The original send time, in UTC.</param>
/// <param name="From">The entity that delayed the stanza, if given.</param>
/// <param name="Reason">The reason text, if given.</param>
public sealed record Delay(DateTimeOffset Stamp, Jid? From, string? Reason)
{
    /// <summary>Reads the first valid <c>&lt;delay xmlns='urn:xmpp:delay'/&gt;</c> of a stanza; an unparseable stamp is ignored.</summary>
    /// <param name="stanza">The stanza.</param>
    public static Delay? FromStanza(XmppElement stanza)
    {
        ArgumentNullException.ThrowIfNull(stanza);
        foreach (var delay in stanza.Elements("delay", XmppNamespaces.Delay))
        {
            if (TryParseStamp(delay.GetAttribute("stamp"), out var stamp))
            {
                Jid.TryParse(delay.GetAttribute("from"), out var from);
                return new Delay(stamp, from, delay.Text);
            }
        }

        return null;
    }

    /// <summary>Creates the <c>&lt;delay/&gt;</c> element.</summary>
    public XmppElement ToElement()
    {
        var element = new XmppElement("delay", XmppNamespaces.Delay) { Text = Reason };
        element.SetAttribute("from", From?.ToString());
        element.SetAttribute("stamp", Stamp.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
        return element;
    }

    /// <summary>Parses a XEP-0082 DateTime (<c>CCYY-MM-DDThh:mm:ss[.sss]TZD</c>).</summary>
    /// <param name="value">The text.</param>
    /// <param name="stamp">The parsed time.</param>
    public static bool TryParseStamp(string? value, out DateTimeOffset stamp)
    {
        stamp = default;
        if (string.IsNullOrEmpty(value) || value.Length < 20 || value[10] != 'T')
        {
            return false;
        }

        return DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out stamp);
    }
}
