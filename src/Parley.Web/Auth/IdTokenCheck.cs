using System.Buffers.Text;
using System.Text.Json;

namespace Parley.Web.Auth;

/// <summary>
/// Checks the claims of an id_token that came straight from the token endpoint (OpenID Connect Core 3.1.3.7): issuer,
/// audience, expiry, and that it names the same subject as the user-info answer (Core 5.3.2). Its signature is checked
/// separately, with the provider's published keys (<see cref="OidcSigningKeys"/>).
/// </summary>
/// <remarks>No nonce is sent; PKCE binds the code to this browser's flow.</remarks>
internal static class IdTokenCheck
{
    private const int MaxTokenLength = 16 * 1024;
    private static readonly TimeSpan Skew = TimeSpan.FromMinutes(5);

    /// <summary>Throws unless the id_token fits; <paramref name="idToken"/> absent (plain OAuth providers) is fine.</summary>
    /// <exception cref="ExternalSignInException">The token is malformed or its claims do not match.</exception>
    public static void Verify(string? idToken, string issuer, string clientId, string subject, DateTimeOffset now)
    {
        if (idToken is null)
        {
            return;
        }

        var parts = idToken.Split('.');
        if (idToken.Length > MaxTokenLength || parts.Length != 3)
        {
            throw new ExternalSignInException("The id_token is not a signed JWT.");
        }

        JsonDocument payload;
        try
        {
            payload = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[1]), new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            throw new ExternalSignInException("The id_token's payload is not base64url JSON.", e);
        }

        using (payload)
        {
            var claims = payload.RootElement;
            if (claims.ValueKind != JsonValueKind.Object)
            {
                throw new ExternalSignInException("The id_token's payload is not a JSON object.");
            }

            if (!claims.TryGetProperty("iss", out var iss) || iss.ValueKind != JsonValueKind.String || iss.GetString() != issuer)
            {
                throw new ExternalSignInException("The id_token was issued by someone else.");
            }

            var audienceOk = claims.TryGetProperty("aud", out var aud) && aud.ValueKind switch
            {
                JsonValueKind.String => aud.ValueEquals(clientId),
                JsonValueKind.Array => aud.EnumerateArray().Any(a => a.ValueKind == JsonValueKind.String && a.ValueEquals(clientId)),
                _ => false,
            };
            if (!audienceOk)
            {
                throw new ExternalSignInException("The id_token is meant for another client.");
            }

            if (!claims.TryGetProperty("exp", out var exp) || !exp.TryGetInt64(out var expires) || DateTimeOffset.FromUnixTimeSeconds(Math.Clamp(expires, 0, 253_402_300_799)) + Skew < now)
            {
                throw new ExternalSignInException("The id_token has expired.");
            }

            if (!claims.TryGetProperty("sub", out var sub) || sub.ValueKind != JsonValueKind.String || !sub.ValueEquals(subject))
            {
                throw new ExternalSignInException("The id_token and the user-info answer name different subjects.");
            }
        }
    }
}
