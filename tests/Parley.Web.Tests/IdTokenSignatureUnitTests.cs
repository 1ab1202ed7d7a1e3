using System.Buffers.Text;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Parley.Web.Auth;

namespace Parley.Web.Tests;

/// <summary>
/// The id_token's JWS signature against the provider's published keys (RFC 7515/7517/7518), with keys made here; the
/// whole flow against a real OpenID provider (its RS256 keys, its jwks_uri) is in <see cref="ExternalSignInTests"/>.
/// </summary>
public sealed class IdTokenSignatureUnitTests
{
    private static readonly object Claims = new { iss = "https://op.example", aud = "client", sub = "alice", exp = 2_000_000_000 };

    [Theory]
    [InlineData("RS256")]
    [InlineData("RS512")]
    [InlineData("PS256")]
    [InlineData("ES256")]
    [InlineData("ES384")]
    [InlineData("ES512")]
    public void A_token_signed_with_a_published_key_verifies(string alg)
    {
        using var key = Key.Create(alg, "k1");
        using var other = Key.Create(alg, "k0");
        OidcSigningKeys.Verify(key.Sign(alg, Claims), KeySet(other, key));
    }

    [Fact]
    public void A_token_without_a_key_id_is_tried_with_every_key_of_its_type()
    {
        using var key = Key.Create("RS256", kid: null);
        using var ec = Key.Create("ES256", "e1");
        using var other = Key.Create("RS256", "r0");
        OidcSigningKeys.Verify(key.Sign("RS256", Claims), KeySet(ec, other, key));
    }

