using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp.FileTransfer;

/// <summary>
/// Sends a file in a Jingle session (XEP-0166, XEP-0234 offer) over SOCKS5 (XEP-0260) or in-band (XEP-0261) bytestreams,
/// replacing a failed SOCKS5 transport with in-band, and waits for the receiver's verdict.
/// </summary>
internal sealed class JingleSender(XmppEndpoint endpoint, FileTransferOptions options, JingleSessions sessions, StreamhostService streamhosts, IbbSender ibbSender, ILogger logger)
{
    /// <exception cref="FileTransferException">Declined, no common transport, the stream failed, the receiver ended the session or did not confirm the file.</exception>
    public async Task<FileTransferResult> SendAsync(Jid self, Jid to, OutgoingFile file, CancellationToken cancellationToken)
    {
        var transports = SendPlan.TransportsOf(file.Methods);
        var sha256 = file.Options.JingleHashInOffer || file.KnownSha256 is not null ? await file.OfferHashAsync(cancellationToken).ConfigureAwait(false) : null;
        var size = file.Size;
        var allowIbb = transports.Contains(FileTransferMethod.InBandBytestreams);
        var sid = SessionIds.New();
        var offer = new JingleFile(FileNames.Sanitize(file.Name), size, file.Options.MimeType, file.Options.LastModified, file.Options.Description, sha256, sha256 is null);
        using var abort = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var session = new JingleSession(self, to, sid, weInitiated: true, JingleElement.ContentName, "initiator", offer.ToDescription(), abort);
        sessions.Add(session);
        var counter = file.NewCounter();
        var started = Stopwatch.GetTimestamp();
        var transport = transports.Contains(FileTransferMethod.Socks5Bytestreams) ? FileTransferMethod.Socks5Bytestreams : FileTransferMethod.InBandBytestreams;
        string? fallback = null;
        Task? checksumSent = null;
        S5bNegotiation? s5b = null;
        try
        {
            if (transport == FileTransferMethod.Socks5Bytestreams)
            {
                s5b = await S5bNegotiation.PrepareAsync(endpoint, options, streamhosts, logger, session, sid, abort.Token).ConfigureAwait(false);
                session.UseS5b(s5b);
                if (s5b.LocalCandidates.Count == 0 && allowIbb)
                {
                    // Nothing to offer (no listener, no proxy): the peer may still have candidates, but XEP-0260 needs ours too.
                    fallback = "no SOCKS5 candidate to offer";
                    session.DropS5b();
                    s5b.Dispose();
                    s5b = null;
                    transport = FileTransferMethod.InBandBytestreams;
                }
            }

            var ibb = new IbbTransport(sid, options.IbbBlockSize);
            var initiate = JingleElement.Create(JingleActions.SessionInitiate, sid, initiator: self);
            var offered = JingleElement.AddContent(initiate, session.ContentName);
            offered.Add(offer.ToDescription());
            offered.Add(s5b?.LocalTransport(initiator: true) ?? ibb.ToElement());
            JingleLog.Offering(logger, offer.Name, size, to, sid, transport);
            try
            {
                await endpoint.SendIqAsync(new Iq(IqType.Set, to, initiate), options.NegotiationTimeout, abort.Token).ConfigureAwait(false);
            }
            catch (XmppStanzaException ex)
            {
                throw new FileTransferException(ex.Condition is "forbidden" or "not-acceptable" ? FileTransferError.Declined : FileTransferError.NoCommonMethod,
                    $"{to} refused the Jingle offer ({ex.Error}).", ex);
            }

            var accept = await sessions.WaitForAsync(session, session.Accepted, "accept the offer", abort.Token).ConfigureAwait(false);
            var acceptedContent = accept.Element("content");
            if (s5b is not null)
            {
                if (acceptedContent?.Element("transport", FileTransferNamespaces.JingleS5b) is { } theirs)
                {
                    s5b.SetRemote(S5bTransport.Parse(theirs));
                }

                var socket = await s5b.NegotiateAsync(abort.Token).ConfigureAwait(false);
                if (socket is not null)
                {
                    using (socket)
                    {
                        // The checksum goes out as the last byte does, while the receiver still reads: it has it when it needs it.
                        await Socks5Sender.SendAsync(file.Content, socket, size, counter, options.BufferSize, abort.Token, StartChecksum).ConfigureAwait(false);
                    }
                }
                else if (allowIbb)
                {
                    fallback = s5b.FailureReason;
                    JingleLog.ReplacingTransport(logger, sid, to, fallback ?? "?");
                    ibb = await ReplaceWithIbbAsync(session, abort.Token).ConfigureAwait(false);
                    transport = FileTransferMethod.InBandBytestreams;
                }
                else
                {
                    throw new FileTransferException(FileTransferError.StreamFailed, $"No SOCKS5 candidate worked with {to}: {s5b.FailureReason}");
                }
            }
            else
            {
                var answered = acceptedContent?.Element("transport", FileTransferNamespaces.JingleIbb) is { } theirs ? IbbTransport.Parse(theirs) : ibb;
                if (answered.Sid != ibb.Sid || answered.BlockSize > ibb.BlockSize)
                {
                    throw new FileTransferException(FileTransferError.Protocol, $"{to} accepted with an in-band transport we did not offer (sid {answered.Sid}, block-size {answered.BlockSize}).");
                }

                ibb = answered;
            }

            if (transport == FileTransferMethod.InBandBytestreams)
            {
                FileTransferLog.Sending(logger, offer.Name, size, to, ibb.Sid, transport);
                await ibbSender.SendAsync(to, ibb.Sid, file.Content, size, counter, abort.Token, ibb.BlockSize).ConfigureAwait(false);
            }

            var hash = counter.Finish();
            StartChecksum();
            if (checksumSent is not null)
            {
                await checksumSent.ConfigureAwait(false);
            }

            // The receiver confirms with <received/> and/or ends the session once it has checked the file (XEP-0234 §7; Dino
            // ends it when it has read the size). Silence means it took the bytes but kept no file: Dino 0.4.2 acknowledges
            // every in-band block after its own download already failed, so only the missing confirmation tells.
            JingleReason verdict;
            await ((Task)Task.WhenAny(session.Terminated, session.ReceivedConfirmation)
                .WaitAsync(options.JingleConfirmationTimeout, cancellationToken)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (session.Terminated.IsCompletedSuccessfully)
            {
                verdict = session.Terminated.Result;
            }
            else if (session.ReceivedConfirmation.IsCompleted)
            {
                verdict = new JingleReason("success");
                await sessions.TerminateQuietlyAsync(session, verdict).ConfigureAwait(false);
            }
            else
            {
                cancellationToken.ThrowIfCancellationRequested();
                await sessions.TerminateQuietlyAsync(session, new JingleReason("timeout", "No confirmation that the file was received")).ConfigureAwait(false);
                throw new FileTransferException(FileTransferError.Timeout,
                    $"{to} took all {counter.Read} bytes over {transport} but never confirmed the file (no <received/> or session-terminate within "
                    + $"{options.JingleConfirmationTimeout.TotalSeconds:0} s): its client most likely failed to store it.");
            }

            if (!verdict.IsSuccess)
            {
                throw new FileTransferException(verdict is { Condition: "media-error", FileTooLarge: false } ? FileTransferError.HashMismatch : FileTransferError.Aborted,
                    $"{to} did not accept the file it received: {verdict}.");
            }

            var elapsed = Stopwatch.GetElapsedTime(started);
            FileTransferLog.Sent(logger, counter.Read, to, sid, transport, elapsed);
            return new FileTransferResult(sid, FileTransferMethod.Jingle, counter.Read, hash, elapsed, fallback) { Transport = transport };
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested && session.Terminated.IsCompletedSuccessfully)
        {
            var reason = session.Terminated.Result;
            throw new FileTransferException(counter.Read == 0 ? JingleSessions.ErrorFor(reason) : ErrorAfterData(reason), $"{to} ended the session after {counter.Acknowledged} of {size} bytes: {reason}.", ex);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await sessions.TerminateQuietlyAsync(session, new JingleReason("cancel")).ConfigureAwait(false);
            throw;
        }
        catch (FileTransferException ex)
        {
            if (session.Terminated.IsCompletedSuccessfully && ex.Error is not (FileTransferError.Declined or FileTransferError.NoCommonMethod or FileTransferError.HashMismatch))
            {
                throw new FileTransferException(ErrorAfterData(session.Terminated.Result), $"{to} ended the session: {session.Terminated.Result}.", ex);
            }

            await sessions.TerminateQuietlyAsync(session, JingleSessions.ReasonFor(ex)).ConfigureAwait(false);
            throw;
        }
        catch (Exception ex) when (ex is IOException or XmppStanzaException or TimeoutException)
        {
            await sessions.TerminateQuietlyAsync(session, new JingleReason(ex is IOException ? "media-error" : "general-error", ex.Message)).ConfigureAwait(false);
            throw;
        }
        finally
        {
            sessions.Remove(session);
            session.DropS5b();
            s5b?.Dispose();
        }

        // media-error once every byte is delivered is the receiver rejecting the content (its hash check), as in the verdict
        // above; it may arrive while we still wait for the stream's end. With <file-too-large/> it had no room to store it.
        FileTransferError ErrorAfterData(JingleReason reason) =>
            reason is { Condition: "media-error", FileTooLarge: false } && counter.Acknowledged == size ? FileTransferError.HashMismatch : FileTransferError.Aborted;

        // XEP-0234 §8: an offer with <hash-used/> is followed by a session-info <checksum/> with the value, once every
        // byte was read (and hashed). Failures are logged: the receiver then reports the missing checksum itself.
        void StartChecksum()
        {
            if (offer.HashUsed && checksumSent is null && counter.Read == size)
            {
                var info = JingleElement.Create(JingleActions.SessionInfo, sid, initiator: self);
                var checksum = info.AddChild("checksum", FileTransferNamespaces.JingleFileTransfer);
                checksum.SetAttribute("creator", "initiator");
                checksum.SetAttribute("name", session.ContentName);
                checksum.AddChild("file", FileTransferNamespaces.JingleFileTransfer).Add(JingleFile.HashElement(counter.Finish()));
                checksumSent = sessions.SendQuietlyAsync(session, info);
            }
        }
    }

    /// <summary>XEP-0260 §2.7: after both sides failed, replace the transport with in-band bytestreams (a new sid).</summary>
    private async Task<IbbTransport> ReplaceWithIbbAsync(JingleSession session, CancellationToken cancellationToken)
    {
        var offered = new IbbTransport(SessionIds.New(), options.IbbBlockSize);
        var answered = session.ExpectTransportAnswer();
        var replace = JingleElement.Create(JingleActions.TransportReplace, session.Sid, initiator: session.Self);
        JingleElement.AddContent(replace, session.ContentName).Add(offered.ToElement());
        try
        {
            await endpoint.SendIqAsync(new Iq(IqType.Set, session.Peer, replace), options.NegotiationTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (XmppStanzaException ex)
        {
            throw new FileTransferException(FileTransferError.StreamFailed, $"{session.Peer} refused the transport-replace to in-band bytestreams ({ex.Error}).", ex);
        }

        var answer = await sessions.WaitForAsync(session, answered, "answer the transport-replace", cancellationToken).ConfigureAwait(false);
        if (answer?.Element("content")?.Element("transport", FileTransferNamespaces.JingleIbb) is not { } transport)
        {
            throw new FileTransferException(FileTransferError.StreamFailed, $"{session.Peer} rejected the in-band fallback after SOCKS5 failed.");
        }

        var accepted = IbbTransport.Parse(transport);
        if (accepted.Sid != offered.Sid || accepted.BlockSize > offered.BlockSize)
        {
            throw new FileTransferException(FileTransferError.Protocol, $"{session.Peer} accepted an in-band transport we did not offer.");
        }

        return accepted;
    }
}
