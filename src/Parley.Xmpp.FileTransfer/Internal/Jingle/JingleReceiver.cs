using Microsoft.Extensions.Logging;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp.FileTransfer;

/// <summary>
/// The responder's side of Jingle file transfer: offers to us (decided by the same <see cref="OfferGate"/> as SI),
/// the sender's checksum and transport-replace, and the outcome told back to the sender when the transfer ends.
/// </summary>
internal sealed class JingleReceiver(XmppEndpoint endpoint, FileTransferOptions options, JingleSessions sessions, OfferGate gate, IncomingTransfers transfers,
    StreamhostService streamhosts, ILogger logger)
{
    /// <summary>A session-initiate: acknowledged at once; the policy and our answer (accept or terminate) follow off the dispatch loop.</summary>
    public XmppElement? OnSessionInitiate(Jid from, string sid, XmppElement jingle)
    {
        if (sessions.Contains(from, sid))
        {
            throw JingleElement.OutOfOrder("That session already exists.");
        }

        var contents = jingle.Elements("content").Take(2).ToList();
        var self = endpoint.Jid ?? throw new XmppStanzaException(StanzaError.ServiceUnavailable());
        var content = contents.Count == 1 ? contents[0] : null;
        var description = content?.Element("description", FileTransferNamespaces.JingleFileTransfer);
        var senders = content?.GetAttribute("senders") ?? "both";
        var s5bElement = options.ReceiveMethods.Contains(FileTransferMethod.Socks5Bytestreams) ? content?.Element("transport", FileTransferNamespaces.JingleS5b) : null;
        var ibbElement = options.ReceiveMethods.Contains(FileTransferMethod.InBandBytestreams) ? content?.Element("transport", FileTransferNamespaces.JingleIbb) : null;
        JingleReason? refusal = null;
        if (content is null || description is null || senders != "initiator" && senders != "both")
        {
            // Calls, file requests and multi-file sessions: acknowledge, then end the session (XEP-0166 §6.3.2).
            refusal = new JingleReason("unsupported-applications", "Only single file offers are accepted here");
        }
        else if (s5bElement is null && ibbElement is null)
        {
            refusal = new JingleReason("unsupported-transports", "Only SOCKS5 and in-band bytestreams");
        }

        var file = description is null ? null : JingleFile.Parse(description);
        var s5b = s5bElement is null ? null : S5bTransport.Parse(s5bElement);
        var ibb = s5b is null && ibbElement is not null ? IbbTransport.Parse(ibbElement) : null;
        var session = new JingleSession(self, from, sid, weInitiated: false, content?.GetAttribute("name") ?? JingleElement.ContentName,
            content?.GetAttribute("creator") ?? "initiator", description ?? new XmppElement("description", FileTransferNamespaces.JingleFileTransfer), abort: null);
        if (refusal is { } reason)
        {
            JingleLog.Refused(logger, sid, from, reason.ToString());
            sessions.AfterAck(session, JingleActions.SessionTerminate, _ => sessions.TerminateQuietlyAsync(session, reason));
            return null;
        }

        if (!sessions.TryAdd(session))
        {
            throw JingleElement.OutOfOrder("That session already exists.");
        }

        sessions.AfterAck(session, JingleActions.SessionAccept, ct => AnswerOfferAsync(session, file!, s5b, ibb, ct));
        return null;
    }

    /// <summary>Asks the incoming policy (as for SI offers), then accepts with our transport or declines.</summary>
    private async Task AnswerOfferAsync(JingleSession session, JingleFile file, S5bTransport? s5b, IbbTransport? ibb, CancellationToken cancellationToken)
    {
        var transport = s5b is not null ? FileTransferMethod.Socks5Bytestreams : FileTransferMethod.InBandBytestreams;
        var offer = new IncomingFileOffer(session.Peer, session.Sid, file.Name, file.Size, file.Description, file.MediaType, file.Sha256, [FileTransferMethod.Jingle, transport]) { Date = file.Date };
        var decision = await gate.DecideAsync(offer, cancellationToken).ConfigureAwait(false);
        if (!decision.Accepted)
        {
            sessions.Remove(session);
            FileTransferLog.OfferDecided(logger, offer.FileName, offer.Size, session.Peer, offer.Sid, "declined: " + decision.Reason);
            await sessions.TerminateQuietlyAsync(session, new JingleReason("decline", decision.Reason)).ConfigureAwait(false);
            return;
        }

        var incoming = transfers.Create(offer, decision, checksumFollows: file.HashUsed, (ended, args) => Conclude(session, ended, args));
        session.Receive(incoming);
        if (session.Terminated.IsCompleted || !transfers.TryAdd(session.Peer, session.Sid, incoming))
        {
            // Cancelled while the policy decided, or an SI transfer with the same id: nothing was written yet.
            await incoming.FinishAsync(new FileTransferException(FileTransferError.Aborted, $"{session.Peer} cancelled before the offer was accepted.")).ConfigureAwait(false);
            return;
        }

        incoming.StartTimer(options.IncomingStreamTimeout);
        XmppElement answer;
        S5bNegotiation? negotiation = null;
        if (ibb is not null)
        {
            var accepted = ibb with { BlockSize = Math.Min(ibb.BlockSize, options.IbbMaxBlockSize) };
            transfers.TryAdd(session.Peer, accepted.Sid, incoming);
            answer = accepted.ToElement();
        }
        else
        {
            negotiation = await S5bNegotiation.PrepareAsync(endpoint, options, streamhosts, logger, session, s5b!.Sid, cancellationToken).ConfigureAwait(false);
            session.UseS5b(negotiation);
            negotiation.SetRemote(s5b);
            answer = negotiation.LocalTransport(initiator: false);
        }

        var accept = JingleElement.Create(JingleActions.SessionAccept, session.Sid, responder: session.Self);
        var content = JingleElement.AddContent(accept, session.ContentName, session.ContentCreator);
        content.Add(session.Description.Clone());
        content.Add(answer);
        try
        {
            await endpoint.SendIqAsync(new Iq(IqType.Set, session.Peer, accept), options.NegotiationTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is XmppStanzaException or TimeoutException)
        {
            await incoming.FinishAsync(new FileTransferException(FileTransferError.StreamFailed, $"{session.Peer} did not take our session-accept: {ex.Message}", ex)).ConfigureAwait(false);
            return;
        }

        FileTransferLog.OfferDecided(logger, offer.FileName, offer.Size, session.Peer, offer.Sid, $"accepted into {decision.Folder} over Jingle ({transport})");
        if (negotiation is null)
        {
            return;
        }

        var socket = await negotiation.NegotiateAsync(cancellationToken).ConfigureAwait(false);
        if (socket is null)
        {
            // The initiator replaces the transport (XEP-0260 §2.7); the session's timer bounds the wait.
            incoming.StartTimer(options.IncomingStreamTimeout);
            return;
        }

        if (!await incoming.ClaimAsync(FileTransferMethod.Socks5Bytestreams).ConfigureAwait(false))
        {
            socket.Dispose();
            return;
        }

        await incoming.ReceiveSocks5Async(socket).ConfigureAwait(false);
    }

    /// <summary>A session-info: a ping, <c>&lt;received/&gt;</c> for our file, or the sender's <c>&lt;checksum/&gt;</c>.</summary>
    public void OnSessionInfo(JingleSession session, XmppElement jingle)
    {
        var payload = jingle.Children.FirstOrDefault(c => c.Namespace != FileTransferNamespaces.Jingle);
        if (payload is null)
        {
            // An empty session-info is a ping (XEP-0166 §6.8).
            return;
        }

        if (payload is { Name: "received", Namespace: FileTransferNamespaces.JingleFileTransfer })
        {
            if (session.WeInitiated)
            {
                session.OnReceived();
            }

            return;
        }

        if (payload is { Name: "checksum", Namespace: FileTransferNamespaces.JingleFileTransfer } && !session.WeInitiated)
        {
            if (payload.Element("file", FileTransferNamespaces.JingleFileTransfer) is { } file && JingleFile.ParseSha256(file) is { } sha256 && session.Incoming is { } incoming)
            {
                if (incoming.Offer.Sha256 is { } announced && announced != sha256)
                {
                    JingleLog.LateChecksumMismatch(logger, session.Sid, session.Peer, announced, sha256);
                }

                incoming.OnChecksum(sha256);
            }

            return;
        }

        throw new XmppStanzaException(new StanzaError("feature-not-implemented", StanzaErrorType.Modify, "Unsupported session-info")
        {
            ApplicationCondition = new XmppElement("unsupported-info", FileTransferNamespaces.JingleErrors),
        });
    }

    /// <summary>The initiator replaces a failed SOCKS5 transport: we accept in-band bytestreams and nothing else.</summary>
    public void OnTransportReplace(JingleSession session, XmppElement jingle)
    {
        var content = jingle.Element("content");
        var element = content?.Element("transport", FileTransferNamespaces.JingleIbb);
        if (session.WeInitiated || session.Incoming is not { } incoming || element is null || !options.ReceiveMethods.Contains(FileTransferMethod.InBandBytestreams))
        {
            var reject = JingleElement.Create(JingleActions.TransportReject, session.Sid, initiator: session.Initiator);
            JingleElement.AddContent(reject, session.ContentName, session.ContentCreator, senders: null).Add(content?.Children.FirstOrDefault(c => c.Name == "transport")?.Clone()
                ?? new XmppElement("transport", FileTransferNamespaces.JingleIbb));
            sessions.AfterAck(session, JingleActions.TransportReject, _ => sessions.SendQuietlyAsync(session, reject));
            return;
        }

        var offered = IbbTransport.Parse(element);
        var accepted = offered with { BlockSize = Math.Min(offered.BlockSize, options.IbbMaxBlockSize) };
        if (!transfers.TryAdd(session.Peer, accepted.Sid, incoming) && !(transfers.TryGet(session.Peer, accepted.Sid, out var known) && ReferenceEquals(known, incoming)))
        {
            throw new XmppStanzaException(new StanzaError("conflict", StanzaErrorType.Cancel, "That stream id is in use"));
        }

        session.DropS5b();
        incoming.StartTimer(options.IncomingStreamTimeout);
        var answer = JingleElement.Create(JingleActions.TransportAccept, session.Sid, initiator: session.Initiator);
        JingleElement.AddContent(answer, session.ContentName, session.ContentCreator, senders: null).Add(accepted.ToElement());
        sessions.AfterAck(session, JingleActions.TransportAccept, _ => sessions.SendQuietlyAsync(session, answer));
    }

    /// <summary>
    /// The transfer received in <paramref name="session"/> ended: tell the sender (<c>&lt;received/&gt;</c> and a
    /// session-terminate with success, or the reason it failed), and report the method as Jingle.
    /// </summary>
    private IncomingFileTransferEventArgs Conclude(JingleSession session, IncomingSession incoming, IncomingFileTransferEventArgs args)
    {
        sessions.Remove(session);
        session.DropS5b();
        if (!session.Terminated.IsCompleted)
        {
            if (args.Succeeded)
            {
                var received = JingleElement.Create(JingleActions.SessionInfo, session.Sid, initiator: session.Initiator);
                var element = received.AddChild("received", FileTransferNamespaces.JingleFileTransfer);
                element.SetAttribute("creator", session.ContentCreator);
                element.SetAttribute("name", session.ContentName);
                sessions.AfterAck(session, JingleActions.SessionTerminate, async _ =>
                {
                    await sessions.SendQuietlyAsync(session, received).ConfigureAwait(false);
                    await sessions.TerminateQuietlyAsync(session, new JingleReason("success")).ConfigureAwait(false);
                });
            }
            else
            {
                var reason = JingleSessions.ReasonFor(args.Error!);
                var told = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                incoming.PeerTold = told.Task;
                sessions.AfterAck(session, JingleActions.SessionTerminate, async _ =>
                {
                    try
                    {
                        await sessions.TerminateQuietlyAsync(session, reason).ConfigureAwait(false);
                    }
                    finally
                    {
                        told.TrySetResult();
                    }
                });
            }
        }

        return new IncomingFileTransferEventArgs(args.Offer, FileTransferMethod.Jingle, args.Path, args.Bytes, args.Sha256, args.Error) { Transport = args.Method };
    }
}
