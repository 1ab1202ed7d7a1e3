using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;

namespace Parley.Web.Auth;

/// <summary>
/// Fetches and caches an OpenID provider's discovery document (OpenID Connect Discovery 1.0, section 4), lazily at the first
/// sign-in, so the gateway starts (and guests chat) while a provider is down. A good document is kept for a day; after a
/// failure the next attempt waits <see cref="RetryAfter"/>, so a dead provider is not asked on every click.
/// </summary>
internal sealed class OidcDiscovery(TimeProvider time)
{
    public static readonly TimeSpan KeepFor = TimeSpan.FromHours(24);
    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(10);
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    /// <summary>The endpoints of the provider whose issuer is <paramref name="authority"/>.</summary>
    /// <exception cref="ExternalSignInException">The document could not be fetched, or it does not describe a usable provider.</exception>
    public async Task<ProviderMetadata> GetAsync(string authority, HttpClient backchannel, CancellationToken cancellationToken)
    {
        var entry = _entries.GetOrAdd(authority, static _ => new Entry());
        await entry.Gate.WaitAsync(cancellationToken);
        try
        {
            var now = time.GetUtcNow();
            if (entry.Metadata is { } cached && now < entry.ValidUntil)
            {
                return cached;
            }

            if (entry.Failure is { } failure && now < entry.ValidUntil)
            {
                throw new ExternalSignInException(failure);
            }

            try
            {
                var metadata = await FetchAsync(authority, backchannel, cancellationToken);
                (entry.Metadata, entry.Failure, entry.ValidUntil) = (metadata, null, now + KeepFor);
                return metadata;
            }
            catch (ExternalSignInException e)
            {
                // A document that was good stays in use through a short outage of the provider's discovery.
                (entry.Failure, entry.ValidUntil) = (e.Message, now + RetryAfter);
                if (entry.Metadata is { } stale)
                {
                    return stale;
                }

                throw;
            }
        }
        finally
        {
            entry.Gate.Release();
        }
    }

    private static async Task<ProviderMetadata> FetchAsync(string authority, HttpClient backchannel, CancellationToken cancellationToken)
    {
        var issuerUri = new Uri(authority);
        var location = new Uri(authority.TrimEnd('/') + "/.well-known/openid-configuration");
        using var request = new HttpRequestMessage(HttpMethod.Get, location);
        var (document, status) = await BackchannelJson.SendAsync(backchannel, request, cancellationToken);
        using (document)
        {
            if (status != HttpStatusCode.OK)
            {
                throw new ExternalSignInException($"{location} answered {(int)status}.");
            }

            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new ExternalSignInException($"{location} is not a JSON object.");
            }

            // Section 4.3: the issuer in the document must be the one we asked (a trailing slash aside).
            var issuer = Text(root, "issuer");
            if (issuer is null || !string.Equals(issuer.TrimEnd('/'), authority.TrimEnd('/'), StringComparison.Ordinal))
            {
                throw new ExternalSignInException($"{location} names issuer '{issuer}', not '{authority}'.");
            }

            if (!Contains(root, "response_types_supported", "code", required: true))
            {
                throw new ExternalSignInException($"{location}: the provider does not offer the authorization code flow.");
            }

            if (!Contains(root, "code_challenge_methods_supported", "S256", required: false))
            {
                throw new ExternalSignInException($"{location}: the provider does not support PKCE with S256.");
            }

            return new ProviderMetadata(
                issuer,
                Endpoint(root, "authorization_endpoint", issuerUri, location),
                Endpoint(root, "token_endpoint", issuerUri, location),
                Endpoint(root, "userinfo_endpoint", issuerUri, location),
                ValidateIdToken: true,
                JwksUri: Endpoint(root, "jwks_uri", issuerUri, location));
        }
    }

    private static Uri Endpoint(JsonElement root, string property, Uri authority, Uri location)
        => Text(root, property) is { Length: <= 2048 } text && Uri.TryCreate(text, UriKind.Absolute, out var uri) && ProviderCatalog.IsAcceptableEndpoint(uri, authority)
            ? uri
            : throw new ExternalSignInException($"{location}: {property} is missing or not an https URL.");

    private static string? Text(JsonElement root, string property)
        => root.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>Whether the array <paramref name="property"/> holds <paramref name="value"/>; an absent array counts as <paramref name="required"/> being false.</summary>
    private static bool Contains(JsonElement root, string property, string value, bool required)
    {
        if (!root.TryGetProperty(property, out var array) || array.ValueKind != JsonValueKind.Array)
        {
            return !required;
        }

        return array.EnumerateArray().Any(item => item.ValueKind == JsonValueKind.String && item.ValueEquals(value));
    }

    private sealed class Entry
    {
        public SemaphoreSlim Gate { get; } = new(1, 1);

        public ProviderMetadata? Metadata { get; set; }

        public string? Failure { get; set; }

        public DateTimeOffset ValidUntil { get; set; }
    }
}
