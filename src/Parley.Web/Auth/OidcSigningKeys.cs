using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Parley.Web.Auth;

/// <summary>
/// Verifies an id_token's JWS signature (RFC 7515, compact form) with the provider's published keys (the discovery
/// document's <c>jwks_uri</c>, RFC 7517). RSA (RS256/384/512, PS256/384/512) and elliptic curves (ES256/384/512) are
/// accepted; <c>none</c> and the shared-secret HS algorithms are not. The key set is cached for a day and fetched again
/// when a token names a key id it does not hold (the provider rotated its keys), at most once a minute per provider.
/// </summary>
internal sealed class OidcSigningKeys(TimeProvider time)
{
    public static readonly TimeSpan KeepFor = TimeSpan.FromHours(24);
    public static readonly TimeSpan RefetchAfter = TimeSpan.FromMinutes(1);
    private const int MaxKeys = 64;
    private const int MaxHeaderLength = 2048;
    private readonly ConcurrentDictionary<Uri, Entry> _entries = new();

    /// <summary>Checks the signature of <paramref name="idToken"/> with a key from <paramref name="jwksUri"/>.</summary>
    /// <exception cref="ExternalSignInException">The token is malformed, its algorithm is not accepted, no published key fits, or the signature is wrong.</exception>
    public async Task VerifyAsync(string idToken, Uri jwksUri, HttpClient backchannel, CancellationToken cancellationToken)
    {
        var (alg, kid) = ReadHeader(idToken);
        var entry = _entries.GetOrAdd(jwksUri, static _ => new Entry());
        await entry.Gate.WaitAsync(cancellationToken);
        try
        {
            var now = time.GetUtcNow();
            var stale = entry.Keys is null || now >= entry.FetchedAt + KeepFor;
            var unknownKid = kid is not null && entry.Keys is { } held && !held.Any(k => k.TryGetProperty("kid", out var id) && id.ValueEquals(kid));
            if (entry.Keys is null || ((stale || unknownKid) && now >= entry.LastAttempt + RefetchAfter))
            {
                entry.LastAttempt = now;
                try
                {
                    entry.Keys = await FetchAsync(jwksUri, backchannel, cancellationToken);
                    entry.FetchedAt = now;
                }
                catch (ExternalSignInException) when (entry.Keys is not null)
                {
                    // The keys held still verify tokens signed before a rotation while the provider's key endpoint is down.
                }
            }

            Verify(idToken, alg, kid, entry.Keys!);
        }
        finally
        {
            entry.Gate.Release();
        }
    }

    /// <summary>Checks <paramref name="idToken"/> against the keys of a JWK set document (its <c>keys</c> array).</summary>
    /// <exception cref="ExternalSignInException">See <see cref="VerifyAsync"/>.</exception>
    internal static void Verify(string idToken, JsonElement keySet)
    {
        var (alg, kid) = ReadHeader(idToken);
        Verify(idToken, alg, kid, KeysOf(keySet));
    }

    private static void Verify(string idToken, string alg, string? kid, IReadOnlyList<JsonElement> keys)
    {
        var (family, hash) = Algorithm(alg);
        var candidates = keys.Where(k => Text(k, "kty") == family
            && Text(k, "use") is null or "sig"
            && (Text(k, "alg") is null || Text(k, "alg") == alg)
            && (kid is null || Text(k, "kid") == kid)).ToList();
        if (candidates.Count == 0)
        {
            throw new ExternalSignInException(kid is null
                ? $"The provider publishes no {family} key for the id_token's {alg} signature."
                : $"The provider publishes no key '{kid}' for the id_token's {alg} signature.");
        }

        var lastDot = idToken.LastIndexOf('.');
        var signedPart = Encoding.ASCII.GetBytes(idToken[..lastDot]);
        byte[] signature;
        try
        {
            signature = Base64Url.DecodeFromChars(idToken.AsSpan(lastDot + 1));
        }
        catch (FormatException e)
        {
            throw new ExternalSignInException("The id_token's signature is not base64url.", e);
        }

        foreach (var key in candidates)
        {
            if (VerifyWith(key, alg, hash, signedPart, signature))
            {
                return;
            }
        }

        throw new ExternalSignInException("The id_token's signature does not verify with the provider's published keys.");
    }

