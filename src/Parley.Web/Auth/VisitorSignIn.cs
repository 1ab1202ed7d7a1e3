using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Parley.Web.Chat;
using Parley.Web.Storage;

namespace Parley.Web.Auth;

/// <summary>Signs visitors in and out, the same for guests, providers and a host site's users.</summary>
internal sealed class VisitorSignIn(VisitorRepository visitors, SessionRepository sessions, ChatHub hub)
{
    /// <summary>
    /// Ends the sign-in session <paramref name="current"/> names, if any: its cookie is refused from now on, even where
    /// somebody kept a copy, and its open tabs close.
    /// </summary>
    /// <exception cref="ChatStoreException">The database is unavailable or full.</exception>
    public async Task EndAsync(ClaimsPrincipal? current, CancellationToken cancellationToken)
    {
        if (current?.SessionId() is { } session)
        {
            await sessions.EndAsync(session, cancellationToken);
            hub.EndSession(session);
        }
    }

    /// <summary>
    /// Ends the current session (<see cref="EndAsync"/>), then signs the identity in with a new session and sets the
    /// cookie that names it; the visitor is created on their first sign-in, and their display name kept current.
    /// </summary>
    /// <exception cref="ChatStoreException">The database is unavailable or full.</exception>
    public async Task<Visitor> SignInAsync(HttpContext http, ClaimsPrincipal? current, string issuer, string subject, string displayName, CancellationToken cancellationToken)
    {
        await EndAsync(current, cancellationToken);
        var visitor = await visitors.GetOrCreateAsync(issuer, subject, displayName, cancellationToken);
        var session = await sessions.CreateAsync(visitor.Id, cancellationToken);
        await http.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, VisitorIdentity.Create(visitor, session), new AuthenticationProperties { IsPersistent = true });
        return visitor;
    }
}
