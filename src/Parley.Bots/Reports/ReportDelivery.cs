using Parley.Xmpp;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Upload;

namespace Parley.Bots.Reports;

/// <summary>A report to deliver to one user.</summary>
/// <param name="Recipient">The user's full JID (the client that asked).</param>
/// <param name="Report">The file.</param>
/// <param name="Request">The message that asked for it (replies go to its sender, same type and thread).</param>
public sealed record ReportDeliveryRequest(Jid Recipient, ReportFile Report, Message Request);

/// <summary>How a delivery went.</summary>
/// <param name="Method">The method used, e.g. <c>http-upload</c>, <c>si</c>, <c>jingle</c>.</param>
/// <param name="Confirmed">Whether the recipient confirmed it has the file (a completed transfer), not only got a link.</param>
/// <param name="Link">The download link sent, for link methods.</param>
public sealed record ReportDeliveryResult(string Method, bool Confirmed, Uri? Link);

/// <summary>
/// Delivers a report file to a user: a file transfer (<see cref="FileTransferReportDelivery"/>: Jingle or SI, with a
/// link as fallback) or an HTTP upload link (<see cref="HttpUploadReportDelivery"/>).
/// </summary>
public interface IReportDelivery
{
    /// <summary>Delivers the file; may send the user messages through <paramref name="context"/> (hints, the link).</summary>
    /// <param name="request">What to deliver to whom.</param>
    /// <param name="context">The bot's connection.</param>
    /// <param name="cancellationToken">Cancels the delivery.</param>
    /// <returns>How it went.</returns>
    /// <exception cref="ReportDeliveryException">The delivery failed; its message is fit for the user.</exception>
    Task<ReportDeliveryResult> DeliverAsync(ReportDeliveryRequest request, BotContext context, CancellationToken cancellationToken);
}

/// <summary>A delivery failed.</summary>
/// <param name="userMessage">What to tell the user.</param>
/// <param name="innerException">The cause.</param>
public sealed class ReportDeliveryException(string userMessage, Exception? innerException = null) : Exception(userMessage, innerException);

/// <summary>
/// Delivers by HTTP upload (XEP-0363): uploads the file to the server's upload service and sends the link as a
/// message clients show as a file. It first says why a link: "Here is the link" when the recipient's client
/// could take a real file transfer that this delivery does not do (<see cref="FileTransferReportDelivery"/> does), else "Your client accepts no file transfer;
/// here is a link instead".
/// </summary>
public sealed class HttpUploadReportDelivery : IReportDelivery, IDisposable
{
    /// <summary>Disco features that mean the client accepts a file transfer (SI file transfer, Jingle file transfer).</summary>
    public static readonly IReadOnlyList<string> FileTransferFeatures =
    [
        "http://jabber.org/protocol/si/profile/file-transfer",
        "urn:xmpp:jingle:apps:file-transfer:5",
        "urn:xmpp:jingle:apps:file-transfer:4",
        "urn:xmpp:jingle:apps:file-transfer:3",
    ];

    private readonly HttpUpload _upload;
    private readonly TimeSpan _discoTimeout;

    /// <summary>Creates the delivery for a client.</summary>
    /// <param name="client">The bot's client.</param>
    /// <param name="options">Upload settings; defaults when <see langword="null"/>.</param>
    /// <param name="discoTimeout">How long to wait for the recipient's disco#info. Default 5 s.</param>
    public HttpUploadReportDelivery(XmppClient client, HttpUploadOptions? options = null, TimeSpan? discoTimeout = null)
    {
        _upload = new HttpUpload(client, options);
        _discoTimeout = discoTimeout ?? TimeSpan.FromSeconds(5);
    }

    /// <inheritdoc />
    public async Task<ReportDeliveryResult> DeliverAsync(ReportDeliveryRequest request, BotContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var acceptsTransfer = await AcceptsFileTransferAsync(context.Client, request.Recipient, cancellationToken).ConfigureAwait(false);
        var hint = acceptsTransfer ? $"Here is the link to {request.Report.FileName}:" : NoTransferHint;
        return await DeliverLinkAsync(request, context, hint, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>What the user is told before the link when the client announces no file transfer.</summary>
    public const string NoTransferHint = "Your client accepts no file transfer; here is a link instead:";

    /// <summary>Uploads the file, then sends <paramref name="hint"/> and the link (used by deliveries that fall back to a link).</summary>
    /// <param name="request">What to deliver to whom.</param>
    /// <param name="context">The bot's connection.</param>
    /// <param name="hint">The text sent before the link, saying why a link.</param>
    /// <param name="cancellationToken">Cancels the delivery.</param>
    /// <returns>The link sent.</returns>
    /// <exception cref="ReportDeliveryException">The upload failed; its message is fit for the user.</exception>
    public async Task<ReportDeliveryResult> DeliverLinkAsync(ReportDeliveryRequest request, BotContext context, string hint, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        ArgumentException.ThrowIfNullOrWhiteSpace(hint);
        HttpUploadSlot slot;
        try
        {
            slot = await _upload.UploadAsync(request.Report.Path, request.Report.ContentType, fileName: request.Report.FileName, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpUploadException ex)
        {
            throw new ReportDeliveryException(UploadFailureMessage(ex, request.Report.FileName), ex);
        }
        catch (TimeoutException ex)
        {
            throw new ReportDeliveryException(UploadTimeoutMessage, ex);
        }

        await context.ReplyAsync(request.Request, hint, cancellationToken).ConfigureAwait(false);
        var link = OutOfBand.CreateLinkMessage(request.Request.From!, slot.GetUrl, request.Request.Type);
        await context.SendAsync(link, cancellationToken).ConfigureAwait(false);
        return new ReportDeliveryResult("http-upload", Confirmed: false, slot.GetUrl);
    }

    /// <summary>Releases the upload's HTTP client.</summary>
    public void Dispose() => _upload.Dispose();

    /// <summary>What the user is told when the upload service does not answer.</summary>
    internal const string UploadTimeoutMessage = "The chat server's upload service did not answer — try again later.";

    /// <summary>What the user is told when an upload failed.</summary>
    internal static string UploadFailureMessage(HttpUploadException ex, string fileName) => ex.Error switch
    {
        HttpUploadError.NoService => "The chat server offers no file upload, so I cannot send the report.",
        HttpUploadError.FileTooLarge => $"{fileName} is too large for the chat server's file upload ({ex.Message}).",
        _ => $"Uploading {fileName} failed — try again later.",
    };

    private async Task<bool> AcceptsFileTransferAsync(XmppClient client, Jid recipient, CancellationToken cancellationToken)
    {
        if (recipient.IsBare)
        {
            return false;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_discoTimeout);
        try
        {
            var info = await client.Disco.QueryInfoAsync(recipient, cancellationToken: timeout.Token).ConfigureAwait(false);
            return FileTransferFeatures.Any(info.Supports);
        }
        catch (Exception ex) when (ex is XmppStanzaException or TimeoutException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return false;
        }
    }
}
