using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Parley.Xmpp.Core;

/// <summary>
/// The domainpart (RFC 7622 §3.2): an IPv4 address, an IPv6 literal in brackets, or a domain name held to DNS lengths and
/// IDNA2008, its A-labels turned into lower-case U-labels.
/// </summary>
public sealed partial class Jid
{
    // DNS: 63 octets per label and 253 for the whole name in its dotted ASCII form.
    private const int MaxLabelLength = 63;
    private const int MaxDomainNameLength = 253;

    private static bool TryNormalizeDomain(ReadOnlySpan<char> value, [NotNullWhen(true)] out string? normalized, out string error)
    {
        normalized = null;

        // RFC 7622 §3.2: a final dot is stripped before anything else.
        if (value.Length > 1 && value[^1] == '.')
        {
            value = value[..^1];
        }

        if (value.IsEmpty)
        {
            error = "the domainpart is empty";
            return false;
        }

        if (value.Length > MaxRawPartChars)
        {
            error = "the domainpart is too long";
            return false;
        }

        if (value[0] == '[')
        {
            return TryNormalizeIPv6Literal(value, out normalized, out error);
        }

        var ascii = true;
        var hasUpper = false;
        foreach (var c in value)
        {
            if (!char.IsAscii(c))
            {
                ascii = false;
                break;
            }

            hasUpper |= char.IsAsciiLetterUpper(c);
        }

        if (ascii)
        {
            var candidate = hasUpper ? LowerAscii(value) : value.ToString();
            if (IsIPv4(candidate))
            {
                normalized = candidate;
                error = string.Empty;
                return true;
            }

            if (!CheckHostName(candidate, out var hasALabel, out error))
            {
                return false;
            }

            if (!hasALabel)
            {
                normalized = candidate;
                return true;
            }

            return TryToUnicode(candidate, out normalized, out error);
        }

        string asciiName;
        try
        {
            // UTS #46 processing: maps case and width, normalizes, checks label syntax and length.
            asciiName = NewIdnMapping().GetAscii(value.ToString());
        }
        catch (ArgumentException)
        {
            error = "the domainpart is not a valid internationalized domain name";
            return false;
        }

        asciiName = asciiName.ToLowerInvariant();
        if (!CheckHostName(asciiName, out _, out error))
        {
            return false;
        }

        return TryToUnicode(asciiName, out normalized, out error);
    }

    private static IdnMapping NewIdnMapping() => new() { UseStd3AsciiRules = true, AllowUnassigned = false };

    // Converts a checked lower-case ASCII name with A-labels to U-labels, and holds the U-labels to IDNA2008,
    // which is stricter than the UTS #46 processing of IdnMapping (it rejects symbols such as U+265A).
    private static bool TryToUnicode(string asciiName, [NotNullWhen(true)] out string? normalized, out string error)
    {
        normalized = null;
        string unicode;
        try
        {
            unicode = NewIdnMapping().GetUnicode(asciiName);
        }
        catch (ArgumentException)
        {
            error = "the domainpart holds an invalid A-label";
            return false;
        }

        foreach (var label in unicode.Split('.'))
        {
            if (Ascii.IsValid(label))
            {
                continue;
            }

            if (!Precis.Check(label, identifier: true, out var reason) || label.Any(c => c < 0x80 && c != '-' && !char.IsAsciiLetterOrDigit(c)))
            {
                error = $"the domain label '{label}' is not a valid U-label: {reason}";
                return false;
            }
        }

        if (!CheckBytes(unicode, "domainpart", out error))
        {
            return false;
        }

        normalized = unicode;
        return true;
    }

    // NR-LDH labels and A-labels (RFC 5890): letters, digits, hyphen; no hyphen at either end;
    // "--" in the third and fourth position only for "xn--"; 1 to 63 characters; at most 253 in all.
    private static bool CheckHostName(string name, out bool hasALabel, out string error)
    {
        hasALabel = false;
        if (name.Length > MaxDomainNameLength)
        {
            error = $"the domain name is longer than {MaxDomainNameLength} characters";
            return false;
        }

        var start = 0;
        var allDigits = true;
        while (true)
        {
            var end = name.IndexOf('.', start);
            var label = end < 0 ? name.AsSpan(start) : name.AsSpan(start, end - start);
            if (label.IsEmpty || label.Length > MaxLabelLength)
            {
                error = label.IsEmpty ? "the domainpart has an empty label" : $"a domain label is longer than {MaxLabelLength} characters";
                return false;
            }

            allDigits = true;
            foreach (var c in label)
            {
                if (!char.IsAsciiLetterLower(c) && !char.IsAsciiDigit(c) && c != '-')
                {
                    error = c < 0x80 && !char.IsControl(c)
                        ? $"the domainpart may not contain '{c}'"
                        : $"the domainpart may not contain U+{(int)c:X4}";
                    return false;
                }

                allDigits &= char.IsAsciiDigit(c);
            }

            if (label[0] == '-' || label[^1] == '-')
            {
                error = "a domain label may not start or end with '-'";
                return false;
            }

            if (label.Length >= 4 && label[2] == '-' && label[3] == '-')
            {
                if (!label.StartsWith("xn--", StringComparison.Ordinal))
                {
                    error = "a domain label may not have '--' in the third and fourth position unless it is an A-label";
                    return false;
                }

                hasALabel = true;
            }

            if (end < 0)
            {
                break;
            }

            start = end + 1;
        }

        // A top-level domain is never all-numeric (RFC 3696 §2); such names are malformed IPv4 addresses.
        if (allDigits)
        {
            error = "the domainpart is neither a domain name nor a valid IPv4 address";
            return false;
        }

        error = string.Empty;
        return true;
    }

    // RFC 3986 IPv4address: four dec-octets 0-255 without leading zeros.
    private static bool IsIPv4(string value)
    {
        var parts = 0;
        var index = 0;
        while (index <= value.Length)
        {
            var end = value.IndexOf('.', index);
            var part = end < 0 ? value.AsSpan(index) : value.AsSpan(index, end - index);
            if (part.IsEmpty || part.Length > 3 || (part.Length > 1 && part[0] == '0') || !int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var octet) || octet > 255)
            {
                return false;
            }

            parts++;
            if (end < 0)
            {
                break;
            }

            index = end + 1;
        }

        return parts == 4;
    }

    private static bool TryNormalizeIPv6Literal(ReadOnlySpan<char> value, [NotNullWhen(true)] out string? normalized, out string error)
    {
        normalized = null;
        var inner = value.Length >= 2 && value[^1] == ']' ? value[1..^1] : default;

        // RFC 3986 IP-literal: no zone identifier, no IPvFuture.
        if (inner.IsEmpty || inner.Contains('%') || !inner.Contains(':')
            || !IPAddress.TryParse(inner, out var address) || address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            error = "the domainpart is not a valid IPv6 literal";
            return false;
        }

        normalized = $"[{address}]";
        error = string.Empty;
        return true;
    }
}
