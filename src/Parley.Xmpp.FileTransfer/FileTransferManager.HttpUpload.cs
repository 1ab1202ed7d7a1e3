using System.Diagnostics;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Parley.Xmpp.Upload;

namespace Parley.Xmpp.FileTransfer;

/// <summary>HTTP upload (XEP-0363) and a link message (XEP-0066) as the last method of a send.</summary>
public sealed partial class FileTransferManager
{
    private HttpUpload? _upload;
    private HttpClient? _http;

    private async Task<FileTransferResult> SendHttpUploadAsync(XmppEndpoint endpoint, Jid to, Stream content, string name, long size, FileSendOptions options,
        IReadOnlyList<FileTransferAttempt> attempts, IProgress<FileTransferProgress>? progress, CancellationToken cancellationToken)
    {
        if (endpoint is not XmppClient client)
        {
            throw new FileTransferException(FileTransferError.NoCommonMethod, "HTTP upload needs a client connection (a component has no upload service of its own).");
        }

        var (upload, http) = await EnsureHttpAsync(client, cancellationToken).ConfigureAwait(false);
        var fileName = FileNames.Sanitize(name);
        var contentType = options.MimeType ?? HttpUpload.GuessContentType(fileName);
        var started = Stopwatch.GetTimestamp();
        HttpUploadSlot slot;
        try
        {
            slot = await upload.RequestSlotAsync(fileName, size, contentType, cancellationToken).ConfigureAwait(false);
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

        var counter = new SendCounter(size, progress, KnownSha256(options));
        FileTransferLog.Uploading(_logger, fileName, size, slot.PutUrl.GetLeftPart(UriPartial.Path));
        using (var body = new UploadContent(content, size, counter))
        using (var request = new HttpRequestMessage(HttpMethod.Put, slot.PutUrl) { Content = body })
        using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            body.Headers.ContentType = MediaTypeHeaderValue.TryParse(contentType, out var type) ? type : null;
            body.Headers.ContentLength = size;
            foreach (var (header, value) in slot.PutHeaders)
            {
                request.Headers.TryAddWithoutValidation(header, value);
            }

            deadline.CancelAfter(_options.HttpUpload.PutTimeout);
            try
            {
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token).ConfigureAwait(false);
                if (!response.IsSuccessStatusCode)
                {
                    throw new FileTransferException(FileTransferError.StreamFailed, $"HTTP upload: the PUT was answered {(int)response.StatusCode} {response.ReasonPhrase}.");
                }
            }
            catch (HttpRequestException ex)
            {
                throw new FileTransferException(FileTransferError.StreamFailed, $"HTTP upload: the PUT failed after {counter.Acknowledged} of {size} bytes: {ex.Message}", ex);
            }
            catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
            {
                throw new FileTransferException(FileTransferError.Timeout, $"HTTP upload: the PUT did not finish within {_options.HttpUpload.PutTimeout}.", ex);
            }
        }

        if (counter.Read != size)
        {
            throw new EndOfStreamException($"The content ended after {counter.Read} of {size} bytes.");
        }

        if (options.BeforeLinkAsync is { } beforeLink)
        {
            await beforeLink(attempts, cancellationToken).ConfigureAwait(false);
        }

        await endpoint.SendAsync(OutOfBand.CreateLinkMessage(to, slot.GetUrl, options.LinkMessageType), cancellationToken).ConfigureAwait(false);
        var elapsed = Stopwatch.GetElapsedTime(started);
        FileTransferLog.Sent(_logger, counter.Read, to, "(link)", FileTransferMethod.HttpUpload, elapsed);
        return new FileTransferResult("http-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)), FileTransferMethod.HttpUpload, counter.Read, counter.Finish(), elapsed)
        {
            Link = slot.GetUrl,
        };
    }

    private async Task<(HttpUpload Upload, HttpClient Http)> EnsureHttpAsync(XmppClient client, CancellationToken cancellationToken)
    {
        await _setupLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_upload is null || _http is null)
            {
                _http = _options.HttpClient ?? new HttpClient(new SocketsHttpHandler { PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1) }) { Timeout = Timeout.InfiniteTimeSpan };
                _upload = new HttpUpload(client, _options.HttpUpload, _http);
            }

            return (_upload, _http);
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
                    await ReadBlockAsync(content, buffer, count, counter, cancellationToken).ConfigureAwait(false);
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
