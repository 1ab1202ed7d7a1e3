using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp.FileTransfer;

/// <summary>
/// The sending end of in-band bytestreams (XEP-0047), for SI and Jingle alike: opens the stream, keeps
/// <see cref="FileTransferOptions.IbbWindow"/> blocks in flight, and closes it. A receiver's <c>&lt;close/&gt;</c>
/// aborts the send (<see cref="TryAbortAsync"/>).
/// </summary>
internal sealed class IbbSender(XmppEndpoint endpoint, FileTransferOptions options, ILogger logger)
{
    private readonly ConcurrentDictionary<(string Peer, string Sid), CancellationTokenSource> _outgoing = new();

    /// <summary>
    /// Sends <c>size</c> bytes as stream <c>sid</c> and closes it, in blocks of <c>negotiatedBlockSize</c> (agreed in
    /// Jingle) or, when that is 0, <see cref="FileTransferOptions.IbbBlockSize"/>.
    /// </summary>
    /// <exception cref="FileTransferException">Refused, aborted by the receiver, timed out, or the file was not kept.</exception>
    public async Task SendAsync(Jid to, string sid, Stream content, long size, SendCounter counter, CancellationToken cancellationToken, int negotiatedBlockSize = 0)
    {
        using var abort = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var key = (to.ToString(), sid);
        _outgoing[key] = abort;
        var pending = new Queue<(Task<Iq> Ack, int Bytes)>();
        var blockSize = negotiatedBlockSize > 0 ? negotiatedBlockSize : options.IbbBlockSize;
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
                    await endpoint.SendIqAsync(new Iq(IqType.Set, to, open), options.NegotiationTimeout, abort.Token).ConfigureAwait(false);
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
                    await counter.ReadBlockAsync(content, buffer, count, abort.Token).ConfigureAwait(false);
                    remaining -= count;
                    var data = new XmppElement("data", FileTransferNamespaces.InBandBytestreams) { Text = Convert.ToBase64String(buffer, 0, count) };
                    data.SetAttribute("seq", sequence.Take().ToString(CultureInfo.InvariantCulture));
                    data.SetAttribute("sid", sid);
                    pending.Enqueue((endpoint.SendIqAsync(new Iq(IqType.Set, to, data), options.IdleTimeout, abort.Token), count));
                    while (pending.Count >= options.IbbWindow)
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
            _outgoing.TryRemove(new KeyValuePair<(string, string), CancellationTokenSource>(key, abort));
            opened = false; // Our close ends the stream, answered or not.
            try
            {
                await endpoint.SendIqAsync(new Iq(IqType.Set, to, CloseElement(sid)), options.IbbCloseTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                FileTransferLog.CloseUnanswered(logger, sid, options.IbbCloseTimeout);
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
                FileTransferLog.CloseFailed(logger, to, sid, ex.Error.ToString());
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
                await CloseQuietlyAsync(to, sid).ConfigureAwait(false);
            }

            throw new FileTransferException(opened ? FileTransferError.Aborted : FileTransferError.StreamFailed, $"{to} refused the in-band stream after {counter.Acknowledged} of {size} bytes ({ex.Error}).", ex);
        }
        catch (TimeoutException ex)
        {
            if (opened)
            {
                await CloseQuietlyAsync(to, sid).ConfigureAwait(false);
            }

            throw new FileTransferException(FileTransferError.Timeout, $"{to} stopped acknowledging the in-band stream after {counter.Acknowledged} of {size} bytes.", ex);
        }
        catch (Exception) when (opened)
        {
            // Cancelled by the caller, or the content failed: tell the receiver so it deletes its temporary file.
            await CloseQuietlyAsync(to, sid).ConfigureAwait(false);
            throw;
        }
        finally
        {
            _outgoing.TryRemove(new KeyValuePair<(string, string), CancellationTokenSource>(key, abort));
            while (pending.TryDequeue(out var entry))
            {
                await ((Task)entry.Ack).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    /// <summary>The receiver closed stream <paramref name="sid"/> of ours: abort its send. False when no such send runs.</summary>
    public async Task<bool> TryAbortAsync(Jid peer, string sid)
    {
        if (!_outgoing.TryGetValue((peer.ToString(), sid), out var outgoing))
        {
            return false;
        }

        await outgoing.CancelAsync().ConfigureAwait(false);
        return true;
    }

    /// <summary>Aborts every send in progress.</summary>
    public async Task AbortAllAsync()
    {
        foreach (var outgoing in _outgoing.Values)
        {
            await outgoing.CancelAsync().ConfigureAwait(false);
        }
    }

    private async Task CloseQuietlyAsync(Jid to, string sid)
    {
        try
        {
            await endpoint.SendAsync(new Iq(IqType.Set, to, CloseElement(sid)), CancellationToken.None).ConfigureAwait(false);
        }
        catch (XmppTransportException ex)
        {
            FileTransferLog.CloseFailed(logger, to, sid, ex.Message);
        }
    }

    private static XmppElement CloseElement(string sid)
    {
        var close = new XmppElement("close", FileTransferNamespaces.InBandBytestreams);
        close.SetAttribute("sid", sid);
        return close;
    }
}
