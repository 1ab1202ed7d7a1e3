using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OAuth;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Parley.Web.Storage;

namespace Parley.Web.Auth;

/// <summary>What the sign-in page shows for one provider.</summary>
internal sealed record ProviderDto(string Name, string DisplayName, string Url);

/// <summary>
/// Sign-in with OAuth 2.0 / OpenID Connect providers: one scheme per configured provider (ASP.NET Core's OpenID Connect
/// handler for OpenID providers, its OAuth handler for GitHub and Facebook), <c>GET /auth/signin/{name}</c> to start,
/// <c>/auth/callback/{name}</c> to come back, <c>GET /api/auth/providers</c> for the page. The external result is never kept
/// in a cookie of its own: the callback turns it into the gateway's visitor session (the same as a guest's, so sign-out
/// ends it server-side) and the handler deletes its correlation and nonce cookies.
/// </summary>
internal static class ExternalSignIn
{
    public const string FailedPath = "/?signin=failed";
    public const string UnavailablePath = "/?signin=unavailable";

    /// <summary>The issuer half of the visitor's identity, put on the external principal by the scheme's events.</summary>
    public const string IssuerClaim = "parley:external-iss";

    /// <summary>The subject half of the visitor's identity.</summary>
    public const string SubjectClaim = "parley:external-sub";
    public const string VerifiedEmailClaim = "parley:external-email";

    /// <summary>Back-channel answers (discovery, keys, token, user info) are read up to this size.</summary>
    public const int MaxBackchannelBytes = 64 * 1024;

    private const string SchemePrefix = "oauth-";

    public static string SchemeFor(string provider) => SchemePrefix + provider;

