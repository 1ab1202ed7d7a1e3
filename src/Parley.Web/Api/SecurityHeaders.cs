using Microsoft.Extensions.Options;
using Parley.Web.Configuration;

namespace Parley.Web.Api;

/// <summary>
/// Headers on every response: a strict Content-Security-Policy (scripts and styles only from this origin, no inline code)
/// and friends. Framing is refused (<c>frame-ancestors 'none'</c>, <c>X-Frame-Options: DENY</c>) unless
/// <c>Parley:Widget:AllowedOrigins</c> lists the sites whose pages may show the chat in the widget's frame.
/// </summary>
internal static class SecurityHeaders
{
    public const string WidgetScriptPath = "/widget.js";

    private const string PolicyWithoutFraming =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
        "form-action 'self'; base-uri 'none'; frame-ancestors ";

    public const string ContentSecurityPolicy = PolicyWithoutFraming + "'none'";

    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app)
    {
        string? policy = null;
        return app.Use((context, next) =>
        {
            // Resolved on the first request, not at build time: start-up validates the options and reports every problem.
            var origins = context.RequestServices.GetRequiredService<IOptions<GatewayOptions>>().Value.Widget.AllowedOrigins;
            policy ??= PolicyWithoutFraming + WidgetApi.FrameAncestors(origins);
            var headers = context.Response.Headers;
            headers.ContentSecurityPolicy = policy;
            headers.XContentTypeOptions = "nosniff";
            if (origins.Count == 0)
            {
                headers.XFrameOptions = "DENY";
            }

            headers["Referrer-Policy"] = "no-referrer";
            headers["Cross-Origin-Opener-Policy"] = "same-origin";

            // The widget's script is loaded by other sites' pages; everything else stays same-origin.
            headers["Cross-Origin-Resource-Policy"] = context.Request.Path.Equals(WidgetScriptPath, StringComparison.Ordinal) ? "cross-origin" : "same-origin";
            headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()";
            return next(context);
        });
    }
}
