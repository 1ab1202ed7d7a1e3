using Microsoft.AspNetCore.Authentication;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication.Cookies;
using Parley.Web.Storage;

namespace Parley.Web.Api;

/// <summary>
/// The claims of a signed-in visitor. An identity is issuer + subject (a guest's issuer is <see cref="GuestIssuer"/>;
/// a provider sign-in's is the provider's issuer URL, see <c>Auth/ExternalSignIn</c>); the visitor id and the sign-in
/// session ride along in the cookie.
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
        var identity = new ClaimsIdentity(
            [
                new Claim(VisitorClaim, visitor.Id),
                new Claim(SessionClaim, sessionId),
                new Claim(IssuerClaim, visitor.Issuer),
                new Claim(SubjectClaim, visitor.Subject),
                new Claim(ClaimTypes.Name, visitor.DisplayName),
            ],
            CookieAuthenticationDefaults.AuthenticationScheme,
            ClaimTypes.Name,
            null);
        return new ClaimsPrincipal(identity);
    }

    public static string? VisitorId(this ClaimsPrincipal user) => user.FindFirstValue(VisitorClaim);

    public static string? SessionId(this ClaimsPrincipal user) => user.FindFirstValue(SessionClaim);

    /// <summary>Refuses a cookie whose session was ended (sign-out) even if the browser, or someone else, kept it.</summary>
    public static async Task ValidateSessionAsync(CookieValidatePrincipalContext context)
    {
        var user = context.Principal;
        var store = context.HttpContext.RequestServices.GetRequiredService<ChatStore>();
        if (user?.VisitorId() is not { } visitorId || user.SessionId() is not { } sessionId
            || !await store.IsSessionLiveAsync(sessionId, visitorId, context.HttpContext.RequestAborted))
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        }
    }
}
