using System.Buffers;
using System.Net.Sockets;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp.FileTransfer;

/// <summary>
/// One accepted offer: waits for a stream (SOCKS5 or in-band, whichever the sender opens first), writes it to the
/// sink and ends exactly once. Sink access is serialized by a gate: in-band blocks arrive on the dispatch loop,
/// SOCKS5 bytes on a task, time-outs on a timer.
/// </summary>
internal sealed class IncomingSession : IDisposable
{
    private readonly FileTransferOptions _options;
    private readonly FileOfferDecision _decision;
    private readonly Action<IncomingSession, IncomingFileTransferEventArgs> _onEnded;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly CancellationTokenSource _ended = new();
    private CancellationTokenSource? _timer;
    private IncomingSink? _sink;
    private FileTransferMethod? _method;
    private IbbSequence _sequence;
    private int _blockSize;
    private bool _finished;
    private FileTransferException? _failure;
    private bool _awaitingChecksum;

    /// <param name="offer">The offer as accepted.</param>
    /// <param name="decision">Where the file goes.</param>
    /// <param name="options">Buffers and timeouts.</param>
    /// <param name="ended">Called once, when the transfer ended (kept, failed or aborted).</param>
    public IncomingSession(IncomingFileOffer offer, FileOfferDecision decision, FileTransferOptions options, Action<IncomingSession, IncomingFileTransferEventArgs> ended)
    {
        Offer = offer;
        _decision = decision;
        _options = options;
        _onEnded = ended;
    }

    public IncomingFileOffer Offer { get; }

    /// <summary>
    /// Done when the sender was told why the transfer failed (a Jingle session-terminate answered, or given up on).
    /// A failed SOCKS5 stream is cut only then: the sender learns the reason before it sees the connection break.
    /// </summary>
    public Task PeerTold { get; set; } = Task.CompletedTask;

    /// <summary>
    /// The offer announced its SHA-256 with <c>&lt;hash-used/&gt;</c> (XEP-0234): the value comes in a
    /// <c>&lt;checksum/&gt;</c>, and the file is not verified and kept before it did.
    /// </summary>
    public bool ChecksumFollows { get; init; }

    /// <summary>
    /// Whether the answer to the sender's in-band <c>&lt;close/&gt;</c> carries the outcome: true for SI, which has no other
    /// answer after the data; a Jingle session reports it in its session-terminate instead.
    /// </summary>
    public bool ReportsOutcomeOnClose => !Offer.Methods.Contains(FileTransferMethod.Jingle);

    /// <summary>
    /// Tells the sender how the transfer ended where its protocol does that after the data (Jingle: <c>&lt;received/&gt;</c>
    /// and session-terminate), and returns the outcome as the application is told it. Null for SI.
    /// </summary>
    public Func<IncomingSession, IncomingFileTransferEventArgs, IncomingFileTransferEventArgs>? ConcludeWithSender { get; init; }

    /// <summary>Why the transfer failed, once it ended; <see langword="null"/> while it runs or when the file was kept.</summary>
    public FileTransferException? Failure => Volatile.Read(ref _failure);

    /// <summary>
    /// Takes the sender's <c>&lt;checksum/&gt;</c>. Before the last byte it is kept for the check; after it, the
    /// waiting transfer completes. One that contradicts a hash announced before ends the transfer as a mismatch.
    /// </summary>
    public void OnChecksum(string sha256)
    {
        FileTransferException? conflict = null;
        bool complete;
        lock (_ended)
        {
            if (_finished)
            {
                return;
            }

            if (Offer.Sha256 is { } announced && announced != sha256)
            {
                conflict = new FileTransferException(FileTransferError.HashMismatch, $"The sender's checksum {sha256} contradicts the SHA-256 it announced before, {announced}.");
            }

            Offer.Sha256 ??= sha256;
            complete = _awaitingChecksum;
        }

        if (conflict is not null || complete)
        {
            // Verifying and moving the file may take a while: not on the dispatch loop that delivered the checksum.
            _ = Task.Run(() => FinishAsync(conflict), CancellationToken.None);
        }
    }

