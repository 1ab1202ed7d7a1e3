using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;

namespace Parley.Xmpp.FileTransfer;

/// <summary>
/// Sends a file over SI (XEP-0095/0096): the offer with the hash, then the stream method the receiver chose, SOCKS5
/// falling back to in-band with the same sid when no streamhost works (what libpurple waits for).
/// </summary>
internal sealed class SiSender(XmppEndpoint endpoint, FileTransferOptions options, Socks5Bytestreams socks5, IbbSender ibb, ILogger logger)
{
    /// <exception cref="FileTransferException">Declined, no common method, the stream failed, or the receiver did not keep the file.</exception>
    /// <exception cref="XmppStanzaException">The receiver answered the offer with an unexpected error.</exception>
    public async Task<FileTransferResult> SendAsync(Jid self, Jid to, OutgoingFile file, CancellationToken cancellationToken)
    {
        FileTransferMethod[] methods = [.. file.Methods.Where(m => m is FileTransferMethod.Socks5Bytestreams or FileTransferMethod.InBandBytestreams)];
        var sha256 = await file.OfferHashAsync(cancellationToken).ConfigureAwait(false);
        var sid = SessionIds.New();
        var offer = new SiFileOffer(sid, FileNames.Sanitize(file.Name), file.Size, file.Options.Description, file.Options.MimeType, sha256, methods);
        var started = Stopwatch.GetTimestamp();
        Iq answer;
        try
        {
            answer = await endpoint.SendIqAsync(new Iq(IqType.Set, to, offer.ToElement()), options.NegotiationTimeout, cancellationToken).ConfigureAwait(false);
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

        var counter = file.NewCounter();
        string? fallback = null;
        if (method == FileTransferMethod.Socks5Bytestreams)
        {
            FileTransferLog.Sending(logger, offer.Name, file.Size, to, sid, method);
            try
            {
                using var socket = await socks5.OpenAsync(self, to, sid, cancellationToken).ConfigureAwait(false);
                await Socks5Sender.SendAsync(file.Content, socket, file.Size, counter, options.BufferSize, cancellationToken).ConfigureAwait(false);
            }
            catch (FileTransferException ex) when (ex.Error is FileTransferError.StreamFailed or FileTransferError.Timeout
                && counter.Read == 0 && methods.Contains(FileTransferMethod.InBandBytestreams))
            {
                // libpurple (and Parley's receiver) wait for an in-band stream with the same sid after every streamhost failed.
                fallback = ex.Message;
                FileTransferLog.FallingBack(logger, to, sid, ex.Message);
                method = FileTransferMethod.InBandBytestreams;
            }
        }

        if (method == FileTransferMethod.InBandBytestreams)
        {
            FileTransferLog.Sending(logger, offer.Name, file.Size, to, sid, method);
            await ibb.SendAsync(to, sid, file.Content, file.Size, counter, cancellationToken).ConfigureAwait(false);
        }

        var elapsed = Stopwatch.GetElapsedTime(started);
        FileTransferLog.Sent(logger, counter.Read, to, sid, method, elapsed);
        return new FileTransferResult(sid, method, counter.Read, counter.Finish(), elapsed, fallback);
    }
}
