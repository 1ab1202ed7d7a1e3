using Microsoft.Extensions.Logging;
using Parley.Xmpp;
using Parley.Xmpp.FileTransfer;
using Parley.Xmpp.Upload;

namespace Parley.Bots.Reports;

/// <summary>
/// Sends the report as a file to the client that asked (its full JID) through the <see cref="FileTransferManager"/>'s
/// chain: Jingle file transfer when the client announces it, else SI (SOCKS5, then in-band), else — or when the transfer
/// fails or is declined — an HTTP upload link, preceded by why ("Your client accepts no file transfer; here is a link
/// instead:" or "The transfer failed (…); here is a link instead:"). A completed transfer is
/// <see cref="ReportDeliveryResult.Confirmed"/>; a link is not.
/// </summary>
public sealed partial class FileTransferReportDelivery : IReportDelivery, IAsyncDisposable
{
    private static readonly IReadOnlyList<FileTransferMethod> s_methods =
        [FileTransferMethod.Jingle, FileTransferMethod.Socks5Bytestreams, FileTransferMethod.InBandBytestreams, FileTransferMethod.HttpUpload];

    private readonly FileTransferManager _manager;
    private readonly HttpUploadReportDelivery _fallback;

    /// <summary>Creates the delivery; it owns (and disposes) both the manager and the fallback.</summary>
    /// <param name="manager">The file-transfer manager, already added to the bot's client (<see cref="XmppEndpoint.AddExtension{T}"/>); it uploads the link of the chain itself.</param>
    /// <param name="fallback">The link delivery for a recipient without a resource (a bare JID), where no transfer is tried.</param>
    /// <exception cref="ArgumentNullException">A required argument is <see langword="null"/>.</exception>
    public FileTransferReportDelivery(FileTransferManager manager, HttpUploadReportDelivery fallback)
    {
        ArgumentNullException.ThrowIfNull(manager);
        ArgumentNullException.ThrowIfNull(fallback);
        _manager = manager;
        _fallback = fallback;
    }

    /// <inheritdoc />
    public async Task<ReportDeliveryResult> DeliverAsync(ReportDeliveryRequest request, BotContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var report = request.Report;
        if (request.Recipient.IsBare)
        {
            LogNoTransfer(context.Logger, request.Recipient.ToString());
            return await _fallback.DeliverLinkAsync(request, context, HttpUploadReportDelivery.NoTransferHint, cancellationToken).ConfigureAwait(false);
        }

        var options = new FileSendOptions
        {
            Methods = s_methods,
            MimeType = report.ContentType,
            Description = $"Report {report.FileName}",
            LinkMessageType = request.Request.Type,

            // Known from the fetch (HTTP source): every method in turn offers it without reading the file to hash it.
            Sha256 = report.Sha256,
            BeforeLinkAsync = async (attempts, ct) =>
            {
                LogAttempts(context.Logger, report.FileName, request.Recipient.ToString(), attempts);
                await context.ReplyAsync(request.Request, HintFor(attempts), ct).ConfigureAwait(false);
            },
        };

        FileTransferResult result;
        try
        {
            var file = new FileStream(report.Path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.Asynchronous | FileOptions.SequentialScan);
            await using (file.ConfigureAwait(false))
            {
                // The offered name is the report's, not the (possibly temporary) file's.
                result = await _manager.SendFileAsync(request.Recipient, file, report.FileName, file.Length, options, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
        }
        catch (FileTransferException ex) when (ex.InnerException is HttpUploadException upload)
        {
            throw new ReportDeliveryException(HttpUploadReportDelivery.UploadFailureMessage(upload, report.FileName), ex);
        }
        catch (FileTransferException ex) when (ex.Error == FileTransferError.Timeout && ex.InnerException is TimeoutException)
        {
            throw new ReportDeliveryException(HttpUploadReportDelivery.UploadTimeoutMessage, ex);
        }
        catch (FileTransferException ex)
        {
            throw new ReportDeliveryException($"Uploading {report.FileName} failed — try again later.", ex);
        }

        if (result.Method == FileTransferMethod.HttpUpload)
        {
            return new ReportDeliveryResult("http-upload", Confirmed: false, result.Link);
        }

        if (result.FallbackReason is { } fellBack)
        {
            LogTransportFallback(context.Logger, request.Recipient.ToString(), fellBack);
        }

        return new ReportDeliveryResult(MethodName(result), Confirmed: true, Link: null);
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

    /// <summary>Why a link comes instead of the file, from the first method that was tried and failed.</summary>
    private static string HintFor(IReadOnlyList<FileTransferAttempt> attempts)
    {
        if (attempts.FirstOrDefault(a => a.WasTried) is not { Error: { } error })
        {
            return HttpUploadReportDelivery.NoTransferHint;
        }

        var reason = error switch
        {
            FileTransferError.Declined => "you declined it",
            FileTransferError.NoCommonMethod => "your client could not take it",
            FileTransferError.StreamFailed => "no connection to your client could be made",
            FileTransferError.Timeout => "your client did not answer in time",
            FileTransferError.Aborted => "it was cancelled",
            _ => "the file did not arrive intact",
        };
        return $"The transfer failed ({reason}); here is a link instead:";
    }

    private static void LogAttempts(ILogger logger, string fileName, string user, IReadOnlyList<FileTransferAttempt> attempts)
    {
        if (!attempts.Any(a => a.WasTried))
        {
            LogNoTransfer(logger, user);
            return;
        }

        foreach (var attempt in attempts.Where(a => a.WasTried))
        {
            LogTransferFailed(logger, fileName, user, attempt.Error!.Value, attempt.Reason);
        }
    }

    [LoggerMessage(8210, LogLevel.Information, "{User} announces no file transfer; sending an upload link")]
    private static partial void LogNoTransfer(ILogger logger, string user);

    [LoggerMessage(8211, LogLevel.Warning, "Sending {FileName} to {User} failed ({Error}: {Reason}); sending an upload link instead")]
    private static partial void LogTransferFailed(ILogger logger, string fileName, string user, FileTransferError error, string reason);

    [LoggerMessage(8213, LogLevel.Information, "The transfer to {User} fell back to another bytestream: {Reason}")]
    private static partial void LogTransportFallback(ILogger logger, string user, string reason);
}
