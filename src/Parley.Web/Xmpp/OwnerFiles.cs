using Parley.Web.Storage;
using Parley.Web.Text;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Upload;

namespace Parley.Web.Xmpp;

/// <summary>
/// Recognizes a file in the owner's message, so the page shows a download instead of a bare link: a <c>jabber:x:oob</c>
/// URL (what clients send after an HTTP upload), or a body that is nothing but an https URL whose last segment is a
/// file name (clients that send the upload's GET URL alone). A plain web page link stays a link.
/// </summary>
internal static class OwnerFiles
{
    private const int MaxUrlLength = 2048;

    /// <summary>The file the message carries, or <see langword="null"/>.</summary>
    public static Attachment? Find(Message message, string body)
    {
        var oob = message.Element("x", OutOfBand.DataNamespace);
        if (oob?.ElementText("url", OutOfBand.DataNamespace)?.Trim() is { } linked)
        {
            return WebUrl(linked, httpsOnly: false) is { } url
                ? new Attachment(url.AbsoluteUri, NameOf(url) ?? FileNames.Clean(oob.ElementText("desc", OutOfBand.DataNamespace)) ?? "file", null, null)
                : null;
        }

        var text = body.Trim();
        if (text.Any(char.IsWhiteSpace) || WebUrl(text, httpsOnly: true) is not { } only || NameOf(only) is not { } name || !Path.HasExtension(name))
        {
            return null;
        }

        return new Attachment(only.AbsoluteUri, name, null, null);
    }

    private static Uri? WebUrl(string text, bool httpsOnly)
        => text.Length <= MaxUrlLength && Uri.TryCreate(text, UriKind.Absolute, out var url)
            && (url.Scheme == Uri.UriSchemeHttps || (!httpsOnly && url.Scheme == Uri.UriSchemeHttp)) && url.UserInfo.Length == 0
            ? url
            : null;

    private static string? NameOf(Uri url)
    {
        var segment = url.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries).LastOrDefault();
        return segment is null ? null : FileNames.Clean(Uri.UnescapeDataString(segment));
    }
}
