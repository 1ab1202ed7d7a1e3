using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Security.Claims;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Parley.Web.Auth;

/// <summary>A visitor as the provider describes them: who (subject) and what to call them.</summary>
/// <param name="Subject">The provider's stable id for the person.</param>
/// <param name="Name">The name to show, when the provider gave one.</param>
/// <param name="VerifiedEmail">The e-mail address, only when the provider says it verified it (OpenID <c>email_verified</c>).</param>
internal sealed record ExternalProfile(string Subject, string? Name, string? VerifiedEmail = null);

/// <summary>The endpoints of a provider that speaks plain OAuth 2.0 (no discovery, no id_token).</summary>
/// <param name="AuthorizationEndpoint">Where the browser is sent to sign in.</param>
/// <param name="TokenEndpoint">Where the code is redeemed (back channel).</param>
/// <param name="UserInfoEndpoint">Where the access token buys the subject and name (back channel).</param>
internal sealed record OAuthEndpoints(string AuthorizationEndpoint, string TokenEndpoint, string UserInfoEndpoint);

/// <summary>The known providers' endpoints, default scopes and user-info formats, and the rules for configured values.</summary>
internal static partial class ProviderCatalog
{
    /// <summary>The longest subject accepted (OpenID Connect: at most 255 ASCII characters).</summary>
    public const int MaxSubjectLength = 255;

    /// <summary>The longest e-mail address kept (RFC 5321's path limit).</summary>
    public const int MaxEmailLength = 254;

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
        // "email": the owner's list of active visitors shows the address when the provider verified it.
        _ => ["openid", "profile", "email"],
    };

    /// <summary>Whether the kind is an OpenID provider (discovery, id_token) rather than plain OAuth 2.0.</summary>
    public static bool IsOpenId(ProviderKind kind) => kind is ProviderKind.OpenIdConnect or ProviderKind.Google or ProviderKind.Microsoft;

    /// <summary>Where an OpenID provider's discovery document is: the configured authority, or the known provider's issuer.</summary>
    public static string Authority(ProviderKind kind, ProviderSettings settings) => kind switch
    {
        ProviderKind.Google => "https://accounts.google.com",
        ProviderKind.Microsoft => $"https://login.microsoftonline.com/{settings.Tenant}/v2.0",
        _ => settings.Authority,
    };

    /// <summary>
    /// The issuer half of a known provider's visitors (issuer + subject); <see langword="null"/> for a configured OpenID
    /// provider, whose visitors carry the issuer its discovery document names and its id_tokens are checked against.
    /// </summary>
    /// <remarks>
    /// Fixed per configuration rather than taken from the token: Google's <c>iss</c> comes with or without
    /// <c>https://</c>, and with <c>common</c>, <c>consumers</c> or <c>organizations</c> Microsoft's names the user's own
    /// tenant, while a visitor must stay the same visitor.
    /// </remarks>
    public static string? IdentityIssuer(ProviderKind kind, string tenant) => kind switch
    {
        ProviderKind.Google => "https://accounts.google.com",
        ProviderKind.Microsoft => $"https://login.microsoftonline.com/{tenant}/v2.0",
        ProviderKind.GitHub => "https://github.com",
        ProviderKind.Facebook => "https://www.facebook.com",
        _ => null,
    };

    /// <summary>The issuers Google's id_tokens carry (OpenID Connect Core 3.1.3.7 allows both spellings for Google).</summary>
    public static readonly string[] GoogleIssuers = ["https://accounts.google.com", "accounts.google.com"];

    /// <summary>The fixed endpoints of a plain OAuth 2.0 provider; <see langword="null"/> for OpenID providers (discovered).</summary>
    public static OAuthEndpoints? OAuth(ProviderKind kind) => kind switch
    {
        ProviderKind.GitHub => new OAuthEndpoints(
            "https://github.com/login/oauth/authorize",
            "https://github.com/login/oauth/access_token",
            "https://api.github.com/user"),
        ProviderKind.Facebook => new OAuthEndpoints(
            "https://www.facebook.com/v19.0/dialog/oauth",
            "https://graph.facebook.com/v19.0/oauth/access_token",
            "https://graph.facebook.com/v19.0/me?fields=id,name"),
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
        return Profile(kind, subject, property => String(user, property), user.TryGetProperty("email_verified", out var verified) && verified.ValueKind == JsonValueKind.True);
    }

    /// <summary>Reads subject and name from the claims of a validated id_token; <see langword="null"/> when there is no usable subject.</summary>
    public static ExternalProfile? ReadProfile(ProviderKind kind, ClaimsPrincipal token)
        => Profile(
            kind,
            token.FindFirst("sub")?.Value,
            property => token.FindFirst(property)?.Value is { Length: > 0 } text ? text : null,
            string.Equals(token.FindFirst("email_verified")?.Value, "true", StringComparison.OrdinalIgnoreCase));

    /// <summary>Whether a subject fits the visitor store: 1-255 printable ASCII characters (OpenID Connect Core 2).</summary>
    public static bool IsUsableSubject([NotNullWhen(true)] string? subject)
        => subject is { Length: > 0 and <= MaxSubjectLength } && !subject.Any(static c => c is < '!' or > '~');

    private static ExternalProfile? Profile(ProviderKind kind, string? subject, Func<string, string?> text, bool emailVerified)
    {
        if (!IsUsableSubject(subject))
        {
            return null;
        }

        var name = kind switch
        {
            ProviderKind.GitHub => text("name") ?? text("login"),
            ProviderKind.Facebook => text("name"),
            _ => text("name") ?? text("preferred_username") ?? text("nickname"),
        };
        // Only OpenID providers say whether they verified the address; GitHub's and Facebook's are not taken.
        var email = IsOpenId(kind) && emailVerified && text("email") is { Length: <= MaxEmailLength } address && address.Contains('@', StringComparison.Ordinal)
            && !address.Any(char.IsControl) ? address : null;
        return new ExternalProfile(subject, name, email);
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
