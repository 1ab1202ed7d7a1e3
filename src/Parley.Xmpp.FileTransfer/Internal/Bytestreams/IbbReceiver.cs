using System.Globalization;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp.FileTransfer;

/// <summary>
/// The receiving end of in-band bytestreams (XEP-0047), for SI and Jingle alike: <c>&lt;open/&gt;</c> claims the
/// accepted transfer, <c>&lt;data/&gt;</c> blocks go into it in order (on the dispatch loop: their order matters), and
/// <c>&lt;close/&gt;</c> ends it, or aborts a send of ours (<see cref="IbbSender"/>).
/// </summary>
internal sealed class IbbReceiver(FileTransferOptions options, IncomingTransfers transfers, IbbSender sender)
{
    public async ValueTask<XmppElement?> OnOpenAsync(Iq request, CancellationToken cancellationToken)
    {
        var open = request.Payload!;
        var sid = open.GetAttribute("sid") ?? string.Empty;
        if (request.Type != IqType.Set || request.From is not { } from || !transfers.TryGet(from, sid, out var session)
            || !options.ReceiveMethods.Contains(FileTransferMethod.InBandBytestreams))
        {
            throw new XmppStanzaException(new StanzaError("not-acceptable", StanzaErrorType.Cancel, "No such file offer"));
        }

        if (!int.TryParse(open.GetAttribute("block-size"), NumberStyles.None, CultureInfo.InvariantCulture, out var blockSize) || blockSize < 1)
        {
            throw new XmppStanzaException(StanzaError.BadRequest("Invalid block-size"));
        }

        if (blockSize > options.IbbMaxBlockSize)
        {
            throw new XmppStanzaException(StanzaError.ResourceConstraint($"Blocks of at most {options.IbbMaxBlockSize} bytes"));
        }

        if (open.GetAttribute("stanza") is { } stanza && stanza != "iq")
        {
            throw new XmppStanzaException(StanzaError.FeatureNotImplemented("Only IQ-carried blocks"));
        }

        if (!await session.ClaimAsync(FileTransferMethod.InBandBytestreams, blockSize).ConfigureAwait(false))
        {
            throw new XmppStanzaException(new StanzaError("not-acceptable", StanzaErrorType.Cancel, "The transfer has ended or uses another stream"));
        }

        return null;
    }

    public async ValueTask<XmppElement?> OnDataAsync(Iq request, CancellationToken cancellationToken)
    {
        var data = request.Payload!;
        var sid = data.GetAttribute("sid") ?? string.Empty;
        if (request.Type != IqType.Set || request.From is not { } from || !transfers.TryGet(from, sid, out var session))
        {
            throw new XmppStanzaException(StanzaError.ItemNotFound("No such stream"));
        }

        await session.ReceiveBlockAsync(data, cancellationToken).ConfigureAwait(false);
        return null;
    }

    public async ValueTask<XmppElement?> OnCloseAsync(Iq request, CancellationToken cancellationToken)
    {
        var sid = request.Payload!.GetAttribute("sid") ?? string.Empty;
        if (request.From is not { } from)
        {
            throw new XmppStanzaException(StanzaError.ItemNotFound("No such stream"));
        }

        if (transfers.TryGet(from, sid, out var session))
        {
            await session.CloseByPeerAsync().ConfigureAwait(false);

            // SI (XEP-0096) has no answer after the data but this one: a file that failed its check or could not be stored
            // is refused here, so the sender does not report it delivered. A Jingle sender hears it in session-terminate.
            if (session.ReportsOutcomeOnClose && session.Failure is { Error: FileTransferError.HashMismatch or FileTransferError.StorageFailed } failure)
            {
                throw new XmppStanzaException(failure.Error == FileTransferError.HashMismatch
                    ? StanzaError.NotAcceptable(failure.Message)
                    : StanzaError.ResourceConstraint(failure.Message));
            }

            return null;
        }

        if (await sender.TryAbortAsync(from, sid).ConfigureAwait(false))
        {
            // The receiver aborted our stream.
            return null;
        }

        throw new XmppStanzaException(StanzaError.ItemNotFound("No such stream"));
    }
}
