using System.Diagnostics;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Parley.Xmpp.Core;
using Parley.Xmpp.Upload;

namespace Parley.Xmpp.FileTransfer;

/// <summary>
/// The last method of a send: HTTP upload (XEP-0363) through the core's <see cref="HttpUpload"/>, then a message with
/// the link (XEP-0066). Nothing confirms the download.
/// </summary>
internal sealed class HttpLinkSender(XmppEndpoint endpoint, FileTransferOptions options, ILogger logger) : IDisposable
{
    private readonly SemaphoreSlim _setupLock = new(1, 1);
    private HttpUpload? _upload;
    private HttpClient? _ownHttp;

    /// <exception cref="FileTransferException">No upload service or the file is too large for it (<see cref="FileTransferError.NoCommonMethod"/>), the slot or the PUT failed, or timed out.</exception>
    /// <exception cref="EndOfStreamException">The content ended early.</exception>
    public async Task<FileTransferResult> SendAsync(Jid to, OutgoingFile file, IReadOnlyList<FileTransferAttempt> attempts, CancellationToken cancellationToken)
    {
        if (endpoint is not XmppClient client)
        {
            throw new FileTransferException(FileTransferError.NoCommonMethod, "HTTP upload needs a client connection (a component has no upload service of its own).");
        }

        var upload = await EnsureUploadAsync(client, cancellationToken).ConfigureAwait(false);
        var fileName = FileNames.Sanitize(file.Name);
        var contentType = file.Options.MimeType ?? HttpUpload.GuessContentType(fileName);
        var started = Stopwatch.GetTimestamp();
        HttpUploadSlot slot;
        try
        {
            slot = await upload.RequestSlotAsync(fileName, file.Size, contentType, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpUploadException ex)
        {
            throw new FileTransferException(ex.Error is HttpUploadError.NoService or HttpUploadError.FileTooLarge ? FileTransferError.NoCommonMethod : FileTransferError.StreamFailed,
                $"HTTP upload: {ex.Message}", ex);
        }
        catch (TimeoutException ex)
        {
            throw new FileTransferException(FileTransferError.Timeout, "HTTP upload: the upload service did not answer the slot request.", ex);
        }

        var counter = file.NewCounter();
        FileTransferLog.Uploading(logger, fileName, file.Size, slot.PutUrl.GetLeftPart(UriPartial.Path));
        try
        {
            await upload.PutAsync(slot, new UploadContent(file.Content, file.Size, counter), contentType, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpUploadException ex)
        {
            throw ex switch
            {
                { Error: HttpUploadError.Transport, InnerException: OperationCanceledException } => new FileTransferException(FileTransferError.Timeout, $"HTTP upload: {ex.Message}", ex),
                { Error: HttpUploadError.Transport } => new FileTransferException(FileTransferError.StreamFailed,
                    $"HTTP upload: the PUT failed after {counter.Acknowledged} of {file.Size} bytes: {ex.Message}", ex),
                _ => new FileTransferException(FileTransferError.StreamFailed, $"HTTP upload: {ex.Message}", ex),
            };
        }

        if (counter.Read != file.Size)
        {
            throw new EndOfStreamException($"The content ended after {counter.Read} of {file.Size} bytes.");
        }

        if (file.Options.BeforeLinkAsync is { } beforeLink)
        {
            await beforeLink(attempts, cancellationToken).ConfigureAwait(false);
        }

        await endpoint.SendAsync(OutOfBand.CreateLinkMessage(to, slot.GetUrl, file.Options.LinkMessageType), cancellationToken).ConfigureAwait(false);
        var elapsed = Stopwatch.GetElapsedTime(started);
        FileTransferLog.Sent(logger, counter.Read, to, "(link)", FileTransferMethod.HttpUpload, elapsed);
        return new FileTransferResult("http-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)), FileTransferMethod.HttpUpload, counter.Read, counter.Finish(), elapsed)
        {
            Link = slot.GetUrl,
        };
    }

    public void Dispose()
    {
        _upload?.Dispose();
        _ownHttp?.Dispose();
        _setupLock.Dispose();
    }

    private async Task<HttpUpload> EnsureUploadAsync(XmppClient client, CancellationToken cancellationToken)
    {
        await _setupLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_upload is null)
            {
                // Without the caller's client, one that trusts the system CAs (not the XMPP server's pinned certificate).
                var http = options.HttpClient;
                if (http is null)
                {
                    _ownHttp = new HttpClient(new SocketsHttpHandler { PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1) }) { Timeout = Timeout.InfiniteTimeSpan };
                    http = _ownHttp;
                }

                _upload = new HttpUpload(client, options.HttpUpload, http);
            }

            return _upload;
        }
        finally
        {
            _setupLock.Release();
        }
    }

    /// <summary>The request body of the PUT: exactly <c>size</c> bytes of the content, hashed and counted as they are read.</summary>
    private sealed class UploadContent(Stream content, long size, SendCounter counter) : HttpContent
    {
        private const int ChunkSize = 64 * 1024;

        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context, CancellationToken cancellationToken)
        {
            var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(ChunkSize);
            try
            {
                var remaining = size - counter.Read;
                while (remaining > 0)
                {
                    var count = (int)Math.Min(ChunkSize, remaining);
                    await counter.ReadBlockAsync(content, buffer, count, cancellationToken).ConfigureAwait(false);
                    await stream.WriteAsync(buffer.AsMemory(0, count), cancellationToken).ConfigureAwait(false);
                    counter.Acknowledge(count, FileTransferMethod.HttpUpload);
                    remaining -= count;
                }
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context) => SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override bool TryComputeLength(out long length)
        {
            length = size;
            return true;
        }
    }
}
