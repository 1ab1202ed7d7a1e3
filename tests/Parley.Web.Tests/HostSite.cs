using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Parley.Web.Tests;

/// <summary>
/// Somebody else's website on another loopback port: its page carries the widget's script tag, and — like a real site
/// with signed-in users — its server signs the user into the chat (HMAC-SHA256 over user, name and timestamp).
/// </summary>
internal sealed class HostSite : IAsyncDisposable
{
    public const string Name = "shop.test";
    public const string Secret = "a-long-shared-secret-for-the-shop-0123456789";

    private readonly WebApplication _app;

    private HostSite(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    public Uri Address { get; }

    /// <summary>The origin to list in <c>Parley:Widget:AllowedOrigins</c>.</summary>
    public string Origin => Address.GetLeftPart(UriPartial.Authority);

    /// <summary>The gateway whose widget the page embeds (set once the gateway runs; the gateway needs this site's origin first).</summary>
    public Uri? Gateway { get; set; }

    /// <summary>The signed-in user of the shop, or null for an anonymous page.</summary>
    public (string Id, string Name)? User { get; set; }

    public static async Task<HostSite> StartAsync()
    {
        HostSite? site = null;
        var (app, address) = await LoopbackWebApp.StartAsync(app => app.MapGet("/", () => Results.Content(site!.Page(), "text/html; charset=utf-8")));
        site = new HostSite(app, address);
        return site;
    }

    /// <summary>What the shop's server computes for its user: <c>hex(HMAC-SHA256(secret, user + "\n" + name + "\n" + ts))</c>.</summary>
    public static string Sign(string secret, string user, string name, long timestamp)
    {
        var text = user + "\n" + name + "\n" + timestamp.ToString(CultureInfo.InvariantCulture);
        return Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(text)));
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    private string Page()
    {
        var tag = new StringBuilder($"<script src=\"{WebUtility.HtmlEncode(new Uri(Gateway!, "/widget.js").ToString())}\" async");
        if (User is { } user)
        {
            var ts = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            tag.Append(CultureInfo.InvariantCulture, $" data-site=\"{Name}\" data-user=\"{WebUtility.HtmlEncode(user.Id)}\" data-name=\"{WebUtility.HtmlEncode(user.Name)}\"");
            tag.Append(CultureInfo.InvariantCulture, $" data-timestamp=\"{ts}\" data-signature=\"{Sign(Secret, user.Id, user.Name, ts)}\"");
        }

        tag.Append("></script>");
        return $"""
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>The Shop</title><link rel="icon" href="data:,"></head>
            <body><h1>The Shop</h1><p>Products and prices.</p>{tag}</body></html>
            """;
    }
}
