using Microsoft.Extensions.Logging;
using Parley.Xmpp.Core;
using Parley.Xmpp.Im;
using Parley.Xmpp.Stanzas;

namespace Parley.Xmpp.FileTransfer;

/// <summary>Asks what the receiver announces (caps or disco), then lets <see cref="SendPlan"/> choose the methods.</summary>
internal sealed class SendPlanner(XmppEndpoint endpoint, ILogger logger)
{
    /// <exception cref="FileTransferException">No method is possible.</exception>
    /// <exception cref="ArgumentException"><paramref name="to"/> is a bare JID and the endpoint is a component.</exception>
    public async Task<IReadOnlyList<SendStep>> PlanAsync(Jid to, IReadOnlyList<FileTransferMethod> methods, string name, CancellationToken cancellationToken)
    {
        var receiver = await DiscoverAsync(to, methods, cancellationToken).ConfigureAwait(false);
        return SendPlan.Create(to, methods, receiver, name, logger);
    }

    private async Task<ReceiverFeatures> DiscoverAsync(Jid to, IReadOnlyList<FileTransferMethod> methods, CancellationToken cancellationToken)
    {
        var allowJingle = methods.Contains(FileTransferMethod.Jingle);
        var allowSi = methods.Any(m => SendPlan.FamilyOf(m) == FileTransferMethod.Socks5Bytestreams);
        var allowHttp = methods.Contains(FileTransferMethod.HttpUpload);
        if (!allowJingle && !allowSi)
        {
            return ReceiverFeatures.Unknown;
        }

        if (to.IsBare)
        {
            if (endpoint is not XmppClient client)
            {
                throw new ArgumentException("Files go to a full JID (one client) when sending from a component.", nameof(to));
            }

            var online = await client.Capabilities.GetResourcesInfoAsync(to, cancellationToken).ConfigureAwait(false);
            return new ReceiverFeatures([.. online.Select(r => (r.Resource, (DiscoInfo?)r.Info))], DiscoDone: true);
        }

        if (!allowJingle && !allowHttp)
        {
            // Only SI: it goes to the address as given, announced or not.
            return new ReceiverFeatures([(to, null)], DiscoDone: false);
        }

        DiscoInfo? info = null;
        try
        {
            info = endpoint is XmppClient client
                ? await client.Capabilities.GetInfoAsync(to, cancellationToken).ConfigureAwait(false)
                : await endpoint.Disco.QueryInfoAsync(to, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is XmppStanzaException or TimeoutException)
        {
            JingleLog.ResourceSkipped(logger, to, "disco failed: " + ex.Message);
        }

        return new ReceiverFeatures([(to, info)], DiscoDone: true);
    }
}
