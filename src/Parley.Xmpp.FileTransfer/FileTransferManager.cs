using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Sockets;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp.FileTransfer;

/// <summary>
/// Sends and receives files: SI file transfer (XEP-0095/0096) over SOCKS5 bytestreams (XEP-0065, our own streamhost or
/// the server's proxy) or in-band bytestreams (XEP-0047). Add it with <c>client.AddExtension(new FileTransferManager())</c>;
/// it announces the SI features in disco and entity capabilities (some clients only offer files to peers that do).
/// </summary>
/// <remarks>
/// Files stream through a fixed buffer, so memory stays flat for any size; SHA-256 is computed on the fly on both sides.
/// Several transfers may run at once.
/// </remarks>
public sealed partial class FileTransferManager : IXmppExtension, IAsyncDisposable
{
    private static readonly TimeSpan ProxyQueryTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Socks5DrainTimeout = TimeSpan.FromSeconds(10);

    private readonly FileTransferOptions _options;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<(string Peer, string Sid), CancellationTokenSource> _outgoingIbb = new();
    private readonly SemaphoreSlim _setupLock = new(1, 1);
    private XmppEndpoint? _endpoint;
    private Socks5Listener? _listener;
    private Streamhost? _proxy;
    private bool _disposed;

    /// <summary>Creates the manager.</summary>
    /// <param name="options">Options; validated now.</param>
    /// <param name="loggerFactory">Where to log.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public FileTransferManager(FileTransferOptions? options = null, ILoggerFactory? loggerFactory = null)
    {
        _options = options ?? new FileTransferOptions();
        _options.Validate();
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Parley.Xmpp.FileTransfer");
    }

    /// <summary>
    /// Decides about incoming offers: return <see cref="IncomingFileOffer.Accept"/> or <see cref="IncomingFileOffer.Decline"/>.
    /// Without a policy every offer is declined. It runs off the dispatch loop (other stanzas keep flowing; the offer is
    /// answered when it decides), and <see cref="FileTransferOptions.PolicyTimeout"/> declines when it takes too long.
    /// </summary>
    public Func<IncomingFileOffer, CancellationToken, ValueTask<FileOfferDecision>>? IncomingPolicy { get; set; }

    /// <summary>Raised when an accepted incoming transfer ended: received and verified, or failed (the temporary file is then deleted).</summary>
    public event EventHandler<IncomingFileTransferEventArgs>? TransferReceived;

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">The manager is already attached to an endpoint.</exception>
    public void Attach(XmppEndpoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        if (Interlocked.CompareExchange(ref _endpoint, endpoint, null) is not null)
        {
            throw new InvalidOperationException("The file-transfer manager is already attached to an endpoint.");
        }

        // The receive policy (up to PolicyTimeout) and streamhost connects (StreamhostConnectTimeout each) run off the
        // dispatch loop: the offer is answered when they are done, while other stanzas keep flowing.
        endpoint.SetDeferredIqHandler("si", FileTransferNamespaces.StreamInitiation, Deferred(OnStreamInitiationAsync), _options.NegotiationTimeout);
        endpoint.Disco.AddFeature(FileTransferNamespaces.FileTransferProfile);
        endpoint.SetDeferredIqHandler("query", FileTransferNamespaces.Bytestreams, Deferred(OnBytestreamsAsync), _options.NegotiationTimeout);
        endpoint.SetIqHandler("open", FileTransferNamespaces.InBandBytestreams, OnIbbOpenAsync);
        endpoint.SetIqHandler("data", FileTransferNamespaces.InBandBytestreams, OnIbbDataAsync, announce: false);
        endpoint.SetIqHandler("close", FileTransferNamespaces.InBandBytestreams, OnIbbCloseAsync, announce: false);
        AttachJingle(endpoint);
    }

    private static DeferredIqRequestHandler Deferred(Func<Iq, CancellationToken, ValueTask<XmppElement?>> handler) =>
        (request, cancellationToken) =>
        {
            request.AnswerInBackground(ct => handler(request.Stanza, ct), cancellationToken);
            return ValueTask.CompletedTask;
        };

