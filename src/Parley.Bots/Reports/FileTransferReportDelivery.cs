using Microsoft.Extensions.Logging;
using Parley.Xmpp;
using Parley.Xmpp.FileTransfer;

namespace Parley.Bots.Reports;

/// <summary>
/// Sends the report as a file to the client that asked (its full JID), with the method that client supports: the
/// <see cref="FileTransferManager"/> chooses Jingle file transfer when the client announces it, else SI (SOCKS5, then
/// in-band). When the client announces no file transfer, or the transfer fails or is declined, it falls back to an HTTP
/// upload link and says why ("Your client accepts no file transfer; here is a link instead:" or "The transfer failed
/// (…); here is a link instead:"). A completed transfer is <see cref="ReportDeliveryResult.Confirmed"/>.
/// </summary>
public sealed partial class FileTransferReportDelivery : IReportDelivery, IAsyncDisposable
{
    private readonly FileTransferManager _manager;
    private readonly HttpUploadReportDelivery _fallback;
    private readonly TimeSpan _discoTimeout;

    /// <summary>Creates the delivery; it owns (and disposes) both the manager and the fallback.</summary>
    /// <param name="manager">The file-transfer manager, already added to the bot's client (<see cref="XmppEndpoint.AddExtension{T}"/>).</param>
    /// <param name="fallback">The link delivery used when no transfer is possible.</param>
    /// <param name="discoTimeout">How long to wait for the recipient's disco#info. Default 5 s.</param>
    /// <exception cref="ArgumentNullException">A required argument is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="discoTimeout"/> is not positive.</exception>
    public FileTransferReportDelivery(FileTransferManager manager, HttpUploadReportDelivery fallback, TimeSpan? discoTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(manager);
        ArgumentNullException.ThrowIfNull(fallback);
        _discoTimeout = discoTimeout ?? TimeSpan.FromSeconds(5);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(_discoTimeout, TimeSpan.Zero);
        _manager = manager;
        _fallback = fallback;
    }

    /// <inheritdoc />
    public async Task<ReportDeliveryResult> DeliverAsync(ReportDeliveryRequest request, BotContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var report = request.Report;
        if (!await AcceptsFileTransferAsync(context.Client, request.Recipient, cancellationToken).ConfigureAwait(false))
        {
            LogNoTransfer(context.Logger, request.Recipient.ToString());
            return await _fallback.DeliverLinkAsync(request, context, HttpUploadReportDelivery.NoTransferHint, cancellationToken).ConfigureAwait(false);
        }

        string reason;
        try
        {
            var file = new FileStream(report.Path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.Asynchronous | FileOptions.SequentialScan);
            FileTransferResult result;
            await using (file.ConfigureAwait(false))
            {
                // The offered name is the report's, not the (possibly temporary) file's.
                var options = new FileSendOptions { MimeType = report.ContentType, Description = $"Report {report.FileName}" };
                result = await _manager.SendFileAsync(request.Recipient, file, report.FileName, file.Length, options, cancellationToken: cancellationToken).ConfigureAwait(false);
            }

            if (result.FallbackReason is { } fellBack)
            {
                LogTransportFallback(context.Logger, request.Recipient.ToString(), fellBack);
            }

            return new ReportDeliveryResult(MethodName(result), Confirmed: true, Link: null);
        }
        catch (FileTransferException ex)
        {
            LogTransferFailed(context.Logger, report.FileName, request.Recipient.ToString(), ex.Error, ex.Message);
            reason = ex.Error switch
            {
                FileTransferError.Declined => "you declined it",
                FileTransferError.NoCommonMethod => "your client could not take it",
                FileTransferError.StreamFailed => "no connection to your client could be made",
                FileTransferError.Timeout => "your client did not answer in time",
                FileTransferError.Aborted => "it was cancelled",
                _ => "the file did not arrive intact",
            };
        }
        catch (XmppStanzaException ex)
        {
            LogTransferRefused(context.Logger, report.FileName, request.Recipient.ToString(), ex.Condition);
            reason = $"your client answered {ex.Condition}";
        }

        return await _fallback.DeliverLinkAsync(request, context, $"The transfer failed ({reason}); here is a link instead:", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops the manager's streamhost and releases the fallback's HTTP client.</summary>
    public async ValueTask DisposeAsync()
    {
        await _manager.DisposeAsync().ConfigureAwait(false);
        _fallback.Dispose();
    }

    private static string MethodName(FileTransferResult result)
    {
        var transport = result.Transport == FileTransferMethod.InBandBytestreams ? "ibb" : "socks5";
        return result.Method == FileTransferMethod.Jingle ? $"jingle/{transport}" : $"si/{transport}";
    }

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
            var info = await client.Capabilities.GetInfoAsync(recipient, timeout.Token).ConfigureAwait(false);
            return HttpUploadReportDelivery.FileTransferFeatures.Any(info.Supports);
        }
        catch (Exception ex) when (ex is XmppStanzaException or TimeoutException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return false;
        }
    }

    [LoggerMessage(8210, LogLevel.Information, "{User} announces no file transfer; sending an upload link")]
    private static partial void LogNoTransfer(ILogger logger, string user);

    [LoggerMessage(8211, LogLevel.Warning, "Sending {FileName} to {User} failed ({Error}: {Reason}); sending an upload link instead")]
    private static partial void LogTransferFailed(ILogger logger, string fileName, string user, FileTransferError error, string reason);

    [LoggerMessage(8212, LogLevel.Warning, "{User} refused the offer of {FileName} with {Condition}; sending an upload link instead")]
    private static partial void LogTransferRefused(ILogger logger, string fileName, string user, string condition);

    [LoggerMessage(8213, LogLevel.Information, "The transfer to {User} fell back to another bytestream: {Reason}")]
    private static partial void LogTransportFallback(ILogger logger, string user, string reason);
}
