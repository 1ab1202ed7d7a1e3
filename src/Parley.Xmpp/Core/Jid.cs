using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Parley.Xmpp.Core;

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
public sealed partial class Jid : IEquatable<Jid>
{
    private const int MaxPartBytes = 1023;

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
