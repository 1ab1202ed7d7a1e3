using System.Globalization;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp.FileTransfer;

/// <summary>A SOCKS5 streamhost (XEP-0065): its JID and where to connect.</summary>
internal sealed record Streamhost(Jid Jid, string Host, int Port);

/// <summary>Our direct streamhost waiting for one bytestream: the connection to come, and the hosts and port to advertise.</summary>
internal sealed record DirectStreamhost(Socks5Listener.Expectation Expectation, IReadOnlyList<string> Hosts, int Port);

/// <summary>
/// The SOCKS5 streamhosts a sender or receiver can offer, for SI and Jingle alike: our own listener (started on first
/// use) and the server's proxy (found by disco, cached), and the connect-and-activate a proxy needs.
/// </summary>
internal sealed class StreamhostService(XmppEndpoint endpoint, FileTransferOptions options, ILogger logger) : IAsyncDisposable
{
    /// <summary>How long one query to the proxy (its address, the activation) may take; discovery as a whole gets twice that.</summary>
    private static readonly TimeSpan ProxyQueryTimeout = TimeSpan.FromSeconds(10);

    private readonly SemaphoreSlim _listenerLock = new(1, 1);
    private Socks5Listener? _listener;
    private Streamhost? _proxy;

    /// <summary>Starts the listener when needed and expects the bytestream named <paramref name="destination"/> on it.</summary>
    /// <exception cref="FileTransferException">No port of the configured range could be bound.</exception>
    public async Task<DirectStreamhost> ExpectDirectAsync(string destination, CancellationToken cancellationToken)
    {
        var listener = await EnsureListenerAsync(cancellationToken).ConfigureAwait(false);
        return new DirectStreamhost(listener.Expect(destination), listener.AdvertisedHosts(options.Socks5AdvertisedHosts), listener.Port);
    }

    /// <summary>Finds the server's SOCKS5 proxy (disco items of our domain, identity proxy/bytestreams) and asks it for its address; cached once found.</summary>
    public async Task<Streamhost?> GetProxyAsync(Jid self, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _proxy) is { } cached)
        {
            return cached;
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(ProxyQueryTimeout * 2);
        try
        {
            var proxyJid = options.Socks5Proxy;
            if (proxyJid is null)
            {
                foreach (var item in (await endpoint.Disco.QueryItemsAsync(Jid.Create(null, self.Domain), cancellationToken: deadline.Token).ConfigureAwait(false)).Take(32))
                {
                    if (item.Node is not null)
                    {
                        continue;
                    }

                    try
                    {
                        var info = await endpoint.Disco.QueryInfoAsync(item.Jid, cancellationToken: deadline.Token).ConfigureAwait(false);
                        if (info.Identities.Any(i => i.Category == "proxy" && i.Type == "bytestreams"))
                        {
                            proxyJid = item.Jid;
                            break;
                        }
                    }
                    catch (Exception ex) when (ex is XmppStanzaException or TimeoutException)
                    {
                        // A component that is down answers with an error; look at the next item.
                    }
                }
            }

            if (proxyJid is null)
            {
                FileTransferLog.ProxyDiscovery(logger, "the server lists no SOCKS5 proxy");
                return null;
            }

            var reply = await endpoint.SendIqAsync(new Iq(IqType.Get, proxyJid, new XmppElement("query", FileTransferNamespaces.Bytestreams)), ProxyQueryTimeout, deadline.Token).ConfigureAwait(false);
            var streamhost = reply.Payload?.Element("streamhost");
            if (streamhost is null || !Jid.TryParse(streamhost.GetAttribute("jid"), out var jid) || streamhost.GetAttribute("host") is not { Length: > 0 and <= 255 } host
                || !int.TryParse(streamhost.GetAttribute("port"), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            {
                FileTransferLog.ProxyDiscovery(logger, $"{proxyJid} gave no usable streamhost");
                return null;
            }

            var found = new Streamhost(jid, host, port);
            FileTransferLog.ProxyDiscovery(logger, $"{jid} at {host}:{port}");
            Volatile.Write(ref _proxy, found);
            return found;
        }
        catch (Exception ex) when (ex is XmppStanzaException or TimeoutException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            FileTransferLog.ProxyDiscovery(logger, "failed: " + ex.Message);
            return null;
        }
    }

    /// <summary>Connects to a proxy for the bytestream <paramref name="destination"/> and asks it to activate the stream to <paramref name="target"/>.</summary>
    /// <exception cref="FileTransferException">The connection or the activation failed (<see cref="FileTransferError.StreamFailed"/>).</exception>
    public async Task<Socket> ConnectProxyAsync(Streamhost proxy, string destination, Jid target, string sid, CancellationToken cancellationToken)
    {
        Socket socket;
        try
        {
            socket = await Socks5.ConnectAsync(proxy.Host, proxy.Port, destination, options.StreamhostConnectTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new FileTransferException(FileTransferError.StreamFailed, $"Could not connect to the proxy {proxy.Host}:{proxy.Port}: {ex.Message}", ex);
        }

        try
        {
            var activate = new XmppElement("query", FileTransferNamespaces.Bytestreams);
            activate.SetAttribute("sid", sid);
            activate.AddChild("activate", text: target.ToString());
            await endpoint.SendIqAsync(new Iq(IqType.Set, proxy.Jid, activate), ProxyQueryTimeout, cancellationToken).ConfigureAwait(false);
            return socket;
        }
        catch (Exception ex)
        {
            socket.Dispose();
            if (ex is XmppStanzaException or TimeoutException)
            {
                throw new FileTransferException(FileTransferError.StreamFailed, $"The proxy {proxy.Jid} did not activate the stream: {ex.Message}", ex);
            }

            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_listener is { } listener)
        {
            await listener.DisposeAsync().ConfigureAwait(false);
        }

        _listenerLock.Dispose();
    }

    private async Task<Socks5Listener> EnsureListenerAsync(CancellationToken cancellationToken)
    {
        await _listenerLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_listener is null)
            {
                try
                {
                    _listener = Socks5Listener.Start(options.Socks5BindAddress, options.Socks5PortMin, options.Socks5PortMax, logger);
                }
                catch (SocketException ex)
                {
                    throw new FileTransferException(FileTransferError.StreamFailed, $"Could not listen for SOCKS5 on {options.Socks5BindAddress} ports {options.Socks5PortMin}..{options.Socks5PortMax}: {ex.Message}", ex);
                }

                FileTransferLog.ListenerStarted(logger, _listener.Address.ToString(), _listener.Port, string.Join(", ", _listener.AdvertisedHosts(options.Socks5AdvertisedHosts)));
            }

            return _listener;
        }
        finally
        {
            _listenerLock.Release();
        }
    }
}
