using System.Net.Sockets;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp.FileTransfer;

/// <summary>
/// One SOCKS5 transport of a Jingle session: our candidates, the peer's, the candidate each side used, and the
/// nomination of XEP-0260 §2.4 (higher priority wins; on a tie the candidate the initiator used).
/// </summary>
internal sealed class S5bNegotiation(XmppEndpoint endpoint, FileTransferOptions options, StreamhostService streamhosts, ILogger logger, JingleSession session, string sid) : IDisposable
{
    private const int MaxDirectCandidates = 8;

    private readonly TaskCompletionSource<string?> _peerChoice = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<string?> _activation = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IReadOnlyList<S5bCandidate> _remote = [];

    /// <summary>Gathers our candidates for <paramref name="session"/>: the direct streamhost (one candidate per advertised address) and the server's proxy.</summary>
    public static async Task<S5bNegotiation> PrepareAsync(XmppEndpoint endpoint, FileTransferOptions options, StreamhostService streamhosts, ILogger logger,
        JingleSession session, string transportSid, CancellationToken cancellationToken)
    {
        var s5b = new S5bNegotiation(endpoint, options, streamhosts, logger, session, transportSid);
        try
        {
            if (options.EnableDirectSocks5)
            {
                try
                {
                    var direct = await streamhosts.ExpectDirectAsync(s5b.LocalDst, cancellationToken).ConfigureAwait(false);
                    s5b.Direct = direct.Expectation;
                    var preference = 65535;
                    foreach (var host in direct.Hosts.Take(MaxDirectCandidates))
                    {
                        s5b.LocalCandidates.Add(new S5bCandidate(NewCid(), host, direct.Port, session.Self, S5bCandidate.PriorityOf(S5bCandidateType.Direct, preference--), S5bCandidateType.Direct));
                    }
                }
                catch (FileTransferException ex)
                {
                    JingleLog.S5bEvent(logger, session.Sid, session.Peer, "no direct candidate: " + ex.Message);
                }
            }

            if (options.UseServerProxy && await streamhosts.GetProxyAsync(session.Self, cancellationToken).ConfigureAwait(false) is { } proxy)
            {
                var candidate = new S5bCandidate(NewCid(), proxy.Host, proxy.Port, proxy.Jid, S5bCandidate.PriorityOf(S5bCandidateType.Proxy, 65535), S5bCandidateType.Proxy);
                s5b.LocalCandidates.Add(candidate);
                s5b.Proxies[candidate.Cid] = proxy;
            }

            return s5b;
        }
        catch
        {
            s5b.Dispose();
            throw;
        }
    }

    public string Sid => sid;

    /// <summary>The address connections to our candidates name: SHA1(sid + us + peer) (XEP-0260 §2.2).</summary>
    public string LocalDst { get; } = Socks5.DestinationAddress(sid, session.Self, session.Peer);

    /// <summary>The address our connections to the peer's candidates name: SHA1(sid + peer + us) (§2.3), unless the peer gave its own.</summary>
    public string RemoteDst { get; private set; } = Socks5.DestinationAddress(sid, session.Peer, session.Self);

    public List<S5bCandidate> LocalCandidates { get; } = [];

    public Dictionary<string, Streamhost> Proxies { get; } = new(StringComparer.Ordinal);

    public Socks5Listener.Expectation? Direct { get; private set; }

    public string? FailureReason { get; private set; }

    public XmppElement LocalTransport(bool initiator) => new S5bTransport(Sid, LocalDst, LocalCandidates).ToElement(initiator);

    public void SetRemote(S5bTransport transport)
    {
        if (transport.Sid != Sid)
        {
            throw new XmppStanzaException(StanzaError.BadRequest("The SOCKS5 transport sid does not match."));
        }

        _remote = [.. transport.Candidates.OrderByDescending(c => c.Priority)];
        if (transport.DstAddr is { Length: > 0 and <= 255 } dst && dst.All(char.IsAsciiLetterOrDigit))
        {
            RemoteDst = dst;
        }
    }

    /// <summary>Handles a transport-info from the peer (candidate-used, candidate-error, activated, proxy-error).</summary>
    /// <exception cref="XmppStanzaException">A wrong sid, an unknown cid, a second choice, or an unknown notification.</exception>
    public void OnTransportInfo(XmppElement transport)
    {
        if (transport.GetAttribute("sid") != Sid)
        {
            throw new XmppStanzaException(StanzaError.BadRequest("The SOCKS5 transport sid does not match."));
        }

        var info = transport.Children.FirstOrDefault() ?? throw new XmppStanzaException(StanzaError.BadRequest("An empty transport-info."));
        var cid = info.GetAttribute("cid");
        switch (info.Name)
        {
            case "candidate-used" when LocalCandidates.Any(c => c.Cid == cid):
                if (!_peerChoice.TrySetResult(cid))
                {
                    throw new XmppStanzaException(StanzaError.BadRequest("The candidate was already chosen."));
                }

                break;
            case "candidate-used":
                throw new XmppStanzaException(StanzaError.BadRequest("Unknown candidate."));
            case "candidate-error":
                if (!_peerChoice.TrySetResult(null))
                {
                    throw new XmppStanzaException(StanzaError.BadRequest("The candidate was already chosen."));
                }

                break;
            case "activated" when cid is not null:
                _activation.TrySetResult(cid);
                break;
            case "proxy-error":
                _activation.TrySetResult(null);
                break;
            default:
                throw new XmppStanzaException(StanzaError.FeatureNotImplemented($"Unknown transport-info <{info.Name}/>."));
        }
    }

