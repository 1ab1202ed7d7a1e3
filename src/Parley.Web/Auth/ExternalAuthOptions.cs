using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Parley.Web.Auth;

/// <summary>Which kind of provider a configured entry is: one of the known social providers, or any OpenID Connect provider found by discovery.</summary>
internal enum ProviderKind
{
    OpenIdConnect,
    Google,
    Microsoft,
    GitHub,
    Facebook,
}

/// <summary>The <c>Parley:Auth</c> section: the external sign-in providers, each under <c>Providers:&lt;name&gt;</c>.</summary>
internal sealed partial class ExternalAuthOptions
{
    public const string Section = "Parley:Auth";

    /// <summary>The providers by name; the name appears in URLs (<c>/auth/signin/&lt;name&gt;</c>, <c>/auth/callback/&lt;name&gt;</c>).</summary>
    public Dictionary<string, ProviderSettings> Providers { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The enabled providers in a stable order (by name).</summary>
    internal IEnumerable<(string Name, ProviderSettings Settings)> Enabled
        => Providers.Where(static p => p.Value.Enabled).OrderBy(static p => p.Key, StringComparer.Ordinal).Select(static p => (p.Key, p.Value));

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,31}$", RegexOptions.CultureInvariant)]
    internal static partial Regex NamePattern();

    /// <summary>The section of one provider as configuration sees it; read before the options exist, to register one handler per provider.</summary>
    internal static IEnumerable<(string Name, ProviderSettings Settings)> ReadEnabled(IConfiguration configuration)
    {
        var options = new ExternalAuthOptions();
        configuration.GetSection(Section).Bind(options);
        return options.Enabled.ToList();
    }
}

/// <summary>One external provider (<c>Parley:Auth:Providers:&lt;name&gt;</c>).</summary>
internal sealed class ProviderSettings
{
    /// <summary><c>google</c>, <c>microsoft</c>, <c>github</c>, <c>facebook</c> or <c>oidc</c>; empty: the provider's name when it is one of the known ones, else <c>oidc</c>.</summary>
    public string Type { get; set; } = "";

    /// <summary>Whether the provider is offered (lets a configured provider be switched off without deleting it).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The client id registered at the provider.</summary>
    public string ClientId { get; set; } = "";

    /// <summary>The client secret registered at the provider (the gateway is a confidential client; PKCE is used as well).</summary>
    public string ClientSecret { get; set; } = "";

    /// <summary>For <c>oidc</c>: the issuer URL; its <c>/.well-known/openid-configuration</c> names the endpoints.</summary>
    public string Authority { get; set; } = "";

    /// <summary>Space-separated scopes; empty: the kind's default (<c>openid profile</c>, GitHub <c>read:user</c>, Facebook <c>public_profile</c>).</summary>
    public string Scopes { get; set; } = "";

    /// <summary>The button's label ("Sign in with …"); empty: the kind's name, or the provider's name for <c>oidc</c>.</summary>
    public string DisplayName { get; set; } = "";

    /// <summary>For <c>microsoft</c>: the tenant (<c>common</c>, <c>consumers</c>, <c>organizations</c> or a tenant id).</summary>
    public string Tenant { get; set; } = "common";

    internal ProviderKind? KindFor(string name) => (Type.Length == 0 ? name : Type).ToLowerInvariant() switch
    {
        "google" => ProviderKind.Google,
        "microsoft" => ProviderKind.Microsoft,
        "github" => ProviderKind.GitHub,
        "facebook" => ProviderKind.Facebook,
        "oidc" => ProviderKind.OpenIdConnect,
        _ when Type.Length == 0 => ProviderKind.OpenIdConnect,
        _ => null,
    };
}

/// <summary>Checks every provider at start-up, so a wrong setting stops the gateway with a message instead of failing at the first sign-in.</summary>
internal sealed class ExternalAuthOptionsValidator : IValidateOptions<ExternalAuthOptions>
{
    private const int MaxProviders = 16;

    public ValidateOptionsResult Validate(string? name, ExternalAuthOptions options)
    {
        var errors = new List<string>();
        if (options.Providers.Count > MaxProviders)
        {
            errors.Add($"{ExternalAuthOptions.Section}:Providers: at most {MaxProviders} providers.");
        }

        foreach (var (provider, settings) in options.Enabled)
        {
            var prefix = $"{ExternalAuthOptions.Section}:Providers:{provider}";
            if (!ExternalAuthOptions.NamePattern().IsMatch(provider))
            {
                errors.Add($"{prefix}: the name must be 1-32 of a-z, 0-9 and '-' (it is part of the callback URL).");
            }

            var kind = settings.KindFor(provider);
            if (kind is null)
            {
                errors.Add($"{prefix}:Type must be google, microsoft, github, facebook or oidc, got '{settings.Type}'.");
            }

            if (settings.ClientId.Length is 0 or > 512)
            {
                errors.Add($"{prefix}:ClientId is required (at most 512 characters).");
            }

            if (settings.ClientSecret.Length is 0 or > 1024)
            {
                errors.Add($"{prefix}:ClientSecret is required (at most 1024 characters).");
            }

            if (settings.DisplayName.Length > 40 || settings.DisplayName.Any(char.IsControl))
            {
                errors.Add($"{prefix}:DisplayName: at most 40 characters, no control characters.");
            }

            if (ProviderCatalog.ParseScopes(settings.Scopes) is null)
            {
                errors.Add($"{prefix}:Scopes: at most 20 space-separated scope tokens of at most 100 characters each.");
            }

            if (kind == ProviderKind.OpenIdConnect && !ProviderCatalog.IsAcceptableAuthority(settings.Authority))
            {
                errors.Add($"{prefix}:Authority must be the issuer's absolute https URL (http only on loopback), without query or fragment, got '{settings.Authority}'.");
            }

            if (kind is not null and not ProviderKind.OpenIdConnect && settings.Authority.Length != 0)
            {
                errors.Add($"{prefix}:Authority is only for oidc providers; {kind} has known endpoints.");
            }

            if (kind == ProviderKind.Microsoft && !ProviderCatalog.IsAcceptableTenant(settings.Tenant))
            {
                errors.Add($"{prefix}:Tenant must be common, consumers, organizations or a tenant id, got '{settings.Tenant}'.");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
