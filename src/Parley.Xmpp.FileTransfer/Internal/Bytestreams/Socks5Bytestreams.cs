using System.Globalization;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp.FileTransfer;

/// <summary>
/// SOCKS5 bytestreams negotiated in IQs (XEP-0065), as SI uses them: the initiator offers its streamhosts and gets the
/// connection the target chose; the target connects to one and receives into the accepted transfer. (Jingle carries the
/// same connections in its own negotiation, <see cref="S5bNegotiation"/>.)
/// </summary>
internal sealed class Socks5Bytestreams(XmppEndpoint endpoint, FileTransferOptions options, StreamhostService streamhosts, IncomingTransfers transfers, ILogger logger)
{
    private const int MaxStreamhosts = 16;

    /// <summary>Offers our streamhosts to <paramref name="to"/> for stream <paramref name="sid"/> and returns the connection it used.</summary>
    /// <exception cref="FileTransferException">No streamhost to offer, none usable by the target, or no connection (<see cref="FileTransferError.StreamFailed"/>).</exception>
    public async Task<Socket> OpenAsync(Jid self, Jid to, string sid, CancellationToken cancellationToken)
    {
        var destination = Socks5.DestinationAddress(sid, self, to);
        var hosts = new List<Streamhost>();
        DirectStreamhost? direct = null;
        try
        {
            if (options.EnableDirectSocks5)
            {
                direct = await streamhosts.ExpectDirectAsync(destination, cancellationToken).ConfigureAwait(false);
                hosts.AddRange(direct.Hosts.Select(host => new Streamhost(self, host, direct.Port)));
            }

            var proxy = options.UseServerProxy ? await streamhosts.GetProxyAsync(self, cancellationToken).ConfigureAwait(false) : null;
            if (proxy is not null)
            {
                hosts.Add(proxy);
            }

            if (hosts.Count == 0)
            {
                throw new FileTransferException(FileTransferError.StreamFailed, "No SOCKS5 streamhost to offer (direct streamhost disabled and no proxy found).");
            }

            var query = new XmppElement("query", FileTransferNamespaces.Bytestreams);
            query.SetAttribute("sid", sid);
            query.SetAttribute("mode", "tcp");
            foreach (var host in hosts)
            {
                var element = query.AddChild("streamhost");
                element.SetAttribute("jid", host.Jid.ToString());
                element.SetAttribute("host", host.Host);
                element.SetAttribute("port", host.Port.ToString(CultureInfo.InvariantCulture));
            }

            Iq reply;
            try
            {
                reply = await endpoint.SendIqAsync(new Iq(IqType.Set, to, query), options.NegotiationTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (XmppStanzaException ex)
            {
                throw new FileTransferException(FileTransferError.StreamFailed, $"{to} could not use any of the {hosts.Count} streamhosts ({ex.Error}).", ex);
            }
            catch (TimeoutException ex)
            {
                throw new FileTransferException(FileTransferError.StreamFailed, $"{to} did not choose a streamhost in time.", ex);
            }

            var usedJid = reply.Payload?.Element("streamhost-used")?.GetAttribute("jid");
            if (direct is not null && Jid.TryParse(usedJid, out var used) && used == self)
            {
                try
                {
                    var socket = await direct.Expectation.Connection.WaitAsync(options.StreamhostConnectTimeout, cancellationToken).ConfigureAwait(false);
                    direct.Expectation.Taken = true;
                    return socket;
                }
                catch (TimeoutException ex)
                {
                    throw new FileTransferException(FileTransferError.StreamFailed, $"{to} said it connected to our streamhost, but no connection arrived.", ex);
                }
            }

            if (proxy is not null && Jid.TryParse(usedJid, out used) && used == proxy.Jid)
            {
                return await streamhosts.ConnectProxyAsync(proxy, destination, to, sid, cancellationToken).ConfigureAwait(false);
            }

            throw new FileTransferException(FileTransferError.StreamFailed, $"{to} named a streamhost we did not offer ('{usedJid}').");
        }
        finally
        {
            direct?.Expectation.Dispose();
        }
    }

    /// <summary>The deferred handler of a streamhost list (we are the target): connects to the first that works and receives into the transfer.</summary>
    public async ValueTask<XmppElement?> OnStreamhostsAsync(Iq request, CancellationToken cancellationToken)
    {
        var query = request.Payload!;
        if (request.Type != IqType.Set || request.From is not { } from || endpoint.Jid is not { } self)
        {
            throw new XmppStanzaException(StanzaError.FeatureNotImplemented("This entity is not a SOCKS5 proxy."));
        }

        var sid = query.GetAttribute("sid") ?? string.Empty;
        if (!transfers.TryGet(from, sid, out var session) || !options.ReceiveMethods.Contains(FileTransferMethod.Socks5Bytestreams))
        {
            throw new XmppStanzaException(new StanzaError("not-acceptable", StanzaErrorType.Cancel, "No such file offer"));
        }

        if (query.GetAttribute("mode") is { } mode && mode != "tcp")
        {
            throw new XmppStanzaException(StanzaError.FeatureNotImplemented("Only TCP bytestreams"));
        }

        var destination = Socks5.DestinationAddress(sid, from, self);
        foreach (var streamhost in query.Elements("streamhost").Take(MaxStreamhosts))
        {
            var jid = streamhost.GetAttribute("jid");
            var host = streamhost.GetAttribute("host");
            if (!Jid.TryParse(jid, out var hostJid) || host is not { Length: > 0 and <= 255 }
                || !int.TryParse(streamhost.GetAttribute("port") ?? "1080", NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            {
                continue;
            }

            Socket socket;
            try
            {
                socket = await Socks5.ConnectAsync(host, port, destination, options.StreamhostConnectTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or SocketException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                FileTransferLog.StreamhostFailed(logger, host, port, jid!, ex is OperationCanceledException ? "timed out" : ex.Message);
                continue;
            }

            if (!await session.ClaimAsync(FileTransferMethod.Socks5Bytestreams).ConfigureAwait(false))
            {
                socket.Dispose();
                throw new XmppStanzaException(new StanzaError("not-acceptable", StanzaErrorType.Cancel, "The transfer has ended or uses another stream"));
            }

            _ = Task.Run(() => session.ReceiveSocks5Async(socket), CancellationToken.None);
            var used = new XmppElement("query", FileTransferNamespaces.Bytestreams);
            used.SetAttribute("sid", sid);
            used.AddChild("streamhost-used").SetAttribute("jid", hostJid.ToString());
            return used;
        }

        // XEP-0065 §5.3.2; libpurple, and we, then wait a while for an in-band stream with the same sid.
        session.StartTimer(options.IncomingStreamTimeout);
        throw new XmppStanzaException(StanzaError.ItemNotFound("Could not connect to any streamhost"));
    }
}
