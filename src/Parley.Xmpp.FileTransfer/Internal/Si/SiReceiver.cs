using Microsoft.Extensions.Logging;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp.FileTransfer;

/// <summary>
/// SI file offers to us (XEP-0095/0096): asks the <see cref="OfferGate"/>, and answers with the stream method the
/// sender is to open. The bytes then come through <see cref="Socks5Bytestreams"/> or <see cref="IbbReceiver"/>.
/// </summary>
internal sealed class SiReceiver(FileTransferOptions options, OfferGate gate, IncomingTransfers transfers, ILogger logger)
{
    /// <summary>The deferred handler of an SI offer: runs off the dispatch loop, answered when the policy decided.</summary>
    public async ValueTask<XmppElement?> OnOfferAsync(Iq request, CancellationToken cancellationToken)
    {
        if (request.Type != IqType.Set || request.From is not { } from)
        {
            throw new XmppStanzaException(StanzaError.BadRequest("An SI offer is an IQ set."));
        }

        var parsed = SiFileOffer.Parse(request.Payload!);
        var methods = options.ReceiveMethods.Where(parsed.Methods.Contains).ToArray();
        var offer = new IncomingFileOffer(from, parsed.Sid, parsed.Name, parsed.Size, parsed.Description, parsed.MimeType, parsed.Sha256, parsed.Methods);
        if (methods.Length == 0)
        {
            FileTransferLog.OfferDecided(logger, offer.FileName, offer.Size, from, offer.Sid, "no common stream method");
            throw SiFileOffer.NoValidStreams();
        }

        if (gate.Refusal(offer) is null && transfers.Contains(from, parsed.Sid))
        {
            throw InUse();
        }

        var decision = await gate.DecideAsync(offer, cancellationToken).ConfigureAwait(false);
        if (!decision.Accepted)
        {
            FileTransferLog.OfferDecided(logger, offer.FileName, offer.Size, from, offer.Sid, "declined: " + decision.Reason);
            throw new XmppStanzaException(new StanzaError("forbidden", StanzaErrorType.Cancel, decision.Reason));
        }

        var session = transfers.Create(offer, decision);
        if (!transfers.TryAdd(from, parsed.Sid, session))
        {
            session.Dispose();
            throw InUse();
        }

        session.StartTimer(options.IncomingStreamTimeout);
        FileTransferLog.OfferDecided(logger, offer.FileName, offer.Size, from, offer.Sid, $"accepted into {decision.Folder} over {methods[0]}");
        return SiFileOffer.Answer(methods[0]);
    }

    private static XmppStanzaException InUse() => new(new StanzaError("conflict", StanzaErrorType.Cancel, "That stream id is in use"));
}
