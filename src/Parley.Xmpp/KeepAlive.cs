using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp;

/// <summary>
/// Pings the server (XEP-0199) when nothing arrived for the keep-alive interval, and aborts a link that does not answer
/// within it, so a dead connection is noticed and recovered instead of waiting for TCP.
/// </summary>
internal sealed class KeepAlive(XmppSession session, TimeSpan interval)
{
    public async Task RunAsync(CancellationToken lifetime)
    {
        using var timer = new PeriodicTimer(interval / 2);
        try
        {
            while (await timer.WaitForNextTickAsync(lifetime).ConfigureAwait(false))
            {
                if (session.State != XmppConnectionState.Connected || Environment.TickCount64 - session.LastReceivedTicks < interval.TotalMilliseconds)
                {
                    continue;
                }

                var stream = session.CurrentStream;
                try
                {
                    await session.Iqs.RequestAsync(new Iq(IqType.Get, session.ServerAddress, new XmppElement("ping", XmppNamespaces.Ping)), interval, session.SendAsync, lifetime).ConfigureAwait(false);
                }
                catch (XmppStanzaException)
                {
                    // Any answer, even an error, proves the link is alive.
                }
                catch (XmppNotConnectedException)
                {
                    return; // Disconnected since the state was read; there is no link left to test.
                }
                catch (Exception ex) when (ex is TimeoutException or XmppTransportException)
                {
                    Log.KeepAliveFailed(session.Logger, ex.Message);
                    stream?.Abort();
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Disconnected.
        }
    }
}
