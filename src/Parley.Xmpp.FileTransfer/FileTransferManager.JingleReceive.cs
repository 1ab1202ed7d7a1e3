using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp.FileTransfer;

/// <summary>The Jingle IQ handler: offers to us (we are the responder) and the peer's side of our own sessions.</summary>
public sealed partial class FileTransferManager
{
    private async ValueTask<XmppElement?> OnJingleAsync(Iq request, CancellationToken cancellationToken)
    {
        var jingle = request.Payload!;
        var action = jingle.GetAttribute("action");
        var sid = jingle.GetAttribute("sid");
        if (request.Type != IqType.Set || request.From is not { } from || action is null || sid is not { Length: > 0 and <= S5bTransport.MaxSidLength })
        {
            throw new XmppStanzaException(StanzaError.BadRequest("A Jingle request is an IQ set with an action and a sid."));
        }

        if (action == JingleActions.SessionInitiate)
        {
            return OnSessionInitiate(from, sid, jingle);
        }

        if (!_jingle.TryGetValue((from.ToString(), sid), out var session))
        {
            throw JingleElement.UnknownSession();
        }

        switch (action)
        {
            case JingleActions.SessionAccept when session.WeInitiated:
                if (!session.Accepted.TrySetResult(jingle))
                {
                    throw JingleElement.OutOfOrder("The session was already accepted.");
                }

                return null;
            case JingleActions.SessionTerminate:
                await OnSessionTerminateAsync(session, JingleReason.Parse(jingle.Element("reason"))).ConfigureAwait(false);
                return null;
            case JingleActions.SessionInfo:
                OnSessionInfo(session, jingle);
                return null;
            case JingleActions.TransportInfo when session.S5b is { } s5b && jingle.Element("content")?.Element("transport", FileTransferNamespaces.JingleS5b) is { } transport:
                s5b.OnTransportInfo(transport);
                return null;
            case JingleActions.TransportInfo:
                throw new XmppStanzaException(StanzaError.BadRequest("No SOCKS5 transport is being negotiated."));
            case JingleActions.TransportReplace:
                OnTransportReplace(session, jingle);
                return null;
            case JingleActions.TransportAccept when session.WeInitiated:
                session.TransportAnswer.TrySetResult(jingle);
                return null;
            case JingleActions.TransportReject when session.WeInitiated:
                session.TransportAnswer.TrySetResult(null);
                return null;
            case JingleActions.SessionAccept or JingleActions.TransportAccept or JingleActions.TransportReject:
                throw JingleElement.OutOfOrder($"Unexpected {action}.");
            default:
                throw new XmppStanzaException(StanzaError.FeatureNotImplemented($"The Jingle action {action} is not supported here."));
        }
    }

    private XmppElement? OnSessionInitiate(Jid from, string sid, XmppElement jingle)
    {
        if (_jingle.ContainsKey((from.ToString(), sid)))
        {
            throw JingleElement.OutOfOrder("That session already exists.");
        }

        var contents = jingle.Elements("content").Take(2).ToList();
        var self = Volatile.Read(ref _endpoint)?.Jid ?? throw new XmppStanzaException(StanzaError.ServiceUnavailable());
        var content = contents.Count == 1 ? contents[0] : null;
        var description = content?.Element("description", FileTransferNamespaces.JingleFileTransfer);
        var senders = content?.GetAttribute("senders") ?? "both";
        var s5bElement = _options.ReceiveMethods.Contains(FileTransferMethod.Socks5Bytestreams) ? content?.Element("transport", FileTransferNamespaces.JingleS5b) : null;
        var ibbElement = _options.ReceiveMethods.Contains(FileTransferMethod.InBandBytestreams) ? content?.Element("transport", FileTransferNamespaces.JingleIbb) : null;
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
            JingleLog.Refused(_logger, sid, from, reason.ToString());
            AfterAck(session, JingleActions.SessionTerminate, _ => TerminateQuietlyAsync(_endpoint!, session, reason));
            return null;
        }

        if (!_jingle.TryAdd((from.ToString(), sid), session))
        {
            throw JingleElement.OutOfOrder("That session already exists.");
        }

