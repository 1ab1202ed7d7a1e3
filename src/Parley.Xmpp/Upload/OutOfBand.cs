using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp.Upload;

/// <summary>
/// Out-of-band data (XEP-0066): a link message that clients show as a file card, and the IQ offer that
/// libpurple (Pidgin) downloads like a file transfer.
/// </summary>
public static class OutOfBand
{
    /// <summary>The namespace of the link attached to a message (<c>jabber:x:oob</c>).</summary>
    public const string DataNamespace = "jabber:x:oob";

    /// <summary>The namespace of the IQ offer (<c>jabber:iq:oob</c>).</summary>
    public const string IqNamespace = "jabber:iq:oob";

    /// <summary>
    /// A message whose body is exactly the URL and which carries <c>&lt;x xmlns='jabber:x:oob'&gt;&lt;url/&gt;&lt;/x&gt;</c>:
    /// Conversations, Gajim and Dino show such a message as the file itself.
    /// </summary>
    /// <param name="to">The recipient.</param>
    /// <param name="url">The download URL (sent as given, e.g. the slot's GET URL).</param>
    /// <param name="type">The message type. Default chat.</param>
    /// <exception cref="ArgumentException">The URL is not absolute.</exception>
    public static Message CreateLinkMessage(Jid to, Uri url, MessageType type = MessageType.Chat)
    {
        ArgumentNullException.ThrowIfNull(to);
        var text = UrlText(url);
        var message = new Message(to, text, type);
        message.Add(new XmppElement("x", DataNamespace)).AddChild("url", text: text);
        return message;
    }

    /// <summary>The URL of a message's <c>jabber:x:oob</c> element, or <see langword="null"/> when it has none (or an invalid one).</summary>
    /// <param name="message">The message.</param>
    public static Uri? GetUrl(Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var text = message.Element("x", DataNamespace)?.ElementText("url", DataNamespace);
        return Uri.TryCreate(text, UriKind.Absolute, out var url) ? url : null;
    }

    /// <summary>
    /// Offers a file by URL with an IQ (XEP-0066 §3) and waits until the recipient has fetched it (a result) or
    /// refused (an error). Send it to a full JID: the recipient's client answers once its download has ended.
    /// </summary>
    /// <param name="endpoint">The sending client.</param>
    /// <param name="to">The recipient's full JID.</param>
    /// <param name="url">The download URL.</param>
    /// <param name="description">A description shown to the user, if any.</param>
    /// <param name="timeout">How long to wait for the recipient; default 10 minutes (the answer comes after the download).</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <exception cref="XmppStanzaException">The recipient refused (<c>not-acceptable</c>) or could not download it (<c>item-not-found</c>), or does not support the offer.</exception>
    /// <exception cref="TimeoutException">No answer in time.</exception>
    /// <exception cref="ArgumentException">The recipient is a bare JID, or the URL is not absolute.</exception>
    public static async Task OfferAsync(XmppEndpoint endpoint, Jid to, Uri url, string? description = null, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(to);
        if (to.IsBare)
        {
            throw new ArgumentException("An IQ offer goes to one client: a full JID (user@domain/resource).", nameof(to));
        }

        var query = new XmppElement("query", IqNamespace);
        query.AddChild("url", text: UrlText(url));
        if (description is not null)
        {
            query.AddChild("desc", text: description);
        }

        await endpoint.SendIqAsync(new Iq(IqType.Set, to, query), timeout ?? TimeSpan.FromMinutes(10), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads an IQ offer's URL and description, or returns <see langword="false"/> when the IQ is not a valid offer.</summary>
    /// <param name="request">The IQ.</param>
    /// <param name="url">The offered URL.</param>
    /// <param name="description">The description, if any.</param>
    public static bool TryParseOffer(Iq request, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Uri? url, out string? description)
    {
        ArgumentNullException.ThrowIfNull(request);
        var query = request.Element("query", IqNamespace);
        description = query?.ElementText("desc", IqNamespace);
        return Uri.TryCreate(query?.ElementText("url", IqNamespace), UriKind.Absolute, out url);
    }

    private static string UrlText(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (!url.IsAbsoluteUri)
        {
            throw new ArgumentException($"'{url}' is not an absolute URL.", nameof(url));
        }

        return url.OriginalString;
    }
}
