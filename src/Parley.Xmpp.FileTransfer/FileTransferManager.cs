using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp.FileTransfer;

/// <summary>
/// Sends and receives files: Jingle file transfer (XEP-0166/0234) and SI file transfer (XEP-0095/0096) over SOCKS5
/// bytestreams (XEP-0065/0260: our own streamhost or the server's proxy) or in-band bytestreams (XEP-0047/0261), and
/// an HTTP upload link (XEP-0363) as the last resort of a send. Add it with
/// <c>client.AddExtension(new FileTransferManager())</c>; it announces the Jingle and SI features in disco and entity
/// capabilities (some clients only offer files to peers that do).
/// </summary>
/// <remarks>
/// Files stream through fixed buffers, so memory stays flat for any size; SHA-256 is computed on the fly on both sides.
/// Several transfers may run at once. The protocol work is done by internal parts, one job each; this class wires them
/// to the endpoint and holds no protocol state of its own.
/// </remarks>
public sealed class FileTransferManager : IXmppExtension, IAsyncDisposable
{
    private readonly FileTransferOptions _options;
    private readonly ILogger _logger;
    private readonly IncomingTransfers _incoming;
    private readonly OfferGate _gate;
    private XmppEndpoint? _endpoint;
    private Parts? _parts;
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
        _incoming = new IncomingTransfers(_options, _logger);
        _incoming.Ended += RaiseTransferReceived;
        _gate = new OfferGate(_options, _incoming, () => IncomingPolicy);
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

        var parts = Parts.Create(endpoint, _options, _gate, _incoming, _logger);
        Volatile.Write(ref _parts, parts);

        // The receive policy (up to PolicyTimeout) and streamhost connects (StreamhostConnectTimeout each) run off the
        // dispatch loop: the offer is answered when they are done, while other stanzas keep flowing.
        endpoint.SetDeferredIqHandler("si", FileTransferNamespaces.StreamInitiation, Deferred(parts.Si.OnOfferAsync), _options.NegotiationTimeout);
        endpoint.Disco.AddFeature(FileTransferNamespaces.FileTransferProfile);
        endpoint.SetDeferredIqHandler("query", FileTransferNamespaces.Bytestreams, Deferred(parts.Socks5.OnStreamhostsAsync), _options.NegotiationTimeout);
        endpoint.SetIqHandler("open", FileTransferNamespaces.InBandBytestreams, parts.Ibb.OnOpenAsync);
        endpoint.SetIqHandler("data", FileTransferNamespaces.InBandBytestreams, parts.Ibb.OnDataAsync, announce: false);
        endpoint.SetIqHandler("close", FileTransferNamespaces.InBandBytestreams, parts.Ibb.OnCloseAsync, announce: false);
        endpoint.SetIqHandler("jingle", FileTransferNamespaces.Jingle, parts.Jingle.OnJingleAsync);
        endpoint.Disco.AddFeature(FileTransferNamespaces.JingleFileTransfer);
        if (_options.ReceiveMethods.Contains(FileTransferMethod.Socks5Bytestreams))
        {
            endpoint.Disco.AddFeature(FileTransferNamespaces.JingleS5b);
        }