    /// <summary>
    /// Offers a file from disk and sends it: over Jingle when the receiver announces Jingle file transfer, else over SI, and
    /// as an HTTP upload link when that is listed and the others failed (see <see cref="FileSendOptions.Methods"/>).
    /// </summary>
    /// <param name="to">The receiver: a full JID, or a bare JID (a client: the online resource announcing the best method is chosen).</param>
    /// <param name="path">The file.</param>
    /// <param name="options">Methods, description, hash.</param>
    /// <param name="progress">Receives progress reports.</param>
    /// <param name="cancellationToken">Aborts the transfer (the peer is told).</param>
    /// <returns>The method used, the bytes sent and their SHA-256.</returns>
    /// <exception cref="FileTransferException">Declined, no common method, the stream failed, or the peer aborted.</exception>
    /// <exception cref="XmppStanzaException">The peer or server answered the offer with an unexpected error.</exception>
    /// <exception cref="InvalidOperationException">Not attached or not connected.</exception>
    /// <exception cref="ArgumentException"><paramref name="to"/> is a bare JID and the endpoint is a component, or <see cref="FileSendOptions.Sha256"/> is not 64 hexadecimal digits.</exception>
    /// <exception cref="IOException">The file could not be read.</exception>
    public async Task<FileTransferResult> SendFileAsync(Jid to, string path, FileSendOptions? options = null, IProgress<FileTransferProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (options is not null)
        {
            KnownSha256(options);
        }

        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.Asynchronous | FileOptions.SequentialScan);
        await using (file.ConfigureAwait(false))
        {
            return await SendFileAsync(to, file, Path.GetFileName(path), file.Length, options, progress, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Offers <paramref name="size"/> bytes of a stream as a file and sends them over Jingle or SI, as the receiver supports,
    /// or as an HTTP upload link (when listed in <see cref="FileSendOptions.Methods"/>); a failed method gives way to the next
    /// (seekable content is rewound; other content only falls back when nothing was read).
    /// </summary>
    /// <param name="to">The receiver: a full JID, or a bare JID (a client: the online resource announcing the best method is chosen).</param>
    /// <param name="content">The bytes, read from the current position; seekable content is read twice when the hash is offered (unless <see cref="FileSendOptions.Sha256"/> gives it).</param>
    /// <param name="name">The file name offered.</param>
    /// <param name="size">How many bytes to send.</param>
    /// <param name="options">Methods, description, hash.</param>
    /// <param name="progress">Receives progress reports.</param>
    /// <param name="cancellationToken">Aborts the transfer (the peer is told).</param>
    /// <returns>The method used, the bytes sent and their SHA-256.</returns>
    /// <exception cref="FileTransferException">Declined, no common method, the stream failed, or the peer aborted.</exception>
    /// <exception cref="XmppStanzaException">The peer or server answered the offer with an unexpected error.</exception>
    /// <exception cref="InvalidOperationException">Not attached or not connected.</exception>
    /// <exception cref="ArgumentException">A bare JID from a component, an empty name, a negative size, unreadable content, no method, or a
    /// <see cref="FileSendOptions.Sha256"/> that is not 64 hexadecimal digits.</exception>
    /// <exception cref="EndOfStreamException">The content ended before <paramref name="size"/> bytes.</exception>
    public async Task<FileTransferResult> SendFileAsync(Jid to, Stream content, string name, long size, FileSendOptions? options = null, IProgress<FileTransferProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(to);
        ArgumentNullException.ThrowIfNull(content);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!content.CanRead)
        {
            throw new ArgumentException("The content is not readable.", nameof(content));
        }

        options ??= new FileSendOptions();
        var knownSha256 = KnownSha256(options);
        var methods = options.Methods.Distinct().ToArray();
        if (methods.Length == 0)
        {
            throw new ArgumentException("At least one method must be allowed.", nameof(options));
        }

        var endpoint = _endpoint ?? throw new InvalidOperationException("Add the manager to a client first (AddExtension).");
        var self = endpoint.Jid ?? throw new InvalidOperationException("Not connected.");
        var attempts = new List<FileTransferAttempt>();
        var plan = await PlanAsync(endpoint, to, methods, name, cancellationToken).ConfigureAwait(false);
        var start = content.CanSeek ? content.Position : -1;
        string? sha256 = null;

        // Why the same client is not offered the file again over another direct method, once it answered.
        string? notAgain = null;
        for (var i = 0; i < plan.Count; i++)
        {
            var step = plan[i];
            if (step.Skipped is { } skipped)
            {
                attempts.Add(skipped);
                continue;
            }

            if (notAgain is not null && step.Method != FileTransferMethod.HttpUpload)
            {
                // A decline is the user's answer: the same client is not asked again over another protocol. So is a transfer
                // it accepted and then ended itself (it could not store the file, say): another protocol ends the same way.
                attempts.Add(new FileTransferAttempt(step.Method, null, notAgain));
                continue;
            }

            try
            {
                var result = step.Method switch
                {
                    FileTransferMethod.Jingle => await SendJingleAsync(endpoint, self, step.To, content, name, size, options, methods,
                        options.JingleHashInOffer || knownSha256 is not null ? await OfferHashAsync().ConfigureAwait(false) : null, progress, cancellationToken).ConfigureAwait(false),
                    FileTransferMethod.HttpUpload => await SendHttpUploadAsync(endpoint, step.To, content, name, size, options, attempts, progress, cancellationToken).ConfigureAwait(false),
                    _ => await SendSiAsync(endpoint, self, step.To, content, name, size, options, methods, await OfferHashAsync().ConfigureAwait(false), progress, cancellationToken).ConfigureAwait(false),
                };
                if (attempts.Count == 0)
                {
                    return result;
                }

                // FallbackReason says why methods that were tried were given up; Attempts also lists the skipped ones.
                var tried = string.Join("; ", attempts.Where(a => a.WasTried));
                var fallback = (tried.Length > 0, result.FallbackReason) switch
                {
                    (true, { } inner) => $"{tried}; {inner}",
                    (true, null) => tried,
                    _ => result.FallbackReason,
                };
                return result with { Attempts = attempts, FallbackReason = fallback };
            }
            catch (Exception ex) when (ex is FileTransferException or XmppStanzaException && !cancellationToken.IsCancellationRequested && plan.Skip(i + 1).Any(s => s.Skipped is null)
                && !(knownSha256 is not null && ex is FileTransferException { Error: FileTransferError.HashMismatch }))
            {
                // (A hash mismatch with the caller's hash is final: every other method would offer the same value.)
                var error = ex is FileTransferException fte ? fte.Error : FileTransferError.NoCommonMethod;
                var rewound = content.CanSeek || error is FileTransferError.Declined or FileTransferError.NoCommonMethod;
                if (!rewound)
                {
                    throw;
                }

                if (content.CanSeek)
                {
                    content.Position = start;
                }

                notAgain ??= error switch
                {
                    FileTransferError.Declined => "not offered again after the decline",
                    FileTransferError.Aborted => "not offered again after the receiver ended the transfer",
                    _ => null,
                };
                if (plan.Skip(i + 1).Where(s => s.Skipped is null && (notAgain is null || s.Method == FileTransferMethod.HttpUpload))
                    .Select(s => (FileTransferMethod?)s.Method).FirstOrDefault() is not { } next)
                {
                    // Nothing after this may be tried: this failure is the answer.
                    throw;
                }

                attempts.Add(new FileTransferAttempt(step.Method, error, ex.Message));
                FileTransferLog.MethodFailed(_logger, name, step.To, step.Method, error, ex.Message, next);
            }
        }

        // Not reached: a step returns, or its failure is thrown when nothing after it may be tried.
        throw new InvalidOperationException("The send plan ended without a result.");

        // The hash for an offer that carries it (SI, or Jingle with JingleHashInOffer): the caller's, or one extra pass over
        // the content, made only when such an offer is about to be sent, and once per send.
        async Task<string?> OfferHashAsync()
        {
            if (knownSha256 is not null)
            {
                return knownSha256;
            }

            if (sha256 is null && options.IncludeHash && content.CanSeek)
            {
                sha256 = await HashAsync(content, size, cancellationToken).ConfigureAwait(false);
                content.Position = start;
            }

            return sha256;
        }
    }

    private async Task<FileTransferResult> SendSiAsync(XmppEndpoint endpoint, Jid self, Jid to, Stream content, string name, long size, FileSendOptions options,
        FileTransferMethod[] methods, string? sha256, IProgress<FileTransferProgress>? progress, CancellationToken cancellationToken)
    {
        methods = [.. methods.Where(m => m is FileTransferMethod.Socks5Bytestreams or FileTransferMethod.InBandBytestreams)];
        var sid = NewSid();
        var offer = new SiFileOffer(sid, FileNames.Sanitize(name), size, options.Description, options.MimeType, sha256, methods);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        Iq answer;
        try
        {
            answer = await endpoint.SendIqAsync(new Iq(IqType.Set, to, offer.ToElement()), _options.NegotiationTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (XmppStanzaException ex) when (ex.Condition is "forbidden" or "not-acceptable")
        {
            throw new FileTransferException(FileTransferError.Declined, $"{to} declined the file ({ex.Error}).", ex);
        }
        catch (XmppStanzaException ex) when (ex.Condition is "bad-request" or "service-unavailable" or "feature-not-implemented")
        {
            throw new FileTransferException(FileTransferError.NoCommonMethod, $"{to} cannot receive the file over SI ({ex.Error}).", ex);
        }
        catch (TimeoutException ex)
        {
            throw new FileTransferException(FileTransferError.Timeout, $"{to} did not answer the offer in time.", ex);
        }

        if (SiFileOffer.ParseAnswer(answer.Payload) is not { } method || !methods.Contains(method))
        {
            throw new FileTransferException(FileTransferError.NoCommonMethod, $"{to} accepted the offer without choosing one of the offered stream methods.");
        }

        var counter = new SendCounter(size, progress, KnownSha256(options));
        string? fallback = null;
        if (method == FileTransferMethod.Socks5Bytestreams)
        {
            FileTransferLog.Sending(_logger, offer.Name, size, to, sid, method);
            try
            {
                await SendSocks5Async(endpoint, self, to, sid, content, size, counter, cancellationToken).ConfigureAwait(false);
            }
            catch (FileTransferException ex) when (ex.Error is FileTransferError.StreamFailed or FileTransferError.Timeout
                && counter.Read == 0 && methods.Contains(FileTransferMethod.InBandBytestreams))
            {
                // libpurple (and Parley's receiver) wait for an in-band stream with the same sid after every streamhost failed.
                fallback = ex.Message;
                FileTransferLog.FallingBack(_logger, to, sid, ex.Message);
                method = FileTransferMethod.InBandBytestreams;
            }
        }

        if (method == FileTransferMethod.InBandBytestreams)
        {
            FileTransferLog.Sending(_logger, offer.Name, size, to, sid, method);
            await SendIbbAsync(endpoint, to, sid, content, size, counter, cancellationToken).ConfigureAwait(false);
        }

        var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(started);
        FileTransferLog.Sent(_logger, counter.Read, to, sid, method, elapsed);
        return new FileTransferResult(sid, method, counter.Read, counter.Finish(), elapsed, fallback);
    }

    /// <summary>Stops the direct SOCKS5 listener and fails incoming transfers in progress.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await _jingleStop.CancelAsync().ConfigureAwait(false);
        foreach (var session in _incoming.Values.Distinct())
        {
            await session.FinishAsync(new FileTransferException(FileTransferError.Aborted, "The file-transfer manager was disposed.")).ConfigureAwait(false);
        }

        foreach (var outgoing in _outgoingIbb.Values)
        {
            await outgoing.CancelAsync().ConfigureAwait(false);
        }

        if (_listener is { } listener)
        {
            await listener.DisposeAsync().ConfigureAwait(false);
        }

        _upload?.Dispose();
        if (_options.HttpClient is null)
        {
            _http?.Dispose();
        }

        _setupLock.Dispose();
    }

    /// <summary><see cref="FileSendOptions.Sha256"/> in lower case, or null when not set.</summary>
    /// <exception cref="ArgumentException">It is not 64 hexadecimal digits.</exception>
    private static string? KnownSha256(FileSendOptions options)
    {
        if (options.Sha256 is not { } value)
        {
            return null;
        }

        if (value.Length != 64 || !value.All(char.IsAsciiHexDigit))
        {
            throw new ArgumentException($"FileSendOptions.Sha256 must be 64 hexadecimal digits (a SHA-256); the {value.Length} characters given are not.", nameof(options));
        }

        return value.ToLowerInvariant();
    }

    private static async Task<string> HashAsync(Stream content, long size, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            var remaining = size;
            while (remaining > 0)
            {
                var read = await content.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, remaining)), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    throw new EndOfStreamException($"The content ended after {size - remaining} of {size} bytes.");
                }

                hash.AppendData(buffer, 0, read);
                remaining -= read;
            }

