using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OAuth;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Parley.Web.Auth;

/// <summary>What the sign-in page shows for one provider.</summary>
internal sealed record ProviderDto(string Name, string DisplayName, string Url);

/// <summary>
/// Sign-in with OAuth 2.0 / OpenID Connect providers: one ASP.NET Core OAuth scheme per configured provider,
/// <c>GET /auth/signin/{name}</c> to start, <c>/auth/callback/{name}</c> to come back, <c>GET /api/auth/providers</c> for the page.
/// The external result is never kept in a cookie of its own: the callback turns it into the gateway's visitor session
/// (the same as a guest's, so sign-out ends it server-side) and the correlation cookie is deleted by the handler.
/// </summary>
internal static class ExternalSignIn
{
    public const string FailedPath = "/?signin=failed";
    public const string UnavailablePath = "/?signin=unavailable";
    private const string SchemePrefix = "oauth-";

    public static string SchemeFor(string provider) => SchemePrefix + provider;

    /// <summary>Registers options validation, discovery and one OAuth scheme per enabled provider in <paramref name="configuration"/>.</summary>
    public static IServiceCollection AddExternalSignIn(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ExternalAuthOptions>().Bind(configuration.GetSection(ExternalAuthOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ExternalAuthOptions>, ExternalAuthOptionsValidator>();
        services.AddSingleton<OidcDiscovery>();
        services.AddSingleton<OidcSigningKeys>();

        var authentication = services.AddAuthentication();
        foreach (var (name, settings) in ExternalAuthOptions.ReadEnabled(configuration))
        {
            // An unknown type is reported by the validator at start; the scheme is simply not registered.
            if (settings.KindFor(name) is not { } kind)
            {
                continue;
            }

            authentication.AddOAuth<ExternalOAuthOptions, ExternalOAuthHandler>(SchemeFor(name), ProviderCatalog.DefaultDisplayName(kind, name), options => Configure(options, name, kind, settings));
        }

        return services;
    }

    /// <summary>The routes: the provider list for the page, the start of a sign-in. The callbacks belong to the handlers.</summary>
    public static IEndpointRouteBuilder MapExternalSignIn(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/api/auth/providers", GetProviders);
        routes.MapGet("/auth/signin/{provider}", SignIn);
        return routes;
    }

    private static void Configure(ExternalOAuthOptions options, string name, ProviderKind kind, ProviderSettings settings)
    {
        options.ProviderName = name;
        options.Kind = kind;
        options.Authority = settings.Authority;
        options.KnownMetadata = ProviderCatalog.Known(kind, settings.Tenant);
        options.ClientId = settings.ClientId;
        options.ClientSecret = settings.ClientSecret;
        options.CallbackPath = $"/auth/callback/{name}";

        // The handler builds its requests from the metadata; these only satisfy OAuthOptions.Validate for discovered providers.
        options.AuthorizationEndpoint = options.KnownMetadata?.AuthorizationEndpoint.AbsoluteUri ?? settings.Authority;
        options.TokenEndpoint = options.KnownMetadata?.TokenEndpoint.AbsoluteUri ?? settings.Authority;
        options.UserInformationEndpoint = options.KnownMetadata?.UserInfoEndpoint.AbsoluteUri ?? settings.Authority;
        options.UsePkce = true;
        options.SaveTokens = false;
        options.Scope.Clear();
        foreach (var scope in ProviderCatalog.ParseScopes(settings.Scopes) is { Length: > 0 } configured ? configured : ProviderCatalog.DefaultScopes(kind))
        {
            options.Scope.Add(scope);
        }

        options.SignInScheme = CookieAuthenticationDefaults.AuthenticationScheme;
        options.RemoteAuthenticationTimeout = TimeSpan.FromMinutes(10);
        options.BackchannelTimeout = TimeSpan.FromSeconds(15);
        options.CorrelationCookie.Name = "parley.correlation.";
        options.CorrelationCookie.HttpOnly = true;
        options.CorrelationCookie.SameSite = SameSiteMode.Lax;
        options.CorrelationCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        options.Events = new OAuthEvents
        {
            OnTicketReceived = IssueVisitorSessionAsync,
            OnRemoteFailure = static context =>
            {
                AuthLog.SignInFailed(context.HttpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ExternalSignIn)), context.Scheme.Name, context.Failure?.Message ?? "unknown");
                context.Response.Redirect(FailedPath);
                context.HandleResponse();
                return Task.CompletedTask;
            },
        };
    }

