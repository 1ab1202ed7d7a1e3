using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Parley.Xmpp;

/// <summary>
/// An XMPP address (RFC 7622): <c>[local@]domain[/resource]</c>, held in normalized form so that
/// equal addresses compare equal.
/// </summary>
public sealed class Jid : IEquatable<Jid>
{
    private const int MaxPartBytes = 1023;
    private string? _full;
    private Jid? _bare;

    private Jid(string? local, string domain, string? resource)
    {
        Local = local;
        Domain = domain;
        Resource = resource;
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
    public Jid Bare => _bare ??= Resource is null ? this : new Jid(Local, Domain, null);

    /// <summary>Creates a JID from its parts, validating and normalizing each.</summary>
    /// <param name="local">The localpart, or <see langword="null"/>.</param>
    /// <param name="domain">The domainpart.</param>
    /// <param name="resource">The resourcepart, or <see langword="null"/>.</param>
    /// <exception cref="FormatException">A part is empty, too long or holds a character it may not.</exception>
    public static Jid Create(string? local, string domain, string? resource = null)
    {
        if (!TryCreate(local, domain, resource, out var jid, out var error))
        {
            throw new FormatException(error);
        }

        return jid;
    }

    /// <summary>Parses and normalizes a JID.</summary>
    /// <param name="value">The text, e.g. <c>alice@example.org/phone</c>.</param>
    /// <exception cref="FormatException">The text is not a valid JID; the message says why.</exception>
    public static Jid Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (!TryParse(value, out var jid, out var error))
        {
            throw new FormatException($"'{value}' is not a valid JID: {error}");
        }

        return jid;
    }

    /// <summary>Tries to parse a JID.</summary>
    /// <param name="value">The text.</param>
    /// <param name="jid">The JID, when valid.</param>
    public static bool TryParse([NotNullWhen(true)] string? value, [NotNullWhen(true)] out Jid? jid) => TryParse(value, out jid, out _);

    private static bool TryParse(string? value, [NotNullWhen(true)] out Jid? jid, out string error)
    {
        jid = null;
        if (string.IsNullOrEmpty(value))
        {
            error = "it is empty";
            return false;
        }

        // RFC 7622 §3.2: the resource starts at the first '/', the local part ends at the first '@' before it.
        var slash = value.IndexOf('/', StringComparison.Ordinal);
        var head = slash < 0 ? value.AsSpan() : value.AsSpan(0, slash);
        string? resource = slash < 0 ? null : value[(slash + 1)..];
        var at = head.IndexOf('@');
        string? local = at < 0 ? null : head[..at].ToString();
        var domain = at < 0 ? head.ToString() : head[(at + 1)..].ToString();
        if (slash >= 0 && resource!.Length == 0)
        {
            error = "the resource after '/' is empty";
            return false;
        }

        if (at >= 0 && local!.Length == 0)
        {
            error = "the local part before '@' is empty";
            return false;
        }

        return TryCreate(local, domain, resource, out jid, out error);
    }

    private static bool TryCreate(string? local, string domain, string? resource, [NotNullWhen(true)] out Jid? jid, out string error)
    {
        jid = null;
        if (local is not null && !TryNormalizeLocal(local, out local, out error))
        {
            return false;
        }

        if (!TryNormalizeDomain(domain, out domain, out error))
        {
            return false;
        }

        if (resource is not null && !TryNormalizeResource(resource, out resource, out error))
        {
            return false;
        }

        jid = new Jid(local, domain, resource);
        error = string.Empty;
        return true;
    }

    private static bool TryNormalizeLocal(string value, out string normalized, out string error)
    {
        // PRECIS UsernameCaseMapped (RFC 8265 §3.3): width-map, case-fold, NFC; no spaces or the
        // characters RFC 7622 §3.3.1 forbids in a localpart.
        normalized = value.Normalize(NormalizationForm.FormKC).ToLowerInvariant().Normalize(NormalizationForm.FormC);
        foreach (var rune in normalized.EnumerateRunes())
        {
            if (rune.Value is '"' or '&' or '\'' or '/' or ':' or '<' or '>' or '@' || Rune.IsWhiteSpace(rune) || Rune.IsControl(rune))
            {
                error = $"the local part may not contain '{EscapeForMessage(rune)}'";
                return false;
            }
        }

        return CheckLength(normalized, "local part", out error);
    }

