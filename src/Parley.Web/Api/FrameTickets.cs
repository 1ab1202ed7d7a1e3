using System.Buffers.Binary;
using System.Buffers.Text;
using System.Net;
using System.Security.Cryptography;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;
using Parley.Web.Configuration;

namespace Parley.Web.Api;

/// <summary>
/// Proof, for <c>POST /api/embed</c>, that the request comes from the chat page while the browser shows it inside a
/// frame — and therefore, because <c>frame-ancestors</c> lists only <c>Widget:AllowedOrigins</c>, inside a page of an
/// allowed site.
/// </summary>
/// <remarks>
/// <para>
/// A fetch from the page says nothing about where the page is shown: <c>Sec-Fetch-Site</c> is <c>same-origin</c>,
/// <c>Sec-Fetch-Dest</c> <c>empty</c> and <c>Origin</c> the gateway's own, whether the page is framed or was opened from
/// a link. Only the navigation that loads the page tells: the browser sends <c>Sec-Fetch-Dest: iframe</c> for a
/// frame and <c>document</c> for a tab, and no page script can change it. So the page is served differently then:
/// a frame's copy carries a ticket in <c>&lt;meta name="parley-frame"&gt;</c>, a tab's copy never does.
/// </para>
/// <para>
/// The ticket is bound to the browser that loaded the frame: the same response sets an HttpOnly cookie with a random
/// key (partitioned like the chat's other cookies), and the ticket is that key and its issue time, data-protected
/// (so a ticket cannot be made up or changed, and any gateway sharing the key ring checks it). A ticket fetched by
/// anybody else — with a forged <c>Sec-Fetch-Dest</c> from a script, say — is worthless in a victim's browser, which
/// holds another key (or none); and no page of another origin can read the frame's copy. A ticket is good for
/// <c>Widget:TokenLifetime</c>, like the site tokens it admits.
/// </para>
/// <para>
/// Browsers without fetch metadata (before Safari 16.4, Firefox 90, Chrome 80) never get a ticket: their visitors
/// chat as guests.
/// </para>
/// </remarks>
internal sealed class FrameTickets(IDataProtectionProvider protection, IOptions<GatewayOptions> options, TimeProvider time)
{
    public const string CookieName = "parley.frame";
    public const string HeaderName = "X-Parley-Frame";
    public const string CookiePath = "/api/embed";

    /// <summary>The tag in <c>index.html</c> that a frame's copy fills in (the ticket and the origins allowed to send a site token).</summary>
    public const string PageMarker = "<meta name=\"parley-frame\" content=\"\">";

    private const int KeyLength = 32;
    private const int TicketLength = KeyLength + sizeof(long);
    private static readonly TimeSpan CookieLifetime = TimeSpan.FromDays(30);

    private readonly IDataProtector _protector = protection.CreateProtector("Parley.Web.FrameTicket");

    /// <summary>Whether tickets are issued at all: only when a site may sign its users in and some origin may frame the chat.</summary>
    public bool Enabled => options.Value.Widget is { Sites.Count: > 0, AllowedOrigins.Count: > 0 };

    /// <summary>Whether the browser is loading this document into a frame (fetch metadata, set by the browser alone).</summary>
    public static bool IsFrameNavigation(HttpRequest request)
        => request.Headers["Sec-Fetch-Dest"].ToString() is "iframe" or "frame";

    /// <summary>A new ticket for this browser; sets (or refreshes) its key cookie.</summary>
    public string Issue(HttpContext context)
    {
        var key = ReadKey(context.Request) ?? RandomNumberGenerator.GetBytes(KeyLength);
        context.Response.Cookies.Append(CookieName, Base64Url.EncodeToString(key), new CookieOptions
        {
            // Tickets exist only while framing is allowed, when the chat's cookies are SameSite=None, Secure and
            // Partitioned too: a frame on another site gets no other kind, and a tab never sees the frame's jar.
            HttpOnly = true,
            Secure = true,
            SameSite = SameSiteMode.None,
            Path = CookiePath,
            MaxAge = CookieLifetime,
            Extensions = { "Partitioned" },
        });

        var payload = new byte[TicketLength];
        key.CopyTo(payload, 0);
        BinaryPrimitives.WriteInt64BigEndian(payload.AsSpan(KeyLength), time.GetUtcNow().ToUnixTimeSeconds());
        return Base64Url.EncodeToString(_protector.Protect(payload));
    }

