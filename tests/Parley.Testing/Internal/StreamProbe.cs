using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Parley.Testing.Internal;

/// <summary>Readiness checks: a server is ready when it answers a client stream header with its features.</summary>
internal static class StreamProbe
{
    private const int MaxReplyBytes = 64 * 1024;
    private static readonly byte[] s_featuresEnd = "</stream:features>"u8.ToArray();

    /// <summary>
    /// Opens a c2s stream to <paramref name="domain"/> on 127.0.0.1:<paramref name="port"/> and reports whether
    /// <c>&lt;/stream:features&gt;</c> arrived within <paramref name="attemptTimeout"/>. Connection errors count as "not yet".
    /// </summary>
    public static async Task<bool> AnswersWithFeaturesAsync(int port, string domain, TimeSpan attemptTimeout, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(attemptTimeout);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout.Token).ConfigureAwait(false);
            var header = $"<?xml version='1.0'?><stream:stream to='{domain}' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";
            await socket.SendAsync(Encoding.UTF8.GetBytes(header), SocketFlags.None, timeout.Token).ConfigureAwait(false);
            var buffer = new byte[MaxReplyBytes];
            var filled = 0;
            while (filled < buffer.Length)
            {
                var read = await socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, timeout.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    return false;
                }

                filled += read;
                if (buffer.AsSpan(0, filled).IndexOf(s_featuresEnd) >= 0)
                {
                    return true;
                }
            }

            return false;
        }
        catch (SocketException)
        {
            return false;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false; // This attempt timed out.
        }
    }

    /// <summary>Whether something accepts TCP connections on 127.0.0.1:<paramref name="port"/>.</summary>
    public static async Task<bool> AcceptsAsync(int port, CancellationToken cancellationToken)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