            return Convert.ToHexStringLower(hash.GetHashAndReset());
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Reads exactly <paramref name="count"/> bytes of the content into the buffer, hashing them.</summary>
    private static async ValueTask ReadBlockAsync(Stream content, byte[] buffer, int count, SendCounter counter, CancellationToken cancellationToken)
    {
        var read = await content.ReadAtLeastAsync(buffer.AsMemory(0, count), count, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        if (read < count)
        {
            throw new EndOfStreamException($"The content ended after {counter.Read + read} of {counter.Size} bytes.");
        }

        counter.Hash(buffer.AsSpan(0, count));
    }

    private async Task SendIbbAsync(XmppEndpoint endpoint, Jid to, string sid, Stream content, long size, SendCounter counter, CancellationToken cancellationToken, int negotiatedBlockSize = 0)
    {
        using var abort = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var key = (to.ToString(), sid);
        _outgoingIbb[key] = abort;
        var pending = new Queue<(Task<Iq> Ack, int Bytes)>();
        var blockSize = negotiatedBlockSize > 0 ? negotiatedBlockSize : _options.IbbBlockSize;
        var opened = false;
        try
        {
            while (true)
            {
                var open = new XmppElement("open", FileTransferNamespaces.InBandBytestreams);
                open.SetAttribute("block-size", blockSize.ToString(CultureInfo.InvariantCulture));
                open.SetAttribute("sid", sid);
                open.SetAttribute("stanza", "iq");
                try
                {
                    await endpoint.SendIqAsync(new Iq(IqType.Set, to, open), _options.NegotiationTimeout, abort.Token).ConfigureAwait(false);
                    opened = true;
                    break;
                }
                catch (XmppStanzaException ex) when (ex.Condition == "resource-constraint" && blockSize > 256)
                {
                    // XEP-0047 §2.2: the receiver wants smaller blocks; try again with half.
                    blockSize /= 2;
                }
            }

            var buffer = ArrayPool<byte>.Shared.Rent(blockSize);
            try
            {
                var sequence = default(IbbSequence);
                var remaining = size;
                while (remaining > 0)
                {
                    var count = (int)Math.Min(blockSize, remaining);
                    await ReadBlockAsync(content, buffer, count, counter, abort.Token).ConfigureAwait(false);
                    remaining -= count;
                    var data = new XmppElement("data", FileTransferNamespaces.InBandBytestreams) { Text = Convert.ToBase64String(buffer, 0, count) };
                    data.SetAttribute("seq", sequence.Take().ToString(CultureInfo.InvariantCulture));
                    data.SetAttribute("sid", sid);
                    pending.Enqueue((endpoint.SendIqAsync(new Iq(IqType.Set, to, data), _options.IdleTimeout, abort.Token), count));
                    while (pending.Count >= _options.IbbWindow)
                    {
                        var (ack, bytes) = pending.Dequeue();
                        await ack.ConfigureAwait(false);
                        counter.Acknowledge(bytes, FileTransferMethod.InBandBytestreams);
                    }
                }

                while (pending.TryDequeue(out var entry))
                {
                    await entry.Ack.ConfigureAwait(false);
                    counter.Acknowledge(entry.Bytes, FileTransferMethod.InBandBytestreams);
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);

                // Blocks still in flight after a failure: their answers (errors once the stream is closed) are not wanted.
                while (pending.TryDequeue(out var unanswered))
                {
                    _ = unanswered.Ack.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                }
            }

            // Every block is acknowledged: the file is delivered. libpurple never answers the close, so do not wait long.
            _outgoingIbb.TryRemove(new KeyValuePair<(string, string), CancellationTokenSource>(key, abort));
            opened = false; // Our close ends the stream, answered or not.
            try
            {
                await endpoint.SendIqAsync(new Iq(IqType.Set, to, CloseElement(sid)), _options.IbbCloseTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                FileTransferLog.CloseUnanswered(_logger, sid, _options.IbbCloseTimeout);
            }
            catch (XmppStanzaException ex) when (ex.Condition is "not-acceptable" or "resource-constraint")
            {
                // The receiver checked the file before answering and did not keep it (a Parley receiver over SI, where
                // XEP-0096 has no other answer after the data): its SHA-256 did not match, or it could not be stored.
                throw new FileTransferException(ex.Condition == "not-acceptable" ? FileTransferError.HashMismatch : FileTransferError.Aborted,
                    $"{to} received every block but did not keep the file ({ex.Error}).", ex);
            }
            catch (XmppStanzaException ex)
            {
                FileTransferLog.CloseFailed(_logger, to, sid, ex.Error.ToString());
            }
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested && abort.IsCancellationRequested)
        {
            throw new FileTransferException(FileTransferError.Aborted, $"{to} closed the in-band stream after {counter.Acknowledged} of {size} bytes.", ex);
        }
        catch (XmppStanzaException ex)
        {
            if (opened)
            {
                await CloseQuietlyAsync(endpoint, to, sid).ConfigureAwait(false);
            }

            throw new FileTransferException(opened ? FileTransferError.Aborted : FileTransferError.StreamFailed, $"{to} refused the in-band stream after {counter.Acknowledged} of {size} bytes ({ex.Error}).", ex);
        }
        catch (TimeoutException ex)
        {
            if (opened)
            {
                await CloseQuietlyAsync(endpoint, to, sid).ConfigureAwait(false);
            }

            throw new FileTransferException(FileTransferError.Timeout, $"{to} stopped acknowledging the in-band stream after {counter.Acknowledged} of {size} bytes.", ex);
        }
        catch (Exception) when (opened)
        {
            // Cancelled by the caller, or the content failed: tell the receiver so it deletes its temporary file.
            await CloseQuietlyAsync(endpoint, to, sid).ConfigureAwait(false);
            throw;
        }
        finally
        {
            _outgoingIbb.TryRemove(new KeyValuePair<(string, string), CancellationTokenSource>(key, abort));
            while (pending.TryDequeue(out var entry))
            {
                await ((Task)entry.Ack).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    private async Task CloseQuietlyAsync(XmppEndpoint endpoint, Jid to, string sid)
    {
        try
        {
            await endpoint.SendAsync(new Iq(IqType.Set, to, CloseElement(sid)), CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is XmppTransportException or InvalidOperationException)
        {
            FileTransferLog.CloseFailed(_logger, to, sid, ex.Message);
        }
    }

    private static XmppElement CloseElement(string sid)
    {
        var close = new XmppElement("close", FileTransferNamespaces.InBandBytestreams);
        close.SetAttribute("sid", sid);
        return close;
    }

    private async Task SendSocks5Async(XmppEndpoint endpoint, Jid self, Jid to, string sid, Stream content, long size, SendCounter counter, CancellationToken cancellationToken)
    {
        var destination = Socks5.DestinationAddress(sid, self, to);
        var hosts = new List<Streamhost>();
        Socks5Listener.Expectation? direct = null;
        try
        {
            if (_options.EnableDirectSocks5)
            {
                var listener = await EnsureListenerAsync(cancellationToken).ConfigureAwait(false);
                direct = listener.Expect(destination);
                foreach (var host in listener.AdvertisedHosts(_options.Socks5AdvertisedHosts))
                {
                    hosts.Add(new Streamhost(self, host, listener.Port));
                }
            }

            var proxy = _options.UseServerProxy ? await GetProxyAsync(endpoint, self, cancellationToken).ConfigureAwait(false) : null;
            if (proxy is not null)
            {
                hosts.Add(proxy);
            }

            if (hosts.Count == 0)
            {
                throw new FileTransferException(FileTransferError.StreamFailed, "No SOCKS5 streamhost to offer (direct streamhost disabled and no proxy found).");
            }

            var query = new XmppElement("query", FileTransferNamespaces.Bytestreams);
            query.SetAttribute("sid", sid);
            query.SetAttribute("mode", "tcp");
            foreach (var host in hosts)
            {
                var element = query.AddChild("streamhost");
                element.SetAttribute("jid", host.Jid.ToString());
                element.SetAttribute("host", host.Host);
                element.SetAttribute("port", host.Port.ToString(CultureInfo.InvariantCulture));
            }

            Iq reply;
            try
            {
                reply = await endpoint.SendIqAsync(new Iq(IqType.Set, to, query), _options.NegotiationTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (XmppStanzaException ex)
            {
                throw new FileTransferException(FileTransferError.StreamFailed, $"{to} could not use any of the {hosts.Count} streamhosts ({ex.Error}).", ex);
            }
            catch (TimeoutException ex)
            {
                throw new FileTransferException(FileTransferError.StreamFailed, $"{to} did not choose a streamhost in time.", ex);
            }

            var usedJid = reply.Payload?.Element("streamhost-used")?.GetAttribute("jid");
            Socket socket;
            if (direct is not null && Jid.TryParse(usedJid, out var used) && used == self)
            {
                try
                {
                    socket = await direct.Connection.WaitAsync(_options.StreamhostConnectTimeout, cancellationToken).ConfigureAwait(false);
                    direct.Taken = true;
                }
                catch (TimeoutException ex)
                {
                    throw new FileTransferException(FileTransferError.StreamFailed, $"{to} said it connected to our streamhost, but no connection arrived.", ex);
                }
            }
            else if (proxy is not null && Jid.TryParse(usedJid, out used) && used == proxy.Jid)
            {
                socket = await ConnectProxyAsync(endpoint, proxy, destination, to, sid, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                throw new FileTransferException(FileTransferError.StreamFailed, $"{to} named a streamhost we did not offer ('{usedJid}').");
            }

            using (socket)
            {
                await CopyToSocketAsync(content, socket, size, counter, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            direct?.Dispose();
        }
    }

    private async Task<Socket> ConnectProxyAsync(XmppEndpoint endpoint, Streamhost proxy, string destination, Jid to, string sid, CancellationToken cancellationToken)
    {
        Socket socket;
        try
        {
            socket = await Socks5.ConnectAsync(proxy.Host, proxy.Port, destination, _options.StreamhostConnectTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new FileTransferException(FileTransferError.StreamFailed, $"Could not connect to the proxy {proxy.Host}:{proxy.Port}: {ex.Message}", ex);
        }

        try
        {
            var activate = new XmppElement("query", FileTransferNamespaces.Bytestreams);
            activate.SetAttribute("sid", sid);
            activate.AddChild("activate", text: to.ToString());
            await endpoint.SendIqAsync(new Iq(IqType.Set, proxy.Jid, activate), ProxyQueryTimeout, cancellationToken).ConfigureAwait(false);
            return socket;
        }
        catch (Exception ex)
        {
            socket.Dispose();
            if (ex is XmppStanzaException or TimeoutException)
            {
                throw new FileTransferException(FileTransferError.StreamFailed, $"The proxy {proxy.Jid} did not activate the stream: {ex.Message}", ex);
            }

            throw;
        }
    }

    /// <summary>Sends <paramref name="size"/> bytes, then waits for the receiver to close; <paramref name="lastByteSent"/> runs right after the last byte was handed to TCP.</summary>
    private async Task CopyToSocketAsync(Stream content, Socket socket, long size, SendCounter counter, CancellationToken cancellationToken, Action? lastByteSent = null)
    {
        // A file goes out with sendfile: the buffer only drains the connection at the end.
        var file = SendFileSource(content, size);
        var buffer = ArrayPool<byte>.Shared.Rent(file is null ? _options.BufferSize : 4096);
        try
        {
            if (file is not null)
            {
                await SendFileToSocketAsync(file, socket, size, counter, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                for (var remaining = size; remaining > 0;)
                {
                    var count = (int)Math.Min(_options.BufferSize, remaining);
                    await ReadBlockAsync(content, buffer, count, counter, cancellationToken).ConfigureAwait(false);
                    await socket.SendAsync(buffer.AsMemory(0, count), SocketFlags.None, cancellationToken).ConfigureAwait(false);
                    remaining -= count;
                    counter.Acknowledge(count, FileTransferMethod.Socks5Bytestreams);
                }
            }

            lastByteSent?.Invoke();

            // The receiver closes when it has every byte; waiting for that tells a delivered file from a cut one.
            socket.Shutdown(SocketShutdown.Send);
            using var drain = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            drain.CancelAfter(Socks5DrainTimeout);
            try
            {
                while (await socket.ReceiveAsync(buffer, SocketFlags.None, drain.Token).ConfigureAwait(false) > 0)
                {
                    // The target has nothing to say on this stream; discard.
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // Every byte was handed to TCP; a receiver that keeps the connection open still has them.
            }
        }
        catch (Exception ex) when (ex is SocketException or IOException and not EndOfStreamException)
        {
            throw new FileTransferException(FileTransferError.StreamFailed, $"The SOCKS5 stream broke after {counter.Acknowledged} of {size} bytes: {ex.Message}", ex);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task<Socks5Listener> EnsureListenerAsync(CancellationToken cancellationToken)
    {
        await _setupLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_listener is null)
            {
                try
                {
                    _listener = Socks5Listener.Start(_options.Socks5BindAddress, _options.Socks5PortMin, _options.Socks5PortMax, _logger);
                }
                catch (SocketException ex)
                {
                    throw new FileTransferException(FileTransferError.StreamFailed, $"Could not listen for SOCKS5 on {_options.Socks5BindAddress} ports {_options.Socks5PortMin}..{_options.Socks5PortMax}: {ex.Message}", ex);
                }

                FileTransferLog.ListenerStarted(_logger, _listener.Address.ToString(), _listener.Port, string.Join(", ", _listener.AdvertisedHosts(_options.Socks5AdvertisedHosts)));
            }

            return _listener;
        }
        finally
        {
            _setupLock.Release();
        }
    }

    /// <summary>Finds the server's SOCKS5 proxy (disco items of our domain, identity proxy/bytestreams) and asks it for its address; cached once found.</summary>
    private async Task<Streamhost?> GetProxyAsync(XmppEndpoint endpoint, Jid self, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _proxy) is { } cached)
        {
            return cached;
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(ProxyQueryTimeout * 2);
        try
        {
            var proxyJid = _options.Socks5Proxy;
            if (proxyJid is null)
            {
                foreach (var item in (await endpoint.Disco.QueryItemsAsync(Jid.Create(null, self.Domain), cancellationToken: deadline.Token).ConfigureAwait(false)).Take(32))
                {
                    if (item.Node is not null)
                    {
                        continue;
                    }

                    try
                    {
                        var info = await endpoint.Disco.QueryInfoAsync(item.Jid, cancellationToken: deadline.Token).ConfigureAwait(false);
                        if (info.Identities.Any(i => i.Category == "proxy" && i.Type == "bytestreams"))
                        {
                            proxyJid = item.Jid;
                            break;
                        }
                    }
                    catch (Exception ex) when (ex is XmppStanzaException or TimeoutException)
                    {
                        // A component that is down answers with an error; look at the next item.
                    }
                }
            }

            if (proxyJid is null)
            {
                FileTransferLog.ProxyDiscovery(_logger, "the server lists no SOCKS5 proxy");
                return null;
            }

            var reply = await endpoint.SendIqAsync(new Iq(IqType.Get, proxyJid, new XmppElement("query", FileTransferNamespaces.Bytestreams)), ProxyQueryTimeout, deadline.Token).ConfigureAwait(false);
            var streamhost = reply.Payload?.Element("streamhost");
            if (streamhost is null || !Jid.TryParse(streamhost.GetAttribute("jid"), out var jid) || streamhost.GetAttribute("host") is not { Length: > 0 and <= 255 } host
                || !int.TryParse(streamhost.GetAttribute("port"), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            {
                FileTransferLog.ProxyDiscovery(_logger, $"{proxyJid} gave no usable streamhost");
                return null;
            }

            var found = new Streamhost(jid, host, port);
            FileTransferLog.ProxyDiscovery(_logger, $"{jid} at {host}:{port}");
            Volatile.Write(ref _proxy, found);
            return found;
        }
        catch (Exception ex) when (ex is XmppStanzaException or TimeoutException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            FileTransferLog.ProxyDiscovery(_logger, "failed: " + ex.Message);
            return null;
        }
    }

    private sealed record Streamhost(Jid Jid, string Host, int Port);

    /// <summary>
    /// Counts and hashes what a sender reads, and reports progress as bytes are acknowledged. Given the caller's
    /// <paramref name="knownSha256"/>, it only counts and <see cref="Finish"/> returns that value.
    /// </summary>
    private sealed class SendCounter(long size, IProgress<FileTransferProgress>? progress, string? knownSha256 = null)
    {
        private readonly IncrementalHash? _hash = knownSha256 is null ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;
        private string? _finished = knownSha256;

        public long Size => size;

        public long Read { get; private set; }

        public long Acknowledged { get; private set; }

        /// <summary>Whether the bytes need hashing (no known hash).</summary>
        public bool Hashes => _hash is not null;

        /// <summary>Counts the bytes read, hashing them unless the hash is known.</summary>
        public void Hash(ReadOnlySpan<byte> data)
        {
            _hash?.AppendData(data);
            Read += data.Length;
        }

        /// <summary>Counts bytes that went out without passing through this process (sendfile) and need no hashing.</summary>
        public void Count(int bytes) => Read += bytes;

        public void Acknowledge(int bytes, FileTransferMethod method)
        {
            Acknowledged += bytes;
            progress?.Report(new FileTransferProgress(Acknowledged, size, method));
        }

        /// <summary>The SHA-256 of every byte read, lower-case hex; the same value on every call.</summary>
        public string Finish()
        {
            if (_finished is null)
            {
                _finished = Convert.ToHexStringLower(_hash!.GetHashAndReset());
                _hash.Dispose();
            }

            return _finished;
        }
    }
}