    /// <summary>Whether the request carries a live ticket issued to this browser.</summary>
    public bool Accepts(HttpRequest request)
    {
        if (!Enabled || ReadKey(request) is not { } key || request.Headers[HeaderName].ToString() is not { Length: > 0 and <= 1024 } header)
        {
            return false;
        }

        byte[] payload;
        try
        {
            payload = _protector.Unprotect(Base64Url.DecodeFromChars(header));
        }
        catch (Exception error) when (error is CryptographicException or FormatException)
        {
            return false;
        }

        if (payload.Length != TicketLength)
        {
            return false;
        }

        var issued = DateTimeOffset.FromUnixTimeSeconds(BinaryPrimitives.ReadInt64BigEndian(payload.AsSpan(KeyLength)));
        var now = time.GetUtcNow();
        return issued <= now + EmbedTokens.ClockSkew && now - issued <= options.Value.Widget.TokenLifetime
            && CryptographicOperations.FixedTimeEquals(payload.AsSpan(0, KeyLength), key);
    }

    /// <summary>The chat page for a frame: <c>index.html</c> with the ticket and the allowed origins in its marker tag.</summary>
    public string FramePage(string page, HttpContext context)
    {
        var origins = string.Join(' ', options.Value.Widget.AllowedOrigins.Select(WidgetApi.NormalizeOrigin).OfType<string>().Distinct(StringComparer.Ordinal));
        var tag = $"<meta name=\"parley-frame\" content=\"{Issue(context)}\" data-origins=\"{WebUtility.HtmlEncode(origins)}\">";
        return page.Replace(PageMarker, tag, StringComparison.Ordinal);
    }

    private static byte[]? ReadKey(HttpRequest request)
    {
        if (request.Cookies[CookieName] is not { Length: > 0 and <= 64 } value)
        {
            return null;
        }

        try
        {
            var key = Base64Url.DecodeFromChars(value);
            return key.Length == KeyLength ? key : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }
}

/// <summary>Serves the chat page with a <see cref="FrameTickets"/> ticket when the browser loads it into a frame.</summary>
internal static class FramePage
{
    public static IApplicationBuilder UseFramePage(this IApplicationBuilder app, IFileProvider files)
    {
        string? page = null;
        return app.Use(async (context, next) =>
        {
            var request = context.Request;
            var tickets = context.RequestServices.GetRequiredService<FrameTickets>();
            if (!HttpMethods.IsGet(request.Method) || request.Path.Value is not ("/" or "/index.html")
                || !FrameTickets.IsFrameNavigation(request) || !tickets.Enabled)
            {
                await next(context);
                return;
            }

            page ??= await ReadPageAsync(files);
            var response = context.Response;
            response.ContentType = "text/html; charset=utf-8";

            // One ticket per loaded document: never kept by a cache, never answered with a tab's cached copy.
            response.Headers.CacheControl = "no-store";
            await response.WriteAsync(tickets.FramePage(page, context), context.RequestAborted);
        });
    }

    private static async Task<string> ReadPageAsync(IFileProvider files)
    {
        var file = files.GetFileInfo("index.html");
        await using var stream = file.CreateReadStream();
        using var reader = new StreamReader(stream);
        var page = await reader.ReadToEndAsync();
        return page.Contains(FrameTickets.PageMarker, StringComparison.Ordinal)
            ? page
            : throw new InvalidOperationException($"index.html lacks {FrameTickets.PageMarker}, where the widget frame's ticket goes.");
    }
}