    private static bool VerifyWith(JsonElement key, string alg, HashAlgorithmName hash, byte[] signedPart, byte[] signature)
    {
        try
        {
            if (alg[0] == 'E')
            {
                var curve = (alg, Text(key, "crv")) switch
                {
                    ("ES256", "P-256") => ECCurve.NamedCurves.nistP256,
                    ("ES384", "P-384") => ECCurve.NamedCurves.nistP384,
                    ("ES512", "P-521") => ECCurve.NamedCurves.nistP521,
                    _ => (ECCurve?)null,
                };
                if (curve is null)
                {
                    return false;
                }

                using var ec = ECDsa.Create(new ECParameters { Curve = curve.Value, Q = new ECPoint { X = Bytes(key, "x"), Y = Bytes(key, "y") } });
                return ec.VerifyData(signedPart, signature, hash, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
            }

            using var rsa = RSA.Create(new RSAParameters { Modulus = Bytes(key, "n"), Exponent = Bytes(key, "e") });
            if (rsa.KeySize < 2048)
            {
                return false;
            }

            return rsa.VerifyData(signedPart, signature, hash, alg[0] == 'P' ? RSASignaturePadding.Pss : RSASignaturePadding.Pkcs1);
        }
        catch (Exception e) when (e is CryptographicException or FormatException or ArgumentException)
        {
            // A published key that cannot be loaded does not verify anything; another key may.
            return false;
        }
    }

    private static (string Family, HashAlgorithmName Hash) Algorithm(string alg) => alg switch
    {
        "RS256" or "PS256" => ("RSA", HashAlgorithmName.SHA256),
        "RS384" or "PS384" => ("RSA", HashAlgorithmName.SHA384),
        "RS512" or "PS512" => ("RSA", HashAlgorithmName.SHA512),
        "ES256" => ("EC", HashAlgorithmName.SHA256),
        "ES384" => ("EC", HashAlgorithmName.SHA384),
        "ES512" => ("EC", HashAlgorithmName.SHA512),
        _ => throw new ExternalSignInException($"The id_token is signed with '{alg}', which the gateway does not accept (RS*, PS* or ES* only)."),
    };

    /// <summary>The protected header's <c>alg</c> and <c>kid</c>.</summary>
    private static (string Alg, string? Kid) ReadHeader(string idToken)
    {
        var firstDot = idToken.IndexOf('.', StringComparison.Ordinal);
        if (firstDot <= 0 || firstDot > MaxHeaderLength || idToken.Count(c => c == '.') != 2)
        {
            throw new ExternalSignInException("The id_token is not a signed JWT.");
        }

        try
        {
            using var header = JsonDocument.Parse(Base64Url.DecodeFromChars(idToken.AsSpan(0, firstDot)), new JsonDocumentOptions { MaxDepth = 4 });
            var root = header.RootElement;
            if (root.ValueKind != JsonValueKind.Object || Text(root, "alg") is not { } alg)
            {
                throw new ExternalSignInException("The id_token's header names no algorithm.");
            }

            // RFC 7515 4.1.11: a "crit" extension the gateway does not know makes the token unusable.
            if (root.TryGetProperty("crit", out _))
            {
                throw new ExternalSignInException("The id_token's header has critical extensions the gateway does not understand.");
            }

            return (alg, Text(root, "kid"));
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            throw new ExternalSignInException("The id_token's header is not base64url JSON.", e);
        }
    }

    private static async Task<IReadOnlyList<JsonElement>> FetchAsync(Uri jwksUri, HttpClient backchannel, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, jwksUri);
        var (document, status) = await BackchannelJson.SendAsync(backchannel, request, cancellationToken);
        using (document)
        {
            if (status != HttpStatusCode.OK)
            {
                throw new ExternalSignInException($"{jwksUri} answered {(int)status}.");
            }

            return KeysOf(document.RootElement);
        }
    }

    /// <summary>The keys of a JWK set, detached from their document.</summary>
    private static List<JsonElement> KeysOf(JsonElement keySet)
    {
        if (keySet.ValueKind != JsonValueKind.Object || !keySet.TryGetProperty("keys", out var keys) || keys.ValueKind != JsonValueKind.Array)
        {
            throw new ExternalSignInException("The provider's key set has no \"keys\" array.");
        }

        return [.. keys.EnumerateArray().Where(k => k.ValueKind == JsonValueKind.Object).Take(MaxKeys).Select(k => k.Clone())];
    }

    private static byte[] Bytes(JsonElement key, string member)
        => Text(key, member) is { Length: > 0 and <= 2048 } text ? Base64Url.DecodeFromChars(text) : throw new FormatException($"The key has no '{member}'.");

    private static string? Text(JsonElement element, string member)
        => element.TryGetProperty(member, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private sealed class Entry
    {
        public SemaphoreSlim Gate { get; } = new(1, 1);

        public IReadOnlyList<JsonElement>? Keys { get; set; }

        public DateTimeOffset FetchedAt { get; set; }

        public DateTimeOffset LastAttempt { get; set; }
    }
}
