using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Parley.Web.Storage;

namespace Parley.Web.Api;

/// <summary>
/// Where the owner's controls (<c>Xmpp/OwnerCommands</c>) meet the visitor's requests: a blocked visitor may read but not
/// write, a blocked guest address may not sign in as a guest, and each visit records what the owner's "active visitors"
/// command shows (address, the page the widget was opened on, a verified e-mail address).
/// </summary>
internal static class ConversationControls
{
    /// <summary>The longest page address kept for the owner.</summary>
    public const int MaxPageLength = 512;

    /// <summary>The problem's title when the owner closed the conversation; the page recognises it.</summary>
    public const string ClosedTitle = "This conversation is closed.";

    /// <summary>An endpoint filter for the requests that write: a blocked visitor gets 403 with <see cref="ClosedTitle"/>.</summary>
    public static async ValueTask<object?> RefuseWhenBlockedAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        if (!HttpMethods.IsGet(http.Request.Method) && http.GetRouteValue("id") is string id)
        {
            var controls = http.RequestServices.GetRequiredService<OwnerControlRepository>();
            if (await controls.GetStandingAsync(id, http.RequestAborted) is { Blocked: true })
            {
                return Closed();
            }
        }

        return await next(context);
    }

    /// <summary>403 with <see cref="ClosedTitle"/>.</summary>
    public static ProblemHttpResult Closed() => TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: ClosedTitle);

    /// <summary>Whether guests from the request's address are blocked now.</summary>
    public static Task<bool> IsGuestAddressBlockedAsync(HttpContext context, OwnerControlRepository controls, CancellationToken cancellationToken)
        => Address(context) is { } address ? controls.IsAddressBlockedAsync(address, cancellationToken) : Task.FromResult(false);

    /// <summary>Records the visit for the owner's "active visitors" command; a page that is not an http(s) address is ignored.</summary>
    public static Task RecordVisitAsync(
        HttpContext context, string visitorId, string? page, string? verifiedEmail, OwnerControlRepository controls, CancellationToken cancellationToken)
        => controls.RecordVisitAsync(visitorId, Address(context), CleanPage(page), verifiedEmail, cancellationToken);

    /// <summary>The page address if it is an absolute http(s) URL of at most <see cref="MaxPageLength"/> characters, without query or fragment.</summary>
    internal static string? CleanPage(string? page)
    {
        if (page is null || page.Length > MaxPageLength || !Uri.TryCreate(page, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            return null;
        }

        // The query and fragment can carry a host site's tokens: only the page itself is kept.
        return uri.GetLeftPart(UriPartial.Path);
    }

    private static string? Address(HttpContext context) => context.Connection.RemoteIpAddress?.ToString();
}
