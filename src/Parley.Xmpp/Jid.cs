using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Parley.Xmpp.Internal;

namespace Parley.Xmpp;

/// <summary>
/// An XMPP address (RFC 7622): <c>[local@]domain[/resource]</c>, held in normalized form so that
/// equal addresses compare equal.
/// </summary>
/// <remarks>
/// The localpart is enforced with the PRECIS UsernameCaseMapped profile (so it is lower-cased) and may not
/// contain <c>" &amp; ' / : &lt; &gt; @</c> or spaces (use <see cref="JidEscaping"/> for those); the domainpart
/// is an IPv4 address, an IPv6 literal in brackets or a domain name whose A-labels are turned into lower-case
/// U-labels (IDNA2008), without a trailing dot; the resourcepart is enforced with the OpaqueString profile
/// (case and spaces are kept). Each part is 1 to 1023 UTF-8 bytes. Plain lower-case ASCII input is taken
/// as is, without normalization work.
/// </remarks>
public sealed class Jid : IEquatable<Jid>
{
    private const int MaxPartBytes = 1023;

    // DNS: 63 octets per label and 253 for the whole name in its dotted ASCII form.
    private const int MaxLabelLength = 63;
    private const int MaxDomainNameLength = 253;

    // NFC can shrink input (a conjoining Hangul L+V+T sequence becomes one syllable: 9 UTF-8 bytes to 3),
    // so the exact byte limit is checked on the normalized part; this bound only stops huge input early.
    private const int MaxRawPartChars = 3 * MaxPartBytes;

    private string? _full;
    private Jid? _bare;

    private Jid(string? local, string domain, string? resource, string? full)
    {
        Local = local;
        Domain = domain;
        Resource = resource;
        _full = full;
    }

    /// <summary>The localpart (the user), or <see langword="null"/> for a server or component address.</summary>
    public string? Local { get; }

    /// <summary>The domainpart.</summary>
    public string Domain { get; }

    /// <summary>The resourcepart, or <see langword="null"/> for a bare JID.</summary>
    public string? Resource { get; }

    /// <summary>Whether this JID has no resource.</summary>
    public bool IsBare => Resource is null;

    /// <summary>This JID without its resource.</summary>
    public Jid Bare => _bare ??= Resource is null ? this : new Jid(Local, Domain, null, null);

    /// <summary>Creates a JID from its parts, validating and normalizing each.</summary>
    /// <param name="local">The localpart, or <see langword="null"/>. Escape user input with <see cref="JidEscaping.Escape"/> first.</param>
    /// <param name="domain">The domainpart.</param>
    /// <param name="resource">The resourcepart, or <see langword="null"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="domain"/> is <see langword="null"/>.</exception>
    /// <exception cref="FormatException">A part is empty, too long or holds a character it may not.</exception>
    public static Jid Create(string? local, string domain, string? resource = null)
    {
        ArgumentNullException.ThrowIfNull(domain);
        string? error;
        string? normalizedLocal = null;
        string? normalizedResource = null;
        if ((local is not null && !TryNormalizeLocal(local, out normalizedLocal, out error))
            || !TryNormalizeDomain(domain, out var normalizedDomain, out error)
            || (resource is not null && !TryNormalizeResource(resource, out normalizedResource, out error)))
        {
            throw new FormatException($"Invalid JID part: {error}.");
        }

        return new Jid(normalizedLocal, normalizedDomain, normalizedResource, null);
    }

    /// <summary>Parses and normalizes a JID.</summary>
    /// <param name="value">The text, e.g. <c>alice@example.org/phone</c>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="value"/> is <see langword="null"/>.</exception>
    /// <exception cref="FormatException">The text is not a valid JID; the message says why.</exception>
    public static Jid Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (!TryParse(value, out var jid, out var error))
        {
            throw new FormatException($"'{Truncate(value)}' is not a valid JID: {error}.");
        }