    /// <summary>Registers options validation and one scheme per enabled provider in <paramref name="configuration"/>.</summary>
    public static IServiceCollection AddExternalSignIn(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ExternalAuthOptions>().Bind(configuration.GetSection(ExternalAuthOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ExternalAuthOptions>, ExternalAuthOptionsValidator>();

        // An id_token signed with a key the cached set does not hold makes the token handler ask for the provider's keys
        // again and retry once. By default that fetch runs in the background and the retry still sees the old set, so the
        // first sign-in after a key rotation would fail; with this switch the retry waits for the new set.
        AppContext.SetSwitch("Switch.Microsoft.IdentityModel.UpdateConfigAsBlocking", true);

        var authentication = services.AddAuthentication();
        foreach (var (name, settings) in ExternalAuthOptions.ReadEnabled(configuration))
        {
            // An unknown type is reported by the validator at start; the scheme is simply not registered.
            if (settings.KindFor(name) is not { } kind)
            {
                continue;
            }

            var scheme = SchemeFor(name);
            var displayName = ProviderCatalog.DefaultDisplayName(kind, name);
            if (ProviderCatalog.IsOpenId(kind))
            {
                authentication.AddOpenIdConnect(scheme, displayName, options => OpenIdSignIn.Configure(options, name, kind, settings));
                // After the handler's own post-configuration, which creates the back channel.
                services.AddOptions<OpenIdConnectOptions>(scheme).PostConfigure(static options => options.Backchannel.MaxResponseContentBufferSize = MaxBackchannelBytes);
            }
            else
            {
                authentication.AddOAuth<OAuthOptions, PublicCallbackOAuthHandler>(scheme, displayName, options => OAuthSignIn.Configure(options, name, kind, settings));
                services.AddOptions<OAuthOptions>(scheme).PostConfigure(static options => options.Backchannel.MaxResponseContentBufferSize = MaxBackchannelBytes);
            }
        }

        return services;
    }

    /// <summary>The routes: the provider list for the page, the start of a sign-in. The callbacks belong to the handlers.</summary>
    public static IEndpointRouteBuilder MapExternalSignIn(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/api/auth/providers", GetProviders);
        routes.MapGet("/auth/signin/{provider}", SignInAsync);
        return routes;
    }

    /// <summary>The cookie settings the correlation and nonce cookies share: HttpOnly, SameSite=Lax (the callback is a top-level GET), Secure on HTTPS.</summary>
    internal static void ConfigureFlowCookie(CookieBuilder cookie, string name)
    {
        cookie.Name = name;
        cookie.HttpOnly = true;
        cookie.SameSite = SameSiteMode.Lax;
        cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
    }

    /// <summary>The events every scheme shares: the visitor session at the end, a logged refusal otherwise.</summary>
    internal static Task OnRemoteFailureAsync(RemoteFailureContext context)
    {
        // The exception's type names the check that refused (audience, lifetime, signature, nonce...); its message the detail.
        var failure = context.Failure is { } e ? $"{e.GetType().Name}: {e.Message}" : "unknown";
        AuthLog.SignInFailed(Logger(context.HttpContext), context.Scheme.Name, failure);
        context.Response.Redirect(FailedPath);
        context.HandleResponse();
        return Task.CompletedTask;
    }

    /// <summary>
    /// The provider vouched for issuer + subject: find or create that visitor, end the browser's current session (if any)
    /// and sign in with a new server-side session, exactly as a guest sign-in does. The external principal is not stored.
    /// </summary>
    internal static async Task IssueVisitorSessionAsync(TicketReceivedContext context)
    {
        var http = context.HttpContext;
        var cancellationToken = http.RequestAborted;
        var principal = context.Principal;
        var issuer = principal?.FindFirstValue(IssuerClaim);
        var subject = principal?.FindFirstValue(SubjectClaim);
        var name = principal?.FindFirstValue(ClaimTypes.Name);
        var logger = Logger(http);
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
        // Kept for the owner's list of active visitors; the visitor's cookie carries only the session.
        await http.RequestServices.GetRequiredService<OwnerControlRepository>().RecordVisitAsync(
            visitor.Id, http.Connection.RemoteIpAddress?.ToString(), null, principal!.FindFirstValue(VerifiedEmailClaim), cancellationToken);
        AuthLog.SignedIn(logger, context.Scheme.Name, visitor.Id);
        http.Response.Redirect("/");
        context.HandleResponse();
    }

    /// <summary>Puts the visitor's identity on the external principal, replacing whatever the handler mapped.</summary>
    internal static void SetIdentity(ClaimsPrincipal principal, string issuer, ExternalProfile profile)
    {
        var identity = principal.Identity as ClaimsIdentity ?? throw new InvalidOperationException("The handler's principal has no claims identity.");
        foreach (var type in (string[])[IssuerClaim, SubjectClaim, ClaimTypes.Name, VerifiedEmailClaim])
        {
            foreach (var claim in identity.FindAll(type).ToList())
            {
                identity.RemoveClaim(claim);
            }
        }

        identity.AddClaim(new Claim(IssuerClaim, issuer));
        identity.AddClaim(new Claim(SubjectClaim, profile.Subject));
        identity.AddClaim(new Claim(ClaimTypes.Name, DisplayNames.Clean(profile.Name)));
        if (profile.VerifiedEmail is { } email)
        {
            identity.AddClaim(new Claim(VerifiedEmailClaim, email));
        }
    }

    internal static ILogger Logger(HttpContext http) => http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ExternalSignIn));

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

    private static async Task<IResult> SignInAsync(string provider, HttpContext http, IOptions<ExternalAuthOptions> options, IOptionsMonitor<OpenIdConnectOptions> openId)
    {
        if (!options.Value.Enabled.Any(p => p.Name == provider))
        {
            return TypedResults.NotFound();
        }

        // An OpenID provider that cannot be reached or describes itself unacceptably sends the browser back with a notice
        // instead of an error page; the handler then finds the document in its cache.
        var scheme = SchemeFor(provider);
        var kind = options.Value.Providers[provider].KindFor(provider) ?? ProviderKind.OpenIdConnect;
        if (ProviderCatalog.IsOpenId(kind) && await OpenIdSignIn.CheckProviderAsync(openId.Get(scheme), kind, http.RequestAborted) is { } problem)
        {
            AuthLog.ProviderUnavailable(Logger(http), provider, problem);
            return TypedResults.Redirect(UnavailablePath);
        }

        // Always back to the page itself: no return URL from the request, so the callback cannot be made an open redirect.
        return TypedResults.Challenge(new AuthenticationProperties { RedirectUri = "/" }, [scheme]);
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