    /// <summary>(Re)starts the deadline for the next sign of life from the sender.</summary>
    public void StartTimer(TimeSpan timeout)
    {
        lock (_ended)
        {
            if (_finished || _ended.IsCancellationRequested)
            {
                return;
            }

            if (_timer is null)
            {
                _timer = new CancellationTokenSource();
                _timer.Token.Register(() => _ = FinishAsync(new FileTransferException(FileTransferError.Timeout, Volatile.Read(ref _awaitingChecksum)
                    ? $"{Offer.From} sent every byte but no <checksum/> within {_options.JingleChecksumTimeout.TotalSeconds:0.#} s, although its offer "
                        + $"announced one (sid {Offer.Sid}): the file cannot be verified and was not kept."
                    : $"{Offer.From} went silent (sid {Offer.Sid}).")));
            }

            _timer.CancelAfter(timeout);
        }
    }

    /// <summary>Takes the session for a stream method; false when it already has a stream or has ended, or the file cannot be created (the session then ends).</summary>
    public async Task<bool> ClaimAsync(FileTransferMethod method, int blockSize = 0)
    {
        await _gate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        FileTransferException failure;
        try
        {
            if (_finished || _method is not null)
            {
                return false;
            }

            _sink = IncomingSink.Create(_decision.Folder!, _decision.FileName!, Offer.Size, _decision.Progress, method, _options.BufferSize, _options.DirectFileWrites);
            _method = method;
            _blockSize = blockSize;
            StartTimer(_options.IdleTimeout);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            failure = new FileTransferException(FileTransferError.StorageFailed, $"Could not create a file in the receiving folder: {ex.Message}", ex);
        }
        finally
        {
            _gate.Release();
        }

        await FinishAsync(failure).ConfigureAwait(false);
        return false;
    }

    public async Task ReceiveBlockAsync(XmppElement data, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        FileTransferException? failure = null;
        try
        {
            if (_finished || _method != FileTransferMethod.InBandBytestreams || _sink is null)
            {
                throw new XmppStanzaException(StanzaError.ItemNotFound("No such stream"));
            }

            if (!_sequence.TryAccept(data.GetAttribute("seq")))
            {
                failure = new FileTransferException(FileTransferError.Protocol, $"Block out of order: expected seq {_sequence.Next}, got '{data.GetAttribute("seq")}'.");
            }
            else
            {
                var text = data.Text ?? string.Empty;

                // Base64 of at most block-size bytes, allowing for line breaks some senders insert.
                if (text.Length > ((_blockSize + 2) / 3 * 4 * 2) + 16)
                {
                    failure = new FileTransferException(FileTransferError.Protocol, "A block is larger than the negotiated block size.");
                }
                else
                {
                    var buffer = ArrayPool<byte>.Shared.Rent(_blockSize + 3);
                    try
                    {
                        if (!Convert.TryFromBase64String(text, buffer, out var length) || length > _blockSize)
                        {
                            failure = new FileTransferException(FileTransferError.Protocol, "A block is not base64 or is larger than the negotiated block size.");
                        }
                        else
                        {
                            await _sink.WriteAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
                            StartTimer(_options.IdleTimeout);
                        }
                    }
                    catch (FileTransferException ex)
                    {
                        failure = ex;
                    }
                    finally
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                    }
                }
            }
        }
        finally
        {
            _gate.Release();
        }