    private static bool TryNormalizeDomain(string value, out string normalized, out string error)
    {
        normalized = value.EndsWith('.') ? value[..^1] : value;
        if (normalized.Length == 0)
        {
            error = "the domain is empty";
            return false;
        }

        if (normalized[0] == '[')
        {
            // IPv6 literal.
            if (!normalized.EndsWith(']') || !System.Net.IPAddress.TryParse(normalized.AsSpan(1, normalized.Length - 2), out _))
            {
                error = "the domain is not a valid IPv6 literal";
                return false;
            }

            normalized = normalized.ToLowerInvariant();
            error = string.Empty;
            return true;
        }

        normalized = normalized.Normalize(NormalizationForm.FormKC).ToLowerInvariant().Normalize(NormalizationForm.FormC);
        foreach (var rune in normalized.EnumerateRunes())
        {
            if (Rune.IsWhiteSpace(rune) || Rune.IsControl(rune) || rune.Value is '@' or '/' or '"' or '\'' or '<' or '>' or '&' or ':' or '\\')
            {
                error = $"the domain may not contain '{EscapeForMessage(rune)}'";
                return false;
            }
        }

        if (normalized.Split('.').Any(label => label.Length == 0))
        {
            error = "the domain has an empty label";
            return false;
        }

        return CheckLength(normalized, "domain", out error);
    }

    private static bool TryNormalizeResource(string value, out string normalized, out string error)
    {
        // PRECIS OpaqueString (RFC 7613 §4.2): map non-ASCII spaces to U+0020, NFC, no controls.
        var builder = new StringBuilder(value.Length);
        foreach (var rune in value.EnumerateRunes())
        {
            if (Rune.IsControl(rune))
            {
                normalized = value;
                error = "the resource may not contain control characters";
                return false;
            }

            builder.Append(Rune.IsWhiteSpace(rune) ? " " : rune.ToString());
        }

        normalized = builder.ToString().Normalize(NormalizationForm.FormC);
        return CheckLength(normalized, "resource", out error);
    }

    private static bool CheckLength(string part, string what, out string error)
    {
        if (part.Length == 0 || Encoding.UTF8.GetByteCount(part) > MaxPartBytes)
        {
            error = $"the {what} must be 1 to {MaxPartBytes} bytes long";
            return false;
        }

        error = string.Empty;
        return true;
    }

    private static string EscapeForMessage(Rune rune) => Rune.IsControl(rune) || Rune.IsWhiteSpace(rune) ? $"U+{rune.Value:X4}" : rune.ToString();

    /// <summary>Returns this JID with another resource.</summary>
    /// <param name="resource">The resource, or <see langword="null"/> for the bare JID.</param>
    /// <exception cref="FormatException">The resource is invalid.</exception>
    public Jid WithResource(string? resource) => resource is null ? Bare : Create(Local, Domain, resource);

    /// <inheritdoc />
    public bool Equals(Jid? other) => other is not null && string.Equals(Local, other.Local, StringComparison.Ordinal)
        && string.Equals(Domain, other.Domain, StringComparison.Ordinal) && string.Equals(Resource, other.Resource, StringComparison.Ordinal);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as Jid);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Local, Domain, Resource);

    /// <summary>The JID as text, e.g. <c>alice@example.org/phone</c>.</summary>
    public override string ToString() => _full ??= (Local, Resource) switch
    {
        (null, null) => Domain,
        (null, _) => $"{Domain}/{Resource}",
        (_, null) => $"{Local}@{Domain}",
        _ => $"{Local}@{Domain}/{Resource}",
    };

    /// <summary>Compares two JIDs.</summary>
    public static bool operator ==(Jid? left, Jid? right) => left is null ? right is null : left.Equals(right);

    /// <summary>Compares two JIDs.</summary>
    public static bool operator !=(Jid? left, Jid? right) => !(left == right);
}
