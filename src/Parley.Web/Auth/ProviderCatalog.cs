using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Parley.Web.Auth;

/// <summary>Where a provider's endpoints are and which issuer its identities belong to.</summary>
/// <param name="Issuer">The issuer half of the visitor's identity (issuer + subject).</param>
/// <param name="AuthorizationEndpoint">Where the browser is sent to sign in.</param>
/// <param name="TokenEndpoint">Where the code is redeemed (back channel).</param>
/// <param name="UserInfoEndpoint">Where the access token buys the subject and name (back channel).</param>
/// <param name="ValidateIdToken">Whether an id_token in the token response is checked against <paramref name="Issuer"/> (OpenID providers found by discovery).</param>
/// <param name="JwksUri">Where the provider publishes the keys its id_tokens are signed with (with <paramref name="ValidateIdToken"/>).</param>
internal sealed record ProviderMetadata(string Issuer, Uri AuthorizationEndpoint, Uri TokenEndpoint, Uri UserInfoEndpoint, bool ValidateIdToken, Uri? JwksUri = null);

/// <summary>A visitor as the provider describes them: who (subject) and what to call them.</summary>
internal sealed record ExternalProfile(string Subject, string? Name);

/// <summary>The known providers' endpoints, default scopes and user-info formats, and the rules for configured values.</summary>
internal static partial class ProviderCatalog
{
    /// <summary>The longest subject accepted (OpenID Connect: at most 255 ASCII characters).</summary>
    public const int MaxSubjectLength = 255;

    public static string DefaultDisplayName(ProviderKind kind, string name) => kind switch
    {
        ProviderKind.Google => "Google",
        ProviderKind.Microsoft => "Microsoft",
        ProviderKind.GitHub => "GitHub",
        ProviderKind.Facebook => "Facebook",
        _ => name,
    };

    public static string[] DefaultScopes(ProviderKind kind) => kind switch
    {
        ProviderKind.GitHub => ["read:user"],
        ProviderKind.Facebook => ["public_profile"],
        _ => ["openid", "profile"],
    };

    /// <summary>The fixed endpoints of a known provider; <see langword="null"/> for <see cref="ProviderKind.OpenIdConnect"/> (discovered).</summary>
    public static ProviderMetadata? Known(ProviderKind kind, string tenant) => kind switch
    {
        ProviderKind.Google => new ProviderMetadata(
            "https://accounts.google.com",
            new Uri("https://accounts.google.com/o/oauth2/v2/auth"),
            new Uri("https://oauth2.googleapis.com/token"),
            new Uri("https://openidconnect.googleapis.com/v1/userinfo"),
            ValidateIdToken: false),
        // Known providers' id_tokens are not compared: Google's iss comes with or without "https://", and with
        // common/consumers/organizations Microsoft's names the user's own tenant. User info is the identity anyway.
        ProviderKind.Microsoft => new ProviderMetadata(
            $"https://login.microsoftonline.com/{tenant}/v2.0",
            new Uri($"https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize"),
            new Uri($"https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"),
            new Uri("https://graph.microsoft.com/oidc/userinfo"),
            ValidateIdToken: false),
        ProviderKind.GitHub => new ProviderMetadata(
            "https://github.com",
            new Uri("https://github.com/login/oauth/authorize"),
            new Uri("https://github.com/login/oauth/access_token"),
            new Uri("https://api.github.com/user"),
            ValidateIdToken: false),
        ProviderKind.Facebook => new ProviderMetadata(
            "https://www.facebook.com",
            new Uri("https://www.facebook.com/v19.0/dialog/oauth"),
            new Uri("https://graph.facebook.com/v19.0/oauth/access_token"),
            new Uri("https://graph.facebook.com/v19.0/me?fields=id,name"),
            ValidateIdToken: false),
        _ => null,
    };

    /// <summary>Reads subject and name from the provider's user-info JSON; <see langword="null"/> when there is no usable subject.</summary>
    public static ExternalProfile? ReadProfile(ProviderKind kind, JsonElement user)
    {
        if (user.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        var subject = kind switch
        {
            // GitHub's stable id is a number; the login can be renamed and reused by someone else.
            ProviderKind.GitHub => user.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.Number && id.TryGetInt64(out var number) && number > 0
                ? number.ToString(CultureInfo.InvariantCulture)
                : null,
            ProviderKind.Facebook => String(user, "id"),
            _ => String(user, "sub"),
        };
        if (subject is null || subject.Length > MaxSubjectLength || subject.Any(static c => c is < '!' or > '~'))
        {
            return null;
        }

        var name = kind switch
        {
            ProviderKind.GitHub => String(user, "name") ?? String(user, "login"),
            ProviderKind.Facebook => String(user, "name"),
            _ => String(user, "name") ?? String(user, "preferred_username") ?? String(user, "nickname"),
        };
        return new ExternalProfile(subject, name);
    }

    /// <summary>Splits configured scopes; <see langword="null"/> when they break the limits or the RFC 6749 scope-token syntax.</summary>
    public static string[]? ParseScopes(string scopes)
    {
        var tokens = scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return tokens.Length <= 20 && tokens.All(static t => t.Length <= 100 && ScopeToken().IsMatch(t)) ? tokens : null;
    }

    /// <summary>An issuer URL we are willing to fetch discovery from: absolute https, or http on a loopback address (tests, local providers).</summary>
    public static bool IsAcceptableAuthority(string authority)
        => Uri.TryCreate(authority, UriKind.Absolute, out var uri) && IsAcceptableEndpoint(uri, uri) && uri.Query.Length == 0 && uri.Fragment.Length == 0
           && uri.UserInfo.Length == 0 && authority.Length <= 512;

    /// <summary>An endpoint the gateway may send the browser or its own requests to: https, or http only when the authority itself is plain-http loopback.</summary>
    public static bool IsAcceptableEndpoint(Uri endpoint, Uri authority)
        => endpoint.IsAbsoluteUri && endpoint.Fragment.Length == 0 && (endpoint.Scheme == Uri.UriSchemeHttps
            || (endpoint.Scheme == Uri.UriSchemeHttp && authority.Scheme == Uri.UriSchemeHttp && IsLoopback(endpoint) && IsLoopback(authority)));

    public static bool IsAcceptableTenant(string tenant) => Tenant().IsMatch(tenant);

    private static bool IsLoopback(Uri uri) => uri.IsLoopback || (IPAddress.TryParse(uri.Host, out var address) && IPAddress.IsLoopback(address));

    private static string? String(JsonElement user, string property)
        => user.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } text ? text : null;

    [GeneratedRegex(@"^[\x21\x23-\x5B\x5D-\x7E]+$", RegexOptions.CultureInvariant)]
    private static partial Regex ScopeToken();

    [GeneratedRegex("^(common|consumers|organizations|[0-9a-fA-F-]{36}|[a-z0-9.-]{1,253})$", RegexOptions.CultureInvariant)]
    private static partial Regex Tenant();
}
