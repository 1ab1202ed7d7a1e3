using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Parley.Web.Configuration;
using Parley.Web.Text;

namespace Parley.Web.Api;

/// <summary>The outcome of checking a site's sign-in token.</summary>
internal enum EmbedTokenCheck
{
    /// <summary>Signed by the site, fresh, and not seen before.</summary>
    Valid,

    /// <summary>A field is missing, too long, or not in its format.</summary>
    Malformed,

    /// <summary>No site of that name is configured.</summary>
    UnknownSite,

    /// <summary>The signature does not match (wrong secret, or a field was changed).</summary>
    BadSignature,

    /// <summary>The timestamp is outside the window.</summary>
    Expired,

    /// <summary>This token was already used.</summary>
    Replayed,
}

/// <summary>A site user as a verified token names them.</summary>
internal sealed record EmbedIdentity(string Issuer, string Subject, string Name, string Signature);

/// <summary>
/// Checks the sign-in tokens that a host site's server computes for its signed-in user:
/// <c>sig = hex(HMAC-SHA256(secret, user + "\n" + name + "\n" + ts))</c>, with <c>ts</c> in Unix seconds (UTF-8; the
/// newline cannot occur in either field, so no two (user, name) pairs sign the same bytes). A token is accepted within
/// <c>TokenLifetime</c> of its timestamp, and once: its signature is remembered until it would have expired anyway.
/// </summary>
internal sealed class EmbedTokens(IOptions<GatewayOptions> options, TimeProvider time)
{
    public const string IssuerPrefix = "embed:";
    public const int MaxUserLength = 256;
    public const int MaxNameLength = 256;

    /// <summary>How far in the future a timestamp may be (the two servers' clocks differ a little).</summary>
    public static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(1);

    private const int MaxRemembered = 100_000;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, DateTimeOffset> _used = new(StringComparer.Ordinal);

    /// <summary>Checks a token without using it up.</summary>
    public EmbedTokenCheck Verify(string? site, string? user, string? name, string? timestamp, string? signature, out EmbedIdentity? identity)
    {
        identity = null;
        if (string.IsNullOrEmpty(site) || string.IsNullOrEmpty(user) || user.Length > MaxUserLength || name is null || name.Length > MaxNameLength
            || user.Contains('\n', StringComparison.Ordinal) || name.Contains('\n', StringComparison.Ordinal)
            || !TextRules.IsXmlSafe(user) || user.Any(char.IsControl)
            || timestamp is not { Length: >= 1 and <= 12 } || !timestamp.All(char.IsAsciiDigit)
            || signature is not { Length: 64 } || !signature.All(char.IsAsciiHexDigit))
        {
            return EmbedTokenCheck.Malformed;
        }

        var settings = options.Value.Widget;
        var secret = settings.Sites.Find(s => string.Equals(s.Host, site, StringComparison.OrdinalIgnoreCase));
        if (secret is null)
        {
            return EmbedTokenCheck.UnknownSite;
        }

        var expected = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret.Secret), Encoding.UTF8.GetBytes(SignedText(user, name, timestamp)));
        if (!CryptographicOperations.FixedTimeEquals(expected, Convert.FromHexString(signature)))
        {
            return EmbedTokenCheck.BadSignature;
        }

        // Twelve digits reach past the year 9999, which no clock shows: such a token is from the future.
        var seconds = long.Parse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture);
        if (seconds > DateTimeOffset.MaxValue.ToUnixTimeSeconds())
        {
            return EmbedTokenCheck.Expired;
        }

        var issued = DateTimeOffset.FromUnixTimeSeconds(seconds);
        var now = time.GetUtcNow();
        if (issued > now + ClockSkew || now - issued > settings.TokenLifetime)
        {
            return EmbedTokenCheck.Expired;
        }

        identity = new EmbedIdentity(IssuerPrefix + secret.Host.ToLowerInvariant(), user, name, signature.ToLowerInvariant());
        return EmbedTokenCheck.Valid;
    }

    /// <summary>Marks a verified token used; false when it already was (a replay), or when too many live tokens are remembered.</summary>
    public bool TryUse(EmbedIdentity identity, string timestamp)
    {
        var expires = DateTimeOffset.FromUnixTimeSeconds(long.Parse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture)) + options.Value.Widget.TokenLifetime + ClockSkew;
        var now = time.GetUtcNow();
        lock (_lock)
        {
            if (_used.TryGetValue(identity.Signature, out var until) && until > now)
            {
                return false;
            }

            if (_used.Count >= MaxRemembered)
            {
                foreach (var (key, at) in _used)
                {
                    if (at <= now)
                    {
                        _used.Remove(key);
                    }
                }

                // Refusing is safe (the site user can reload); forgetting a live token would let it be replayed.
                if (_used.Count >= MaxRemembered)
                {
                    return false;
                }
            }

            _used[identity.Signature] = expires;
            return true;
        }
    }

    /// <summary>The exact bytes (as text) a site signs.</summary>
    public static string SignedText(string user, string name, string timestamp) => user + "\n" + name + "\n" + timestamp;
}
