using System.Net;
using Microsoft.AspNetCore.WebUtilities;

namespace Parley.Web.Tests;

/// <summary>The authorization code flow driven step by step over HTTP by a <see cref="Visitor"/>'s client (no automatic redirects), so tests can look at and tamper with each step.</summary>
internal static class OidcFlow
{
    /// <summary><c>GET /auth/signin/op</c>: the gateway's redirect to the provider's authorization endpoint.</summary>
    public static async Task<Uri> StartAsync(Visitor visitor, string provider = "op")
    {
        using var response = await visitor.Http.GetAsync($"/auth/signin/{provider}");
        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        return response.Headers.Location!;
    }

    /// <summary>Signs in at the provider as <paramref name="login"/> (a login_hint on its interaction URL, no form) and returns the redirect back to the gateway's callback, not yet followed.</summary>
    /// <remarks>With <paramref name="login"/> <see langword="null"/> the user cancels at the provider's login step instead.</remarks>
    public static async Task<Uri> AuthorizeAsync(Visitor visitor, Uri authorize, string? login)
    {
        var next = authorize;
        for (var hops = 0; hops < 12; hops++)
        {
            // The provider's login step: the hint signs in without its form (see OpenId/provider.mjs).
            if (next.AbsolutePath.StartsWith("/interaction/", StringComparison.Ordinal) && next.Segments.Length == 3 && next.Query.Length == 0)
            {
                next = login is null ? new Uri(next, next.AbsolutePath + "/abort") : new Uri(QueryHelpers.AddQueryString(next.AbsoluteUri, "login_hint", login));
            }

            using var response = await visitor.Http.GetAsync(next);
            Assert.True(
                response.StatusCode is HttpStatusCode.Found or HttpStatusCode.SeeOther or HttpStatusCode.RedirectMethod,
                $"{next} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            next = new Uri(next, response.Headers.Location!);
            if (next.AbsolutePath.StartsWith("/auth/callback/", StringComparison.Ordinal) && next.Port == visitor.Http.BaseAddress!.Port)
            {
                return next;
            }
        }

        throw new InvalidOperationException("The provider did not send the browser back within 12 redirects.");
    }

    /// <summary>The whole flow: returns the callback's answer (a redirect to the page, with the session cookie on success).</summary>
    public static async Task<HttpResponseMessage> SignInAsync(Visitor visitor, string login)
    {
        var callback = await AuthorizeAsync(visitor, await StartAsync(visitor), login);
        return await visitor.Http.GetAsync(callback);
    }

    /// <summary>Whether the cookie jar holds a cookie called <paramref name="name"/> (prefix) for the gateway.</summary>
    public static bool HasCookie(Visitor visitor, string name)
        => visitor.Cookies.GetAllCookies().Any(c => c.Name.StartsWith(name, StringComparison.Ordinal) && !c.Expired);
}
