using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Parley.Web.Storage;

namespace Parley.Web.Auth;

/// <summary>
/// The claims of a signed-in visitor. An identity is issuer + subject (a guest's issuer is <see cref="GuestIssuer"/>;
/// a provider sign-in's is the provider's issuer URL, see <c>Auth/ExternalSignIn</c>). The cookie carries only the sign-in
/// session id (<see cref="SessionReferenceFormat"/>); the claims are rebuilt from the session's row on every request.
/// </summary>
internal static class VisitorIdentity
{
    public const string GuestIssuer = "guest";
    public const string VisitorClaim = "parley:visitor";
    public const string SessionClaim = "parley:session";
    public const string IssuerClaim = "parley:iss";
    public const string SubjectClaim = "parley:sub";

    public static ClaimsPrincipal Create(Visitor visitor, string sessionId)
    {
        var identity = new ClaimsIdentity([new Claim(SessionClaim, sessionId)], CookieAuthenticationDefaults.AuthenticationScheme, ClaimTypes.Name, null);
        AddVisitorClaims(identity, visitor);
        return new ClaimsPrincipal(identity);
    }

    /// <summary>A principal that names only a sign-in session; <see cref="ValidateSessionAsync"/> adds the visitor's claims.</summary>
    public static ClaimsPrincipal SessionReference(string sessionId)
        => new(new ClaimsIdentity([new Claim(SessionClaim, sessionId)], CookieAuthenticationDefaults.AuthenticationScheme, ClaimTypes.Name, null));

    private static void AddVisitorClaims(ClaimsIdentity identity, Visitor visitor)
    {
        identity.AddClaim(new Claim(VisitorClaim, visitor.Id));
        // Every guest's issuer is the same text; the constant instead of the copy each database read makes.
        identity.AddClaim(new Claim(IssuerClaim, visitor.Issuer == GuestIssuer ? GuestIssuer : visitor.Issuer));
        identity.AddClaim(new Claim(SubjectClaim, visitor.Subject));
        identity.AddClaim(new Claim(ClaimTypes.Name, visitor.DisplayName));
    }

    public static string? VisitorId(this ClaimsPrincipal user) => user.FindFirstValue(VisitorClaim);

    public static string? SessionId(this ClaimsPrincipal user) => user.FindFirstValue(SessionClaim);

    /// <summary>
    /// Rebuilds the visitor's claims from the sign-in session the cookie names, and refuses a cookie whose session was
    /// ended (sign-out) even if the browser, or someone else, kept it.
    /// </summary>
    public static async Task ValidateSessionAsync(CookieValidatePrincipalContext context)
    {
        var sessions = context.HttpContext.RequestServices.GetRequiredService<SessionRepository>();
        if (context.Principal?.SessionId() is not { } sessionId
            || await sessions.FindVisitorAsync(sessionId, context.HttpContext.RequestAborted) is not { } visitor)
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
            return;
        }

        // The cookie's principal names only the session (SessionReferenceFormat, a new one per request): the visitor's
        // claims are added to it rather than to a second principal, which an event stream's request would keep too.
        if (context.Principal.Identity is ClaimsIdentity { IsAuthenticated: true } reference && reference.FindFirst(VisitorClaim) is null)
        {
            AddVisitorClaims(reference, visitor);
        }
        else
        {
            context.ReplacePrincipal(Create(visitor, sessionId));
        }

        if (context.Properties.Items.Remove(SessionReferenceFormat.LegacyItem))
        {
            context.ShouldRenew = true;
        }
    }
}
