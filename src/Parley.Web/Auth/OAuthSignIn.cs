using System.Net.Http.Headers;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.OAuth;
using Microsoft.Extensions.Options;

namespace Parley.Web.Auth;

/// <summary>
/// GitHub and Facebook, which speak OAuth 2.0 but not OpenID Connect, on ASP.NET Core's OAuth handler: the code flow with
/// PKCE (S256) and <c>state</c> are the handler's; the provider's user-info answer names the visitor.
/// </summary>
internal static class OAuthSignIn
{
    /// <summary>Sets up the handler's options for provider <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="kind"/> is an OpenID provider.</exception>
    public static void Configure(OAuthOptions options, string name, ProviderKind kind, ProviderSettings settings)
    {
        var endpoints = ProviderCatalog.OAuth(kind) ?? throw new ArgumentOutOfRangeException(nameof(kind), kind, "Not a plain OAuth 2.0 provider.");
        var issuer = ProviderCatalog.IdentityIssuer(kind, settings.Tenant)!;
        options.ClientId = settings.ClientId;
        options.ClientSecret = settings.ClientSecret;
        options.AuthorizationEndpoint = endpoints.AuthorizationEndpoint;
        options.TokenEndpoint = endpoints.TokenEndpoint;
        options.UserInformationEndpoint = endpoints.UserInfoEndpoint;
        options.CallbackPath = $"/auth/callback/{name}";
        options.UsePkce = true;
        options.SaveTokens = false;
        options.Scope.Clear();
        foreach (var scope in ProviderCatalog.ParseScopes(settings.Scopes) is { Length: > 0 } configured ? configured : ProviderCatalog.DefaultScopes(kind))
        {
            options.Scope.Add(scope);
        }

        options.SignInScheme = Microsoft.AspNetCore.Authentication.Cookies.CookieAuthenticationDefaults.AuthenticationScheme;
        options.RemoteAuthenticationTimeout = TimeSpan.FromMinutes(10);
        options.BackchannelTimeout = TimeSpan.FromSeconds(15);
        ExternalSignIn.ConfigureFlowCookie(options.CorrelationCookie, "parley.correlation.");
        options.Events = new OAuthEvents
        {
            OnCreatingTicket = context => ReadUserAsync(context, kind, issuer),
            OnTicketReceived = ExternalSignIn.IssueVisitorSessionAsync,
            OnRemoteFailure = ExternalSignIn.OnRemoteFailureAsync,
        };
    }

    /// <summary>Asks the user-info endpoint who signed in and puts issuer, subject and name on the identity.</summary>
    /// <exception cref="AuthenticationFailureException">User info failed or names no usable subject.</exception>
    private static async Task ReadUserAsync(OAuthCreatingTicketContext context, ProviderKind kind, string issuer)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, context.Options.UserInformationEndpoint);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", context.AccessToken);
        using var response = await context.Backchannel.SendAsync(request, context.HttpContext.RequestAborted);
        if (!response.IsSuccessStatusCode)
        {
            throw new AuthenticationFailureException($"The user-info endpoint answered {(int)response.StatusCode}.");
        }

        JsonDocument user;
        try
        {
            // The back channel refuses an answer over ExternalSignIn.MaxBackchannelBytes.
            user = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(context.HttpContext.RequestAborted), new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            throw new AuthenticationFailureException("The user-info answer is not JSON.", e);
        }

        using (user)
        {
            var profile = ProviderCatalog.ReadProfile(kind, user.RootElement)
                ?? throw new AuthenticationFailureException("The user-info answer names no usable subject.");
            ExternalSignIn.SetIdentity(context.Principal!, issuer, profile);
        }
    }
}

/// <summary>
/// ASP.NET Core's OAuth handler with the redirect URI (in the authorization request and again when the code is redeemed)
/// on the configured public address; the base class builds it from the request's scheme and <c>Host</c> header.
/// </summary>
internal sealed class PublicCallbackOAuthHandler(IOptionsMonitor<OAuthOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : OAuthHandler<OAuthOptions>(options, logger, encoder)
{
    private string RedirectUri => OpenIdSignIn.PublicRedirectUri(Context, Options.CallbackPath);

    protected override string BuildChallengeUrl(AuthenticationProperties properties, string redirectUri)
        => base.BuildChallengeUrl(properties, RedirectUri);

    protected override Task<OAuthTokenResponse> ExchangeCodeAsync(OAuthCodeExchangeContext context)
        => base.ExchangeCodeAsync(new OAuthCodeExchangeContext(context.Properties, context.Code, RedirectUri));
}
