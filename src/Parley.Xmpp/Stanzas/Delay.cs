using System.Globalization;
using Parley.Xmpp.Core;
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

    /// <summary>
    /// Parses a XEP-0082 DateTime, <c>CCYY-MM-DDThh:mm:ss[.s…]TZD</c> where TZD is <c>Z</c> or <c>±hh:mm</c>, into UTC.
    /// Fractions beyond 100 ns are truncated. Anything else (no time zone, spaces, other layouts) is rejected.
    /// </summary>
    /// <param name="value">The text.</param>
    /// <param name="stamp">The parsed time, with offset zero.</param>
    public static bool TryParseStamp(string? value, out DateTimeOffset stamp)
    {
        stamp = default;
        const int MaxLength = 64;
        if (value is null || value.Length is < 20 or > MaxLength
            || value[4] != '-' || value[7] != '-' || value[10] != 'T' || value[13] != ':' || value[16] != ':'
            || !TryDigits(value, 0, 4, out var year) || !TryDigits(value, 5, 2, out var month) || !TryDigits(value, 8, 2, out var day)
            || !TryDigits(value, 11, 2, out var hour) || !TryDigits(value, 14, 2, out var minute) || !TryDigits(value, 17, 2, out var second))
        {
            return false;
        }

        var i = 19;
        long fraction = 0;
        if (value[i] == '.')
        {
            var start = ++i;
            while (i < value.Length && char.IsAsciiDigit(value[i]))
            {
                if (i - start < 7)
                {
                    fraction = (fraction * 10) + (value[i] - '0');
                }

                i++;
            }

            if (i == start)
            {
                return false;
            }

            for (var digits = Math.Min(i - start, 7); digits < 7; digits++)
            {
                fraction *= 10;
            }
        }

        TimeSpan offset;
        if (i == value.Length - 1 && value[i] == 'Z')
        {
            offset = TimeSpan.Zero;
        }
        else if (i == value.Length - 6 && value[i] is '+' or '-' && value[i + 3] == ':'
            && TryDigits(value, i + 1, 2, out var offsetHours) && TryDigits(value, i + 4, 2, out var offsetMinutes)
            && offsetHours <= 14 && offsetMinutes <= 59)
        {
            offset = new TimeSpan(offsetHours, offsetMinutes, 0);
            if (value[i] == '-')
            {
                offset = -offset;
            }
        }
        else
        {
            return false;
        }

        if (year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 59)
        {
            return false;
        }

        var utcTicks = new DateTime(year, month, day, hour, minute, second, DateTimeKind.Unspecified).Ticks + fraction - offset.Ticks;
        if (utcTicks < DateTime.MinValue.Ticks || utcTicks > DateTime.MaxValue.Ticks)
        {
            return false;
        }

        stamp = new DateTimeOffset(utcTicks, TimeSpan.Zero);
        return true;
    }

    private static bool TryDigits(string text, int start, int count, out int value)
    {
        value = 0;
        for (var i = start; i < start + count; i++)
        {
            if (!char.IsAsciiDigit(text[i]))
            {
                return false;
            }

            value = (value * 10) + (text[i] - '0');
        }

        return true;
    }
}