        AfterAck(session, JingleActions.SessionAccept, ct => AnswerOfferAsync(session, file!, s5b, ibb, ct));
        return null;
    }

    /// <summary>Asks the incoming policy (as for SI offers), then accepts with our transport or declines.</summary>
    private async Task AnswerOfferAsync(JingleSession session, JingleFile file, S5bTransport? s5b, IbbTransport? ibb, CancellationToken cancellationToken)
    {
        var endpoint = _endpoint!;
        var transport = s5b is not null ? FileTransferMethod.Socks5Bytestreams : FileTransferMethod.InBandBytestreams;
        var offer = new IncomingFileOffer(session.Peer, session.Sid, file.Name, file.Size, file.Description, file.MediaType, file.Sha256, [FileTransferMethod.Jingle, transport]) { Date = file.Date };
        var decision = await DecideAsync(offer, cancellationToken).ConfigureAwait(false);
        if (!decision.Accepted)
        {
            _jingle.TryRemove(new KeyValuePair<(string, string), JingleSession>((session.Peer.ToString(), session.Sid), session));
            FileTransferLog.OfferDecided(_logger, offer.FileName, offer.Size, session.Peer, offer.Sid, "declined: " + decision.Reason);
            await TerminateQuietlyAsync(endpoint, session, new JingleReason("decline", decision.Reason)).ConfigureAwait(false);
            return;
        }

        var incoming = new IncomingSession(this, offer, decision) { ChecksumFollows = file.HashUsed };
        session.Incoming = incoming;
        _jingleIncoming[incoming] = session;
        if (session.Terminated.Task.IsCompleted || !_incoming.TryAdd((session.Peer.ToString(), session.Sid), incoming))
        {
            // Cancelled while the policy decided, or an SI transfer with the same id: nothing was written yet.
            await incoming.FinishAsync(new FileTransferException(FileTransferError.Aborted, $"{session.Peer} cancelled before the offer was accepted.")).ConfigureAwait(false);
            return;
        }

        incoming.StartTimer(_options.IncomingStreamTimeout);
        XmppElement answer;
        if (ibb is not null)
        {
            var accepted = ibb with { BlockSize = Math.Min(ibb.BlockSize, _options.IbbMaxBlockSize) };
            _incoming.TryAdd((session.Peer.ToString(), accepted.Sid), incoming);
            answer = accepted.ToElement();
        }
        else
        {
            session.S5b = await PrepareS5bAsync(endpoint, session, s5b!.Sid, cancellationToken).ConfigureAwait(false);
            session.S5b.SetRemote(s5b);
            answer = session.S5b.LocalTransport(initiator: false);
        }

        var accept = JingleElement.Create(JingleActions.SessionAccept, session.Sid, responder: session.Self);
        var content = JingleElement.AddContent(accept, session.ContentName, session.ContentCreator);
        content.Add(session.Description.Clone());
        content.Add(answer);
        try
        {
            await endpoint.SendIqAsync(new Iq(IqType.Set, session.Peer, accept), _options.NegotiationTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is XmppStanzaException or TimeoutException)
        {
            await incoming.FinishAsync(new FileTransferException(FileTransferError.StreamFailed, $"{session.Peer} did not take our session-accept: {ex.Message}", ex)).ConfigureAwait(false);
            return;
        }

        FileTransferLog.OfferDecided(_logger, offer.FileName, offer.Size, session.Peer, offer.Sid, $"accepted into {decision.Folder} over Jingle ({transport})");
        if (session.S5b is not { } negotiation)
        {
            return;
        }

        var socket = await negotiation.NegotiateAsync(cancellationToken).ConfigureAwait(false);
        if (socket is null)
        {
            // The initiator replaces the transport (XEP-0260 §2.7); the session's timer bounds the wait.
            incoming.StartTimer(_options.IncomingStreamTimeout);
            return;
        }

        if (!await incoming.ClaimAsync(FileTransferMethod.Socks5Bytestreams).ConfigureAwait(false))
        {
            socket.Dispose();
            return;
        }

        await incoming.ReceiveSocks5Async(socket).ConfigureAwait(false);
    }

    /// <summary>The same checks and policy as for SI offers.</summary>
    private async Task<FileOfferDecision> DecideAsync(IncomingFileOffer offer, CancellationToken cancellationToken)
    {
        if (_disposed)
        {
            return offer.Decline("Not accepting files now");
        }

        if (offer.Size > _options.MaxIncomingFileSize)
        {
            return offer.Decline($"Files larger than {_options.MaxIncomingFileSize} bytes are not accepted");
        }

        if (_incoming.Count >= _options.MaxConcurrentIncoming)
        {
            return offer.Decline("Too many transfers at once");
        }

        if (IncomingPolicy is not { } policy)
        {
            return offer.Decline("No files accepted here");
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_options.PolicyTimeout);
        try
        {
            return await policy(offer, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return offer.Decline("No decision in time");
        }
    }

    private async Task OnSessionTerminateAsync(JingleSession session, JingleReason reason)
    {
        _jingle.TryRemove(new KeyValuePair<(string, string), JingleSession>((session.Peer.ToString(), session.Sid), session));
        JingleLog.TerminatedByPeer(_logger, session.Sid, session.Peer, reason.ToString());
        session.OnTerminated(reason);
        session.S5b?.Dispose();
        if (session.Incoming is { } incoming)
        {
            // A success from the sender only ends a transfer that already has every byte.
            await (reason.IsSuccess
                ? incoming.CloseByPeerAsync()
                : incoming.FinishAsync(new FileTransferException(FileTransferError.Aborted, $"{session.Peer} ended the session: {reason}."))).ConfigureAwait(false);
        }
    }

    private void OnSessionInfo(JingleSession session, XmppElement jingle)
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
                session.ReceivedConfirmation.TrySetResult();
            }

            return;
        }

        if (payload is { Name: "checksum", Namespace: FileTransferNamespaces.JingleFileTransfer } && !session.WeInitiated)
        {
            if (payload.Element("file", FileTransferNamespaces.JingleFileTransfer) is { } file && JingleFile.ParseSha256(file) is { } sha256 && session.Incoming is { } incoming)
            {
                if (incoming.Offer.Sha256 is { } announced && announced != sha256)
                {
                    JingleLog.LateChecksumMismatch(_logger, session.Sid, session.Peer, announced, sha256);
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
    private void OnTransportReplace(JingleSession session, XmppElement jingle)
    {
        var content = jingle.Element("content");
        var element = content?.Element("transport", FileTransferNamespaces.JingleIbb);
        if (session.WeInitiated || session.Incoming is not { } incoming || element is null || !_options.ReceiveMethods.Contains(FileTransferMethod.InBandBytestreams))
        {
            var reject = JingleElement.Create(JingleActions.TransportReject, session.Sid, initiator: session.Initiator);
            JingleElement.AddContent(reject, session.ContentName, session.ContentCreator, senders: null).Add(content?.Children.FirstOrDefault(c => c.Name == "transport")?.Clone()
                ?? new XmppElement("transport", FileTransferNamespaces.JingleIbb));
            AfterAck(session, JingleActions.TransportReject, _ => SendQuietlyAsync(_endpoint!, session, reject));
            return;
        }

        var offered = IbbTransport.Parse(element);
        var accepted = offered with { BlockSize = Math.Min(offered.BlockSize, _options.IbbMaxBlockSize) };
        if (!_incoming.TryAdd((session.Peer.ToString(), accepted.Sid), incoming) && !ReferenceEquals(_incoming.GetValueOrDefault((session.Peer.ToString(), accepted.Sid)), incoming))
        {
            throw new XmppStanzaException(new StanzaError("conflict", StanzaErrorType.Cancel, "That stream id is in use"));
        }

        session.S5b?.Dispose();
        session.S5b = null;
        incoming.StartTimer(_options.IncomingStreamTimeout);
        var answer = JingleElement.Create(JingleActions.TransportAccept, session.Sid, initiator: session.Initiator);
        JingleElement.AddContent(answer, session.ContentName, session.ContentCreator, senders: null).Add(accepted.ToElement());
        AfterAck(session, JingleActions.TransportAccept, _ => SendQuietlyAsync(_endpoint!, session, answer));
    }

    /// <summary>
    /// Called when an incoming transfer ended. For a Jingle one: tell the sender (<c>&lt;received/&gt;</c> and a
    /// session-terminate with success, or the reason it failed), and report the method as Jingle.
    /// </summary>
    private IncomingFileTransferEventArgs OnJingleIncomingEnded(IncomingSession incoming, IncomingFileTransferEventArgs args)
    {
        if (!_jingleIncoming.TryRemove(incoming, out var session))
        {
            return args;
        }

        _jingle.TryRemove(new KeyValuePair<(string, string), JingleSession>((session.Peer.ToString(), session.Sid), session));
        session.S5b?.Dispose();
        if (_endpoint is { } endpoint && !session.Terminated.Task.IsCompleted)
        {
            if (args.Succeeded)
            {
                var received = JingleElement.Create(JingleActions.SessionInfo, session.Sid, initiator: session.Initiator);
                var element = received.AddChild("received", FileTransferNamespaces.JingleFileTransfer);
                element.SetAttribute("creator", session.ContentCreator);
                element.SetAttribute("name", session.ContentName);
                AfterAck(session, JingleActions.SessionTerminate, async _ =>
                {
                    await SendQuietlyAsync(endpoint, session, received).ConfigureAwait(false);
                    await TerminateQuietlyAsync(endpoint, session, new JingleReason("success")).ConfigureAwait(false);
                });
            }
            else
            {
                var reason = ReasonFor(args.Error!);
                var told = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                incoming.PeerTold = told.Task;
                AfterAck(session, JingleActions.SessionTerminate, async _ =>
                {
                    try
                    {
                        await TerminateQuietlyAsync(endpoint, session, reason).ConfigureAwait(false);
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