        if (failure is not null)
        {
            // The error answer ends the stream: the sender must close it (XEP-0047 §2.2). A <close/> of ours would
            // reach the sender before the answer and end its send without the reason.
            await FinishAsync(failure).ConfigureAwait(false);
            throw new XmppStanzaException(failure.Error == FileTransferError.Protocol
                ? new StanzaError("unexpected-request", StanzaErrorType.Cancel, failure.Message)
                : StanzaError.NotAcceptable(failure.Message));
        }
    }

    public Task CloseByPeerAsync()
        => FinishAsync(_sink is { } sink && sink.Written < Offer.Size
            ? new FileTransferException(FileTransferError.Aborted, $"{Offer.From} closed the stream after {sink.Written} of {Offer.Size} bytes.")
            : null);

    /// <summary>Receives the SOCKS5 stream straight into the sink's buffers.</summary>
    public async Task ReceiveSocks5Async(Socket socket)
    {
        try
        {
            var remaining = Offer.Size;
            while (remaining > 0)
            {
                // Outside the gate: a session that ends meanwhile is seen below; the buffer stays valid until the sink is collected.
                var read = await socket.ReceiveAsync(_sink!.GetMemory(), SocketFlags.None, _ended.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    await FinishAsync(new FileTransferException(FileTransferError.Aborted, $"{Offer.From} closed the SOCKS5 stream after {Offer.Size - remaining} of {Offer.Size} bytes.")).ConfigureAwait(false);
                    return;
                }

                await _gate.WaitAsync(_ended.Token).ConfigureAwait(false);
                try
                {
                    if (_finished)
                    {
                        return;
                    }

                    await _sink.AdvanceAsync(read, _ended.Token).ConfigureAwait(false);
                }
                finally
                {
                    _gate.Release();
                }

                remaining -= read;
                StartTimer(_options.IdleTimeout);
            }

            await FinishAsync(null).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_ended.IsCancellationRequested)
        {
            // Ended elsewhere (timeout, disposal).
        }
        catch (Exception ex) when (ex is SocketException or IOException)
        {
            await FinishAsync(new FileTransferException(FileTransferError.StreamFailed, $"The SOCKS5 stream broke: {ex.Message}", ex)).ConfigureAwait(false);
        }
        catch (FileTransferException ex)
        {
            // The file could not be stored.
            await FinishAsync(ex).ConfigureAwait(false);
        }
        finally
        {
            // Closing tells the sender every byte arrived; an SI sender has nothing else to go by. A transfer that
            // failed resets the connection instead, once a Jingle sender was told why.
            if (Failure is not null)
            {
                await PeerTold.WaitAsync(_options.NegotiationTimeout).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                socket.LingerState = new LingerOption(true, 0);
            }

            socket.Dispose();
        }
    }

    /// <summary>Ends the session once: completes (verify, move into place) when <paramref name="error"/> is null, else deletes the temporary file.</summary>
    public async Task FinishAsync(FileTransferException? error)
    {
        if (error is null)
        {
            lock (_ended)
            {
                // Only a complete file waits; a stream that never opened or ended early fails below.
                if (ChecksumFollows && Offer.Sha256 is null && !_finished && _sink is { } sink && sink.Written == Offer.Size)
                {
                    // Every byte is in, the hash is still to come: wait for OnChecksum (or the timer) to finish.
                    if (!_awaitingChecksum)
                    {
                        Volatile.Write(ref _awaitingChecksum, true);
                        StartTimer(_options.JingleChecksumTimeout);
                    }

                    return;
                }
            }
        }

        await _gate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        string? path = null;
        try
        {
            if (_finished)
            {
                return;
            }

            _finished = true;
            if (_sink is { } sink)
            {
                if (error is null)
                {
                    try
                    {
                        path = await sink.CompleteAsync(Offer.Sha256).ConfigureAwait(false);
                    }
                    catch (FileTransferException ex)
                    {
                        error = ex;
                    }
                    catch (IOException ex)
                    {
                        error = new FileTransferException(FileTransferError.StorageFailed, $"Could not save the file: {ex.Message}", ex);
                    }
                }

                await sink.DisposeAsync().ConfigureAwait(false);
            }
            else
            {
                error ??= new FileTransferException(FileTransferError.StreamFailed, "No stream was opened.");
            }
        }
        finally
        {
            _gate.Release();
        }

        Volatile.Write(ref _failure, error);
        Dispose();
        _onEnded(this, new IncomingFileTransferEventArgs(Offer, _method, path, _sink?.Written ?? 0, error is null ? _sink?.Sha256 : null, error));
    }

    public void Dispose()
    {
        lock (_ended)
        {
            if (!_ended.IsCancellationRequested)
            {
                _ended.Cancel();
            }

            _timer?.Dispose();
            _timer = null;
        }
    }
}