        return jid;
    }

    /// <summary>Tries to parse and normalize a JID.</summary>
    /// <param name="value">The text.</param>
    /// <param name="jid">The JID, when valid.</param>
    /// <returns>Whether <paramref name="value"/> is a valid JID.</returns>
    public static bool TryParse([NotNullWhen(true)] string? value, [NotNullWhen(true)] out Jid? jid) => TryParse(value, out jid, out _);

    private static bool TryParse(string? value, [NotNullWhen(true)] out Jid? jid, out string error)
    {
        jid = null;
        if (string.IsNullOrEmpty(value))
        {
            error = "it is empty";
            return false;
        }

        if (value.Length > (3 * MaxRawPartChars) + 2)
        {
            error = "it is too long";
            return false;
        }

        // RFC 7622 §3.1: the resourcepart starts at the first '/', the localpart ends at the first '@' before it.
        var slash = value.IndexOf('/', StringComparison.Ordinal);
        var headLength = slash < 0 ? value.Length : slash;
        var at = value.AsSpan(0, headLength).IndexOf('@');
        var domainStart = at + 1;

        string? local = null;
        if (at >= 0 && !TryNormalizeLocal(value.AsSpan(0, at), out local, out error))
        {
            return false;
        }

        if (!TryNormalizeDomain(value.AsSpan(domainStart, headLength - domainStart), out var domain, out error))
        {
            return false;
        }

        string? resource = null;
        if (slash >= 0 && !TryNormalizeResource(value.AsSpan(slash + 1), out resource, out error))
        {
            return false;
        }

        // When the text already is the canonical form, ToString returns it instead of building a new string.
        var unchanged = (local is null || value.AsSpan(0, at).SequenceEqual(local))
            && value.AsSpan(domainStart, headLength - domainStart).SequenceEqual(domain)
            && (resource is null || value.AsSpan(slash + 1).SequenceEqual(resource));
        if (unchanged && local is null && resource is null)
        {
            domain = value;
        }

        jid = new Jid(local, domain, resource, unchanged ? value : null);
        return true;
    }

    private static bool TryNormalizeLocal(ReadOnlySpan<char> value, [NotNullWhen(true)] out string? normalized, out string error)
    {
        normalized = null;
        if (value.IsEmpty)
        {
            error = "the localpart before '@' is empty";
            return false;
        }

        if (value.Length > MaxRawPartChars)
        {
            error = $"the localpart is longer than {MaxPartBytes} bytes";
            return false;
        }

        // Fast path: printable ASCII other than the forbidden characters is valid in IdentifierClass and
        // UsernameCaseMapped only lower-cases it.
        var hasUpper = false;
        var ascii = true;
        foreach (var c in value)
        {
            if (c is < '!' or > '~')
            {
                ascii = false;
                break;
            }

            if (IsForbiddenInLocal(c))
            {
                error = $"the localpart may not contain '{c}' (escape it with JidEscaping)";
                return false;
            }

            hasUpper |= char.IsAsciiLetterUpper(c);
        }

        if (ascii)
        {
            if (value.Length > MaxPartBytes)
            {
                error = $"the localpart is longer than {MaxPartBytes} bytes";
                return false;
            }

            normalized = hasUpper ? LowerAscii(value) : value.ToString();
            error = string.Empty;
            return true;
        }

        if (!Precis.TryEnforceUsernameCaseMapped(value.ToString(), out var result, out var reason))
        {
            error = $"the localpart is invalid: {reason}";
            return false;
        }

        // Width mapping can turn a full-width form into one of the forbidden ASCII characters.
        foreach (var c in result)
        {
            if (IsForbiddenInLocal(c))
            {
                error = $"the localpart may not contain '{c}' (escape it with JidEscaping)";
                return false;
            }
        }

        if (!CheckBytes(result, "localpart", out error))
        {
            return false;
        }

        normalized = result;
        return true;
    }

    // RFC 7622 §3.3.1: the characters a localpart may not hold even though IdentifierClass allows them.
    private static bool IsForbiddenInLocal(char c) => c is '"' or '&' or '\'' or '/' or ':' or '<' or '>' or '@';

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

    private static bool TryNormalizeResource(ReadOnlySpan<char> value, [NotNullWhen(true)] out string? normalized, out string error)
    {
        normalized = null;
        if (value.IsEmpty)
        {
            error = "the resourcepart after '/' is empty";
            return false;
        }

        if (value.Length > MaxRawPartChars)
        {
            error = $"the resourcepart is longer than {MaxPartBytes} bytes";
            return false;
        }

        // Fast path: printable ASCII and space are valid in FreeformClass and OpaqueString maps none of them.
        if (!value.ContainsAnyExceptInRange(' ', '~'))
        {
            if (value.Length > MaxPartBytes)
            {
                error = $"the resourcepart is longer than {MaxPartBytes} bytes";
                return false;
            }

            normalized = value.ToString();
            error = string.Empty;
            return true;
        }

        if (!Precis.TryEnforceOpaqueString(value.ToString(), out var result, out var reason))
        {
            error = $"the resourcepart is invalid: {reason}";
            return false;
        }

        if (!CheckBytes(result, "resourcepart", out error))
        {
            return false;
        }

        normalized = result;
        return true;
    }

    private static bool CheckBytes(string part, string what, out string error)
    {
        if (Encoding.UTF8.GetByteCount(part) > MaxPartBytes)
        {
            error = $"the {what} is longer than {MaxPartBytes} bytes";
            return false;
        }

        error = string.Empty;
        return true;
    }

    private static string LowerAscii(ReadOnlySpan<char> value) => string.Create(value.Length, value, static (span, source) =>
    {
        for (var i = 0; i < source.Length; i++)
        {
            var c = source[i];
            span[i] = char.IsAsciiLetterUpper(c) ? (char)(c | 0x20) : c;
        }
    });

    private static string Truncate(string value) => value.Length <= 100 ? value : string.Concat(value.AsSpan(0, 100), "…");

    /// <summary>Returns this JID with another resource.</summary>
    /// <param name="resource">The resource, or <see langword="null"/> for the bare JID.</param>
    /// <exception cref="FormatException">The resource is invalid.</exception>
    public Jid WithResource(string? resource)
    {
        if (resource is null)
        {
            return Bare;
        }

        if (!TryNormalizeResource(resource, out var normalized, out var error))
        {
            throw new FormatException($"Invalid JID part: {error}.");
        }

        return new Jid(Local, Domain, normalized, null);
    }

    /// <inheritdoc />
    public bool Equals(Jid? other) => other is not null && (ReferenceEquals(this, other)
        || (string.Equals(Local, other.Local, StringComparison.Ordinal) && string.Equals(Domain, other.Domain, StringComparison.Ordinal)
            && string.Equals(Resource, other.Resource, StringComparison.Ordinal)));

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as Jid);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Local, Domain, Resource);

    /// <summary>The JID as text in normalized form, e.g. <c>alice@example.org/phone</c>.</summary>
    public override string ToString() => _full ??= (Local, Resource) switch
    {
        (null, null) => Domain,
        (null, _) => $"{Domain}/{Resource}",
        (_, null) => $"{Local}@{Domain}",
        _ => $"{Local}@{Domain}/{Resource}",
    };

    /// <summary>Compares two JIDs by their normalized parts.</summary>
    /// <param name="left">A JID, or <see langword="null"/>.</param>
    /// <param name="right">A JID, or <see langword="null"/>.</param>
    /// <returns>Whether both are <see langword="null"/> or equal.</returns>
    public static bool operator ==(Jid? left, Jid? right) => left is null ? right is null : left.Equals(right);

    /// <summary>Compares two JIDs by their normalized parts.</summary>
    /// <param name="left">A JID, or <see langword="null"/>.</param>
    /// <param name="right">A JID, or <see langword="null"/>.</param>
    /// <returns>Whether they differ.</returns>
    public static bool operator !=(Jid? left, Jid? right) => !(left == right);
}
