using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;
using Microsoft.IdentityModel.Validators;
using Parley.Web.Configuration;

namespace Parley.Web.Auth;

/// <summary>
/// One OpenID provider (Google, Microsoft, a configured issuer) on ASP.NET Core's OpenID Connect handler: discovery and
/// its signing keys (fetched again when a token names a key it does not hold), the code flow with PKCE, <c>state</c> and
/// <c>nonce</c>, and the id_token's signature, issuer, audience and lifetime are the handler's. What is Parley's: the
/// redirect URI on the public address, which endpoints are acceptable, and which issuer + subject the visitor is.
/// </summary>
internal static class OpenIdSignIn
{
    private static readonly string[] SignatureAlgorithms =
    [
        SecurityAlgorithms.RsaSha256, SecurityAlgorithms.RsaSha384, SecurityAlgorithms.RsaSha512,
        SecurityAlgorithms.RsaSsaPssSha256, SecurityAlgorithms.RsaSsaPssSha384, SecurityAlgorithms.RsaSsaPssSha512,
        SecurityAlgorithms.EcdsaSha256, SecurityAlgorithms.EcdsaSha384, SecurityAlgorithms.EcdsaSha512,
    ];

    /// <summary>Sets up the handler's options for provider <paramref name="name"/>.</summary>
    public static void Configure(OpenIdConnectOptions options, string name, ProviderKind kind, ProviderSettings settings)
    {
        var authority = ProviderCatalog.Authority(kind, settings);
        var identityIssuer = ProviderCatalog.IdentityIssuer(kind, settings.Tenant);
        options.Authority = authority;
        // The validator allows plain http only for a loopback authority (tests, a provider on the same machine).
        options.RequireHttpsMetadata = authority.StartsWith("https://", StringComparison.Ordinal);
        options.ClientId = settings.ClientId;
        options.ClientSecret = settings.ClientSecret;
        options.ResponseType = OpenIdConnectResponseType.Code;
        // The answer comes back as a top-level GET, so the flow's cookies can stay SameSite=Lax.
        options.ResponseMode = OpenIdConnectResponseMode.Query;
        options.UsePkce = true;
        options.CallbackPath = $"/auth/callback/{name}";
        // Provider-initiated sign-out is not offered: its default path, shared by every scheme, would let any page sign a
        // visitor's browser out with a GET.
        options.RemoteSignOutPath = default;
        options.SignedOutCallbackPath = $"/auth/signed-out/{name}";
        options.SignInScheme = Microsoft.AspNetCore.Authentication.Cookies.CookieAuthenticationDefaults.AuthenticationScheme;
        options.SaveTokens = false;
        // The library's name and version are nobody's business at the provider.
        options.DisableTelemetry = true;
        options.MapInboundClaims = false;
        options.GetClaimsFromUserInfoEndpoint = true;
        options.Scope.Clear();
        foreach (var scope in ProviderCatalog.ParseScopes(settings.Scopes) is { Length: > 0 } configured ? configured : ProviderCatalog.DefaultScopes(kind))
        {
            options.Scope.Add(scope);
        }

        if (!options.Scope.Contains(OpenIdConnectScope.OpenId))
        {
            options.Scope.Add(OpenIdConnectScope.OpenId);
        }

        options.RemoteAuthenticationTimeout = TimeSpan.FromMinutes(10);
        options.ProtocolValidator.NonceLifetime = options.RemoteAuthenticationTimeout;
        options.BackchannelTimeout = TimeSpan.FromSeconds(15);
        // A token signed with a key the cached set does not hold makes the handler fetch the keys again, at most this often.
        options.RefreshInterval = TimeSpan.FromMinutes(1);
        ExternalSignIn.ConfigureFlowCookie(options.CorrelationCookie, "parley.correlation.");
        ExternalSignIn.ConfigureFlowCookie(options.NonceCookie, "parley.nonce.");

        var validation = options.TokenValidationParameters;
        validation.NameClaimType = "name";
        // Public-key signatures only: a shared-secret (HS) signature would let anyone holding the client secret mint tokens.
        validation.ValidAlgorithms = SignatureAlgorithms;
        if (kind == ProviderKind.Google)
        {
            validation.ValidIssuers = ProviderCatalog.GoogleIssuers;
        }
        else if (kind == ProviderKind.Microsoft)
        {
            // common/organizations/consumers: the token's issuer names the user's own tenant; the validator checks it
            // against the tenant-independent template and the token's tid, and the signing key against that tenant.
            var aad = AadIssuerValidator.GetAadIssuerValidator(authority);
            validation.IssuerValidator = aad.Validate;
            validation.EnableAadSigningKeyIssuerValidation();
        }

        options.Events = new OpenIdConnectEvents
        {
            OnRedirectToIdentityProvider = static context =>
            {
                // Built from the configured public address, never from the request's Host header; the handler keeps it
                // in the state for the code redemption.
                context.ProtocolMessage.RedirectUri = PublicRedirectUri(context.HttpContext, context.Options.CallbackPath);
                return Task.CompletedTask;
            },
            OnTokenResponseReceived = static context =>
            {
                // The handler skips the signature requirement for an id_token from the token endpoint (Core 3.1.3.7
                // lets TLS vouch for it); a token the provider did not sign at all is refused here all the same.
                if (context.TokenEndpointResponse.IdToken is { } idToken && !IsSigned(idToken))
                {
                    context.Fail(new SecurityTokenInvalidSignatureException("The id_token from the token endpoint is not signed."));
                }

                return Task.CompletedTask;
            },
            OnTokenValidated = context =>
            {
                var profile = context.Principal is { } principal ? ProviderCatalog.ReadProfile(kind, principal) : null;
                var issuer = identityIssuer ?? context.Principal?.FindFirst("iss")?.Value;
                if (profile is null || issuer is null)
                {
                    context.Fail("The id_token names no usable subject.");
                    return Task.CompletedTask;
                }

                ExternalSignIn.SetIdentity(context.Principal!, issuer, profile);
                return Task.CompletedTask;
            },
            OnUserInformationReceived = context =>
            {
                // The handler has checked that user info names the id_token's subject; it may know the name better.
                var principal = context.Principal!;
                if (ProviderCatalog.ReadProfile(kind, context.User.RootElement) is { Name: not null } profile
                    && profile.Subject == principal.FindFirst(ExternalSignIn.SubjectClaim)?.Value)
                {
                    ExternalSignIn.SetIdentity(principal, principal.FindFirst(ExternalSignIn.IssuerClaim)!.Value, profile);
                }

                return Task.CompletedTask;
            },
            OnTicketReceived = ExternalSignIn.IssueVisitorSessionAsync,
            OnRemoteFailure = ExternalSignIn.OnRemoteFailureAsync,
        };
    }

