using Microsoft.Extensions.Logging;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp.FileTransfer;

/// <summary>
/// The Jingle IQ handler, on the dispatch loop: a session-initiate goes to the <see cref="JingleReceiver"/>; every other
/// action to the session it names, which takes it in as its own state (the sender's task waits on that state).
/// </summary>
internal sealed class JingleIqHandler(JingleSessions sessions, JingleReceiver receiver, ILogger logger)
{
    public async ValueTask<XmppElement?> OnJingleAsync(Iq request, CancellationToken cancellationToken)
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
            return receiver.OnSessionInitiate(from, sid, jingle);
        }

        if (!sessions.TryGet(from, sid, out var session))
        {
            throw JingleElement.UnknownSession();
        }

        switch (action)
        {
            case JingleActions.SessionAccept when session.WeInitiated:
                if (!session.OnAccept(jingle))
                {
                    throw JingleElement.OutOfOrder("The session was already accepted.");
                }

                return null;
            case JingleActions.SessionTerminate:
                await OnSessionTerminateAsync(session, JingleReason.Parse(jingle.Element("reason"))).ConfigureAwait(false);
                return null;
            case JingleActions.SessionInfo:
                receiver.OnSessionInfo(session, jingle);
                return null;
            case JingleActions.TransportInfo when session.S5b is { } s5b && jingle.Element("content")?.Element("transport", FileTransferNamespaces.JingleS5b) is { } transport:
                s5b.OnTransportInfo(transport);
                return null;
            case JingleActions.TransportInfo:
                throw new XmppStanzaException(StanzaError.BadRequest("No SOCKS5 transport is being negotiated."));
            case JingleActions.TransportReplace:
                receiver.OnTransportReplace(session, jingle);
                return null;
            case JingleActions.TransportAccept when session.WeInitiated:
                session.OnTransportAnswer(jingle);
                return null;
            case JingleActions.TransportReject when session.WeInitiated:
                session.OnTransportAnswer(null);
                return null;
            case JingleActions.SessionAccept or JingleActions.TransportAccept or JingleActions.TransportReject:
                throw JingleElement.OutOfOrder($"Unexpected {action}.");
            default:
                throw new XmppStanzaException(StanzaError.FeatureNotImplemented($"The Jingle action {action} is not supported here."));
        }
    }

    /// <summary>The peer's session-terminate: the session ends, and so does the transfer we receive in it.</summary>
    private async Task OnSessionTerminateAsync(JingleSession session, JingleReason reason)
    {
        sessions.Remove(session);
        JingleLog.TerminatedByPeer(logger, session.Sid, session.Peer, reason.ToString());
        session.OnTerminated(reason);
        if (session.Incoming is { } incoming)
        {
            // A success from the sender only ends a transfer that already has every byte.
            await (reason.IsSuccess
                ? incoming.CloseByPeerAsync()
                : incoming.FinishAsync(new FileTransferException(FileTransferError.Aborted, $"{session.Peer} ended the session: {reason}."))).ConfigureAwait(false);
        }
    }
}
