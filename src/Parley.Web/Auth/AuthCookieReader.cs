using Microsoft.AspNetCore.Authentication.Cookies;

namespace Parley.Web.Auth;

/// <summary>
/// Reads the auth cookie straight from the <c>Cookie</c> header instead of through <see cref="HttpRequest.Cookies"/>,
/// which would parse every cookie of the request (the anti-forgery cookie is ~190 characters) into a collection that
/// the request keeps for its lifetime: for an event stream that is open for hours, ~0.7 KiB per tab for nothing.
/// Writing and deleting, and a cookie split into chunks, go to ASP.NET's <see cref="ChunkingCookieManager"/>.
/// </summary>
internal sealed class AuthCookieReader : ICookieManager
{
    private const string ChunkPrefix = "chunks-";

    // Far above a session reference (~150 characters); a longer Cookie header is left to the full parser.
    private const int MaxHeaderLength = 8192;

    private readonly ChunkingCookieManager _chunking = new();

    public string? GetRequestCookie(HttpContext context, string key)
    {
        var headers = context.Request.Headers.Cookie;
        if (headers.Count != 1 || headers[0] is not { Length: <= MaxHeaderLength } header)
        {
            return _chunking.GetRequestCookie(context, key);
        }

        // Quoted, escaped or comma-separated values, and chunked cookies, are the full parser's.
        if (header.AsSpan().IndexOfAny(",\"%\\") >= 0)
        {
            return _chunking.GetRequestCookie(context, key);
        }

        var value = Find(header, key);
        return value is null || !value.StartsWith(ChunkPrefix, StringComparison.Ordinal) ? value : _chunking.GetRequestCookie(context, key);
    }

    public void AppendResponseCookie(HttpContext context, string key, string? value, CookieOptions options)
        => _chunking.AppendResponseCookie(context, key, value, options);

    public void DeleteCookie(HttpContext context, string key, CookieOptions options)
        => _chunking.DeleteCookie(context, key, options);

    /// <summary>
    /// The value of the cookie named <paramref name="key"/> in a plain <c>Cookie</c> header (<c>a=1; b=2</c>), the last
    /// one when it repeats and <see langword="null"/> when empty or absent: what <see cref="HttpRequest.Cookies"/> answers.
    /// </summary>
    internal static string? Find(string header, string key)
    {
        var rest = header.AsSpan();
        ReadOnlySpan<char> found = default;
        while (!rest.IsEmpty)
        {
            var end = rest.IndexOf(';');
            var pair = (end < 0 ? rest : rest[..end]).TrimStart(' ');
            var equals = pair.IndexOf('=');
            if (equals > 0 && pair[..equals].SequenceEqual(key))
            {
                found = pair[(equals + 1)..].TrimEnd(' ');
            }

            rest = end < 0 ? default : rest[(end + 1)..];
        }

        return found.IsEmpty ? null : new string(found);
    }
}