        if (_options.ReceiveMethods.Contains(FileTransferMethod.InBandBytestreams))
        {
            endpoint.Disco.AddFeature(FileTransferNamespaces.JingleIbb);
        }
    }

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
    /// <exception cref="InvalidOperationException">Not attached.</exception>
    /// <exception cref="XmppNotConnectedException">Not connected.</exception>
    /// <exception cref="ArgumentException"><paramref name="to"/> is a bare JID and the endpoint is a component, or <see cref="FileSendOptions.Sha256"/> is not 64 hexadecimal digits.</exception>
    /// <exception cref="IOException">The file could not be read.</exception>
    public async Task<FileTransferResult> SendFileAsync(Jid to, string path, FileSendOptions? options = null, IProgress<FileTransferProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var knownSha256 = OutgoingFile.ParseKnownSha256(options);
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.Asynchronous | FileOptions.SequentialScan);
        await using (file.ConfigureAwait(false))
        {
            return await SendAsync(to, file, Path.GetFileName(path), file.Length, options, knownSha256, progress, cancellationToken).ConfigureAwait(false);
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
    /// <exception cref="InvalidOperationException">Not attached.</exception>
    /// <exception cref="XmppNotConnectedException">Not connected.</exception>
    /// <exception cref="ArgumentException">A bare JID from a component, an empty name, a negative size, unreadable content, no method, or a
    /// <see cref="FileSendOptions.Sha256"/> that is not 64 hexadecimal digits.</exception>
    /// <exception cref="EndOfStreamException">The content ended before <paramref name="size"/> bytes.</exception>
    public Task<FileTransferResult> SendFileAsync(Jid to, Stream content, string name, long size, FileSendOptions? options = null, IProgress<FileTransferProgress>? progress = null, CancellationToken cancellationToken = default)
        => SendAsync(to, content, name, size, options, knownSha256: null, progress, cancellationToken);

    /// <summary>Stops the direct SOCKS5 listener and fails incoming transfers in progress.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _gate.Close();
        var parts = Volatile.Read(ref _parts);
        if (parts is not null)
        {
            await parts.Sessions.StopAsync().ConfigureAwait(false);
        }

        await _incoming.AbortAllAsync().ConfigureAwait(false);
        if (parts is not null)
        {
            await parts.IbbSender.AbortAllAsync().ConfigureAwait(false);
            await parts.Streamhosts.DisposeAsync().ConfigureAwait(false);
            parts.Link.Dispose();
        }
    }

    private static DeferredIqRequestHandler Deferred(Func<Iq, CancellationToken, ValueTask<XmppElement?>> handler) =>
        (request, cancellationToken) =>
        {
            request.AnswerInBackground(ct => handler(request.Stanza, ct), cancellationToken);
            return ValueTask.CompletedTask;
        };

    /// <summary>Checks the arguments and runs the send; <c>knownSha256</c> is the caller's hash when the path overload checked it already.</summary>
    private async Task<FileTransferResult> SendAsync(Jid to, Stream content, string name, long size, FileSendOptions? options, string? knownSha256,
        IProgress<FileTransferProgress>? progress, CancellationToken cancellationToken)
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
        knownSha256 ??= OutgoingFile.ParseKnownSha256(options);
        var file = new OutgoingFile(content, name, size, options, knownSha256, progress);
        if (file.Methods.Length == 0)
        {
            throw new ArgumentException("At least one method must be allowed.", nameof(options));
        }

        var parts = Volatile.Read(ref _parts) ?? throw new InvalidOperationException("Add the manager to a client first (AddExtension).");
        using var activity = FileTransferInstruments.Source.StartActivity("xmpp.file_transfer.send", System.Diagnostics.ActivityKind.Client);
        activity?.SetTag("parley.xmpp.file_transfer.size", size);
        try
        {
            var result = await parts.Sender.SendAsync(to, file, cancellationToken).ConfigureAwait(false);
            FileTransferInstruments.RecordSent(result);
            if (activity is not null)
            {
                activity.SetTag(FileTransferInstruments.MethodTag, result.Method.ToString());
                activity.SetTag(FileTransferInstruments.TransportTag, result.Transport.ToString());
                activity.SetTag(FileTransferInstruments.OutcomeTag, "completed");
            }

            return result;
        }
        catch (Exception ex)
        {
            FileTransferInstruments.RecordSendFailed(ex);
            activity?.SetTag(FileTransferInstruments.OutcomeTag, FileTransferInstruments.OutcomeOf(ex));
            activity?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, ex.Message);
            throw;
        }
    }

    private void RaiseTransferReceived(IncomingFileTransferEventArgs args)
    {
        FileTransferInstruments.RecordReceived(args);
        try
        {
            TransferReceived?.Invoke(this, args);
        }
        catch (Exception ex)
        {
            // An application's handler must not break the transfer that ended; its failure is logged.
            FileTransferLog.EventHandlerFailed(_logger, ex);
        }
    }

    /// <summary>The parts that work on an endpoint, created when the manager is attached to it.</summary>
    private sealed record Parts(FileSender Sender, SiReceiver Si, Socks5Bytestreams Socks5, IbbReceiver Ibb, IbbSender IbbSender, JingleIqHandler Jingle,
        JingleSessions Sessions, StreamhostService Streamhosts, HttpLinkSender Link)
    {
        public static Parts Create(XmppEndpoint endpoint, FileTransferOptions options, OfferGate gate, IncomingTransfers incoming, ILogger logger)
        {
            var streamhosts = new StreamhostService(endpoint, options, logger);
            var ibbSender = new IbbSender(endpoint, options, logger);
            var socks5 = new Socks5Bytestreams(endpoint, options, streamhosts, incoming, logger);
            var sessions = new JingleSessions(endpoint, options, logger);
            var jingleReceiver = new JingleReceiver(endpoint, options, sessions, gate, incoming, streamhosts, logger);
            var link = new HttpLinkSender(endpoint, options, logger);
            var sender = new FileSender(endpoint, new SendPlanner(endpoint, logger),
                new JingleSender(endpoint, options, sessions, streamhosts, ibbSender, logger),
                new SiSender(endpoint, options, socks5, ibbSender, logger), link, logger);
            return new Parts(sender, new SiReceiver(options, gate, incoming, logger), socks5, new IbbReceiver(options, incoming, ibbSender), ibbSender,
                new JingleIqHandler(sessions, jingleReceiver, logger), sessions, streamhosts, link);
        }
    }
}