    /// <summary>
    /// Fetches the provider's discovery document through the handler's cache and checks what the handler does not: that a
    /// configured provider names itself as configured (OpenID Connect Discovery 4.3), and that an https provider keeps the
    /// browser and the gateway on https. Returns why the provider is not usable, or <see langword="null"/>.
    /// </summary>
    public static async Task<string?> CheckProviderAsync(OpenIdConnectOptions options, ProviderKind kind, CancellationToken cancellationToken)
    {
        OpenIdConnectConfiguration configuration;
        try
        {
            configuration = await options.ConfigurationManager!.GetConfigurationAsync(cancellationToken);
        }
        catch (InvalidOperationException e)
        {
            // The configuration manager reports every failure to fetch or read the document this way (IDX20803), with the
            // inner exception's whole text in its message; the innermost cause says what went wrong.
            var cause = e.GetBaseException();
            return $"{options.MetadataAddress ?? options.Authority} could not be read: {cause.GetType().Name}: {cause.Message}";
        }

        var authority = new Uri(options.Authority!);
        if (kind == ProviderKind.OpenIdConnect
            && !string.Equals(configuration.Issuer?.TrimEnd('/'), options.Authority!.TrimEnd('/'), StringComparison.Ordinal))
        {
            return $"the discovery document names issuer '{configuration.Issuer}', not '{options.Authority}'";
        }

        foreach (var (property, value) in (ReadOnlySpan<(string, string?)>)[
            ("authorization_endpoint", configuration.AuthorizationEndpoint),
            ("token_endpoint", configuration.TokenEndpoint),
            ("userinfo_endpoint", configuration.UserInfoEndpoint)])
        {
            if (value is not { Length: <= 2048 } || !Uri.TryCreate(value, UriKind.Absolute, out var uri) || !ProviderCatalog.IsAcceptableEndpoint(uri, authority))
            {
                return $"the discovery document's {property} is missing or not an https URL";
            }
        }

        return null;
    }

    /// <summary>Whether <paramref name="idToken"/> is a JWS with an algorithm other than <c>none</c> and a signature.</summary>
    private static bool IsSigned(string idToken)
    {
        try
        {
            var token = new JsonWebToken(idToken);
            return token.Alg is { Length: > 0 } alg && alg != SecurityAlgorithms.None && token.EncodedSignature.Length > 0;
        }
        catch (ArgumentException)
        {
            // Not a compact JWS at all.
            return false;
        }
    }

    internal static string PublicRedirectUri(HttpContext http, PathString callbackPath)
        => http.RequestServices.GetRequiredService<IOptions<GatewayOptions>>().Value.PublicLink(callbackPath);
}
