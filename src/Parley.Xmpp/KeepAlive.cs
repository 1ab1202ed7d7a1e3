using Parley.Xmpp.Core;

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
                if (session.State != XmppConnectionState.Connected || session.CurrentStream is not { } stream
                    || Environment.TickCount64 - session.LastReceivedTicks < interval.TotalMilliseconds)
                {
                    continue;
                }

                try
                {
                    await session.PingServerAsync(stream, interval, lifetime).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is TimeoutException or XmppTransportException)
                {
                    // A timeout has aborted the stream already; a transport failure is being recovered by the reader.
                    Log.KeepAliveFailed(session.Logger, ex.Message);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Disconnected.
        }
    }
}