    private static Ok<List<ProviderDto>> GetProviders(HttpContext context, IOptions<ExternalAuthOptions> options)
    {
        context.Response.Headers.CacheControl = "no-store";
        return TypedResults.Ok(options.Value.Enabled
            .Select(static p => new ProviderDto(
                p.Name,
                p.Settings.DisplayName is { Length: > 0 } label ? label : ProviderCatalog.DefaultDisplayName(p.Settings.KindFor(p.Name) ?? ProviderKind.OpenIdConnect, p.Name),
                $"/auth/signin/{p.Name}"))
            .ToList());
    }

    private static Results<ChallengeHttpResult, NotFound> SignIn(string provider, IOptions<ExternalAuthOptions> options)
    {
        if (!options.Value.Enabled.Any(p => p.Name == provider))
        {
            return TypedResults.NotFound();
        }

        // Always back to the page itself: no return URL from the request, so the callback cannot be made an open redirect.
        return TypedResults.Challenge(new AuthenticationProperties { RedirectUri = "/" }, [SchemeFor(provider)]);
    }

    /// <summary>
    /// The provider vouched for issuer + subject: find or create that visitor, end the browser's current session (if any)
    /// and sign in with a new server-side session, exactly as a guest sign-in does. The external principal is not stored.
    /// </summary>
    private static async Task IssueVisitorSessionAsync(TicketReceivedContext context)
    {
        var http = context.HttpContext;
        var cancellationToken = http.RequestAborted;
        var principal = context.Principal;
        var issuer = principal?.FindFirstValue(ExternalOAuthHandler.IssuerClaim);
        var subject = principal?.FindFirstValue(ExternalOAuthHandler.SubjectClaim);
        var name = principal?.FindFirstValue(ClaimTypes.Name);
        var logger = http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ExternalSignIn));
        if (issuer is null || subject is null || name is null)
        {
            // Fail() here would still let the handler sign the external principal in: answer ourselves instead.
            AuthLog.SignInFailed(logger, context.Scheme.Name, "the ticket carries no issuer, subject or name");
            http.Response.Redirect(FailedPath);
            context.HandleResponse();
            return;
        }

        // The callback runs before the default scheme authenticates the request: ask the cookie handler directly.
        var current = await http.AuthenticateAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        var visitor = await http.RequestServices.GetRequiredService<VisitorSignIn>().SignInAsync(http, current.Principal, issuer, subject, name, cancellationToken);
        AuthLog.SignedIn(logger, context.Scheme.Name, visitor.Id);
        http.Response.Redirect("/");
        context.HandleResponse();
    }
}

/// <summary>The sign-in log events (ids 4100-4199). Tokens, codes and secrets are never logged.</summary>
internal static partial class AuthLog
{
    [LoggerMessage(4100, LogLevel.Warning, "Sign-in provider {Provider} is not usable: {Reason}")]
    public static partial void ProviderUnavailable(ILogger logger, string provider, string reason);

    [LoggerMessage(4101, LogLevel.Warning, "External sign-in through {Scheme} failed: {Reason}")]
    public static partial void SignInFailed(ILogger logger, string scheme, string reason);

    [LoggerMessage(4102, LogLevel.Information, "External sign-in through {Scheme} as visitor {Visitor}")]
    public static partial void SignedIn(ILogger logger, string scheme, string visitor);
}
