using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Parley.Web.Configuration;
using Parley.Web.Storage;
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

/// <summary>
/// A site user as a verified token names them. <see cref="UsedUntil"/> is how long the token must be remembered as
/// used: until <see cref="EmbedTokens.Verify"/> refuses it as expired on any gateway whose clock is within
/// <see cref="EmbedTokens.ClockSkew"/> of this one's.
/// </summary>
internal sealed record EmbedIdentity(string Issuer, string Subject, string Name, string Signature, DateTimeOffset UsedUntil);

/// <summary>
/// Checks the sign-in tokens that a host site's server computes for its signed-in user:
/// <c>sig = hex(HMAC-SHA256(secret, user + "\n" + name + "\n" + ts))</c>, with <c>ts</c> in Unix seconds (UTF-8; the
/// newline cannot occur in either field, so no two (user, name) pairs sign the same bytes). A token is accepted within
/// <c>TokenLifetime</c> of its timestamp, and once: <see cref="WidgetApi"/> records its signature as used in the store,
/// shared by every gateway on the database, until it would have expired anyway.
/// </summary>
internal sealed class EmbedTokens(IOptions<GatewayOptions> options, TimeProvider time)
{
    public const string IssuerPrefix = "embed:";
    public const int MaxUserLength = 256;
    public const int MaxNameLength = 256;

    /// <summary>How far in the future a timestamp may be (the two servers' clocks differ a little).</summary>
    public static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(1);

    /// <summary>Checks a token without using it up (that is <see cref="UsedTokenKey"/> in the store).</summary>
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

        identity = new EmbedIdentity(IssuerPrefix + secret.Host.ToLowerInvariant(), user, name, signature.ToLowerInvariant(), issued + settings.TokenLifetime + ClockSkew);
        return EmbedTokenCheck.Valid;
    }

    /// <summary>
    /// The name a verified token is recorded under once used (<see cref="LimitRepository.TryUseOnceAsync"/>): the same
    /// signature from any gateway is the same token.
    /// </summary>
    public static string UsedTokenKey(EmbedIdentity identity) => IssuerPrefix + identity.Signature;

    /// <summary>The exact bytes (as text) a site signs.</summary>
    public static string SignedText(string user, string name, string timestamp) => user + "\n" + name + "\n" + timestamp;
}