    [Fact]
    public void A_changed_payload_or_signature_does_not_verify()
    {
        using var key = Key.Create("RS256", "k1");
        var token = key.Sign("RS256", Claims);
        var parts = token.Split('.');
        var forged = parts[0] + "." + Base64Url.EncodeToString(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { iss = "https://op.example", aud = "client", sub = "mallory", exp = 2_000_000_000 }))) + "." + parts[2];
        Assert.Contains("does not verify", Assert.Throws<ExternalSignInException>(() => OidcSigningKeys.Verify(forged, KeySet(key))).Message, StringComparison.Ordinal);

        var signature = Base64Url.DecodeFromChars(parts[2]);
        signature[^1] ^= 1;
        Assert.Contains("does not verify", Assert.Throws<ExternalSignInException>(() => OidcSigningKeys.Verify(parts[0] + "." + parts[1] + "." + Base64Url.EncodeToString(signature), KeySet(key))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_token_signed_by_another_key_with_a_published_key_id_does_not_verify()
    {
        using var published = Key.Create("ES256", "k1");
        using var attacker = Key.Create("ES256", "k1");
        Assert.Throws<ExternalSignInException>(() => OidcSigningKeys.Verify(attacker.Sign("ES256", Claims), KeySet(published)));
    }

    [Theory]
    [InlineData("none", "does not accept")]
    [InlineData("HS256", "does not accept")]
    public void Unsigned_and_shared_secret_tokens_are_refused(string alg, string reason)
    {
        using var key = Key.Create("RS256", "k1");
        var token = Header(alg, "k1") + "." + Payload(Claims) + "." + (alg == "none" ? "" : Base64Url.EncodeToString(HMACSHA256.HashData(Encoding.UTF8.GetBytes("client-secret"), Encoding.ASCII.GetBytes(Header(alg, "k1") + "." + Payload(Claims)))));
        Assert.Contains(reason, Assert.Throws<ExternalSignInException>(() => OidcSigningKeys.Verify(token, KeySet(key))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_key_id_a_short_RSA_key_or_a_key_for_encryption_does_not_verify()
    {
        using var key = Key.Create("RS256", "k1");
        Assert.Contains("no key 'k1'", Assert.Throws<ExternalSignInException>(() => OidcSigningKeys.Verify(key.Sign("RS256", Claims), KeySet())).Message, StringComparison.Ordinal);

        using var shortKey = new Key(RSA.Create(1024), "short");
        Assert.Throws<ExternalSignInException>(() => OidcSigningKeys.Verify(shortKey.Sign("RS256", Claims), KeySet(shortKey)));

        var encryptionOnly = JsonDocument.Parse(JsonSerializer.Serialize(new { keys = new[] { key.Jwk(use: "enc") } })).RootElement;
        Assert.Throws<ExternalSignInException>(() => OidcSigningKeys.Verify(key.Sign("RS256", Claims), encryptionOnly));
    }

    [Fact]
    public async Task The_key_set_is_cached_and_fetched_again_when_the_provider_rotates_its_keys()
    {
        using var first = Key.Create("RS256", "2026-a");
        using var second = Key.Create("RS256", "2026-b");
        var time = new ManualTime(new DateTimeOffset(2026, 11, 22, 12, 0, 0, TimeSpan.Zero));
        using var handler = new KeySetHandler { Current = JsonSerializer.Serialize(new { keys = new[] { first.Jwk() } }) };
        using var backchannel = new HttpClient(handler);
        var keys = new OidcSigningKeys(time);
        var jwks = new Uri("https://op.example/jwks");

        await keys.VerifyAsync(first.Sign("RS256", Claims), jwks, backchannel, CancellationToken.None);
        await keys.VerifyAsync(first.Sign("RS256", Claims), jwks, backchannel, CancellationToken.None);
        Assert.Equal(1, handler.Requests);

        // Rotated: a token with the new key id makes the gateway fetch the set again (at most once a minute).
        handler.Current = JsonSerializer.Serialize(new { keys = new[] { first.Jwk(), second.Jwk() } });
        await Assert.ThrowsAsync<ExternalSignInException>(() => keys.VerifyAsync(second.Sign("RS256", Claims), jwks, backchannel, CancellationToken.None));
        Assert.Equal(1, handler.Requests);
        time.Now += OidcSigningKeys.RefetchAfter;
        await keys.VerifyAsync(second.Sign("RS256", Claims), jwks, backchannel, CancellationToken.None);
        Assert.Equal(2, handler.Requests);

        // The key endpoint down: the keys held still verify.
        handler.Current = null;
        time.Now += OidcSigningKeys.KeepFor;
        await keys.VerifyAsync(first.Sign("RS256", Claims), jwks, backchannel, CancellationToken.None);
        Assert.Equal(3, handler.Requests);
    }

    private static JsonElement KeySet(params Key[] keys)
        => JsonDocument.Parse(JsonSerializer.Serialize(new { keys = keys.Select(k => k.Jwk()).ToArray() })).RootElement;

    private static string Header(string alg, string? kid)
        => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(kid is null ? JsonSerializer.Serialize(new { alg, typ = "JWT" }) : JsonSerializer.Serialize(new { alg, kid, typ = "JWT" })));

    private static string Payload(object claims) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(claims)));

    private sealed class Key(AsymmetricAlgorithm algorithm, string? kid) : IDisposable
    {
        public static Key Create(string alg, string? kid) => alg switch
        {
            "ES256" => new Key(ECDsa.Create(ECCurve.NamedCurves.nistP256), kid),
            "ES384" => new Key(ECDsa.Create(ECCurve.NamedCurves.nistP384), kid),
            "ES512" => new Key(ECDsa.Create(ECCurve.NamedCurves.nistP521), kid),
            _ => new Key(RSA.Create(2048), kid),
        };

        public string Sign(string alg, object claims)
        {
            var signed = Header(alg, kid) + "." + Payload(claims);
            var data = Encoding.ASCII.GetBytes(signed);
            var hash = alg[2..] switch { "384" => HashAlgorithmName.SHA384, "512" => HashAlgorithmName.SHA512, _ => HashAlgorithmName.SHA256 };
            var signature = algorithm is ECDsa ec
                ? ec.SignData(data, hash, DSASignatureFormat.IeeeP1363FixedFieldConcatenation)
                : ((RSA)algorithm).SignData(data, hash, alg[0] == 'P' ? RSASignaturePadding.Pss : RSASignaturePadding.Pkcs1);
            return signed + "." + Base64Url.EncodeToString(signature);
        }

        public Dictionary<string, string> Jwk(string use = "sig")
        {
            var jwk = new Dictionary<string, string> { ["use"] = use };
            if (kid is not null)
            {
                jwk["kid"] = kid;
            }

            if (algorithm is ECDsa ec)
            {
                var p = ec.ExportParameters(false);
                jwk["kty"] = "EC";
                jwk["crv"] = p.Q.X!.Length switch { 32 => "P-256", 48 => "P-384", _ => "P-521" };
                jwk["x"] = Base64Url.EncodeToString(p.Q.X!);
                jwk["y"] = Base64Url.EncodeToString(p.Q.Y!);
            }
            else
            {
                var p = ((RSA)algorithm).ExportParameters(false);
                jwk["kty"] = "RSA";
                jwk["n"] = Base64Url.EncodeToString(p.Modulus!);
                jwk["e"] = Base64Url.EncodeToString(p.Exponent!);
            }

            return jwk;
        }

        public void Dispose() => algorithm.Dispose();
    }

    private sealed class ManualTime(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    /// <summary>The provider's key endpoint: the current set, or 503 when <see cref="Current"/> is null.</summary>
    private sealed class KeySetHandler : HttpMessageHandler
    {
        public string? Current { get; set; }

        public int Requests { get; private set; }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Requests++;
            return Task.FromResult(Current is null
                ? new HttpResponseMessage(HttpStatusCode.ServiceUnavailable) { Content = new StringContent("{}") }
                : new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(Current, Encoding.UTF8, "application/json") });
        }
    }
}