    /// <summary>Connects, tells the peer, and returns the nominated connection; <see langword="null"/> (with <see cref="FailureReason"/>) when none works.</summary>
    public async Task<Socket?> NegotiateAsync(CancellationToken cancellationToken)
    {
        S5bCandidate? used = null;
        Socket? usedSocket = null;
        foreach (var candidate in _remote)
        {
            try
            {
                usedSocket = await Socks5.ConnectAsync(candidate.Host, candidate.Port, RemoteDst, options.StreamhostConnectTimeout, cancellationToken).ConfigureAwait(false);
                used = candidate;
                break;
            }
            catch (Exception ex) when (ex is IOException or SocketException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                FileTransferLog.StreamhostFailed(logger, candidate.Host, candidate.Port, candidate.Jid.ToString(), ex is OperationCanceledException ? "timed out" : ex.Message);
            }
        }

        try
        {
            await SendInfoAsync(used is null ? "candidate-error" : "candidate-used", used?.Cid, cancellationToken).ConfigureAwait(false);
            string? theirs;
            try
            {
                theirs = await _peerChoice.Task.WaitAsync(options.NegotiationTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                return Fail("the peer sent neither candidate-used nor candidate-error");
            }

            var ours = theirs is null ? null : LocalCandidates.First(c => c.Cid == theirs);
            JingleLog.S5bEvent(logger, session.Sid, session.Peer, $"we used {used?.Cid ?? "none"}, the peer used {ours?.Cid ?? "none"}");
            if (used is null && ours is null)
            {
                return Fail($"neither side could connect to a candidate of the other ({_remote.Count} offered to us, {LocalCandidates.Count} by us)");
            }

            // true: the candidate of ours that the peer connected to is nominated.
            var oursWins = used is null || (ours is not null && (ours.Priority != used.Priority ? ours.Priority > used.Priority : !session.WeInitiated));
            if (!oursWins)
            {
                if (used!.Type != S5bCandidateType.Proxy)
                {
                    return Take(ref usedSocket);
                }

                // The peer offered that proxy: it activates the stream and tells us (§2.4).
                string? activated;
                try
                {
                    activated = await _activation.Task.WaitAsync(options.NegotiationTimeout, cancellationToken).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    return Fail("the peer did not activate its proxy in time");
                }

                return activated == used.Cid ? Take(ref usedSocket) : Fail("the peer could not activate its proxy (proxy-error)");
            }

            usedSocket?.Dispose();
            usedSocket = null;
            if (ours!.Type != S5bCandidateType.Proxy)
            {
                try
                {
                    var socket = await Direct!.Connection.WaitAsync(options.StreamhostConnectTimeout, cancellationToken).ConfigureAwait(false);
                    Direct.Taken = true;
                    return socket;
                }
                catch (TimeoutException)
                {
                    return Fail("the peer said it connected to our streamhost, but no connection arrived");
                }
            }

            // Our proxy was nominated: connect to it ourselves, activate, and say so.
            Socket proxied;
            try
            {
                proxied = await streamhosts.ConnectProxyAsync(Proxies[ours.Cid], LocalDst, session.Peer, Sid, cancellationToken).ConfigureAwait(false);
            }
            catch (FileTransferException ex)
            {
                await SendInfoAsync("proxy-error", null, cancellationToken).ConfigureAwait(false);
                return Fail(ex.Message);
            }

            try
            {
                await SendInfoAsync("activated", ours.Cid, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                proxied.Dispose();
                throw;
            }

            return proxied;
        }
        finally
        {
            usedSocket?.Dispose();
        }
    }

    public void Dispose()
    {
        Direct?.Dispose();
        _peerChoice.TrySetCanceled();
        _activation.TrySetCanceled();
    }

    private static Socket Take(ref Socket? socket)
    {
        var taken = socket!;
        socket = null;
        return taken;
    }

    private Socket? Fail(string reason)
    {
        FailureReason = reason;
        JingleLog.S5bEvent(logger, session.Sid, session.Peer, "SOCKS5 failed: " + reason);
        return null;
    }

    private async Task SendInfoAsync(string name, string? cid, CancellationToken cancellationToken)
    {
        var jingle = JingleElement.Create(JingleActions.TransportInfo, session.Sid, initiator: session.Initiator);
        JingleElement.AddContent(jingle, session.ContentName, session.ContentCreator, senders: null).Add(S5bTransport.Info(Sid, name, cid));
        await endpoint.SendIqAsync(new Iq(IqType.Set, session.Peer, jingle), options.NegotiationTimeout, cancellationToken).ConfigureAwait(false);
    }

    private static string NewCid() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
}
