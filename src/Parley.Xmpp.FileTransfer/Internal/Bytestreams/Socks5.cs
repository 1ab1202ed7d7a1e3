using System.Buffers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Parley.Xmpp.Core;

namespace Parley.Xmpp.FileTransfer;

/// <summary>The SOCKS5 (RFC 1928) subset XEP-0065 uses: no authentication, CONNECT to a domain name that is a hash.</summary>
internal static class Socks5
{
    /// <summary>XEP-0065 §5.3.2: DST.ADDR = hex(SHA1(sid + requester JID + target JID)), lower case.</summary>
    public static string DestinationAddress(string sid, Jid requester, Jid target)
        => Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(sid + requester + target)));

    /// <summary>Connects to a streamhost and asks for the bytestream named by <paramref name="destination"/>.</summary>
    /// <exception cref="IOException">The streamhost refused or answered badly.</exception>
    /// <exception cref="SocketException">The connection failed.</exception>
    /// <exception cref="OperationCanceledException">Timed out or cancelled.</exception>
    public static async Task<Socket> ConnectAsync(string host, int port, string destination, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(host, port, deadline.Token).ConfigureAwait(false);

            // Greeting first, then the request: some proxies (mod_proxy65) do not accept both in one packet.
            await socket.SendAsync(new byte[] { 5, 1, 0 }, SocketFlags.None, deadline.Token).ConfigureAwait(false);
            var reply = new byte[4];
            await ReadExactlyAsync(socket, reply.AsMemory(0, 2), deadline.Token).ConfigureAwait(false);
            if (reply[0] != 5 || reply[1] != 0)
            {
                throw new IOException($"The streamhost refused the SOCKS5 greeting (method {reply[1]}).");
            }

            var request = new byte[4 + 1 + destination.Length + 2];
            request[0] = 5; // CONNECT to a domain name, port 0
            request[1] = 1;
            request[2] = 0;
            request[3] = 3;
            request[4] = (byte)destination.Length;
            Encoding.ASCII.GetBytes(destination, request.AsSpan(5));
            await socket.SendAsync(request, SocketFlags.None, deadline.Token).ConfigureAwait(false);
            await ReadExactlyAsync(socket, reply, deadline.Token).ConfigureAwait(false);
            if (reply[0] != 5 || reply[1] != 0)
            {
                throw new IOException($"The streamhost refused the SOCKS5 CONNECT (reply {reply[1]}).");
            }

            // BND.ADDR and BND.PORT: read and ignore; the length is bounded by the address type.
            var skip = reply[3] switch
            {
                1 => 4 + 2,
                4 => 16 + 2,
                3 => -1,
                _ => throw new IOException($"The streamhost answered with address type {reply[3]}."),
            };
            if (skip < 0)
            {
                await ReadExactlyAsync(socket, reply.AsMemory(0, 1), deadline.Token).ConfigureAwait(false);
                skip = reply[0] + 2;
            }

            var rest = new byte[skip];
            await ReadExactlyAsync(socket, rest, deadline.Token).ConfigureAwait(false);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The streamhost's side: reads a client's greeting, answers it, and reads its request. Only "no authentication" and
    /// CONNECT to a domain name are accepted; anything else is answered with a refusal and gives <see langword="null"/>.
    /// </summary>
    /// <returns>The requested destination (the bytestream's hash), or <see langword="null"/> when the client was refused.</returns>
    /// <exception cref="IOException">The client closed the connection during the handshake.</exception>
    /// <exception cref="SocketException">The connection failed.</exception>
    /// <exception cref="OperationCanceledException">Timed out or cancelled.</exception>
    public static async Task<string?> ReadConnectRequestAsync(Socket client, CancellationToken cancellationToken)
    {
        var buffer = new byte[262];
        await ReadExactlyAsync(client, buffer.AsMemory(0, 2), cancellationToken).ConfigureAwait(false);
        if (buffer[0] != 5 || buffer[1] == 0)
        {
            return null;
        }

        var methods = buffer[1];
        await ReadExactlyAsync(client, buffer.AsMemory(0, methods), cancellationToken).ConfigureAwait(false);
        if (Array.IndexOf(buffer, (byte)0, 0, methods) < 0)
        {
            await client.SendAsync(new byte[] { 5, 0xFF }, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            return null;
        }

        await client.SendAsync(new byte[] { 5, 0 }, SocketFlags.None, cancellationToken).ConfigureAwait(false);
        await ReadExactlyAsync(client, buffer.AsMemory(0, 5), cancellationToken).ConfigureAwait(false);
        if (buffer[0] != 5 || buffer[1] != 1 || buffer[3] != 3)
        {
            await client.SendAsync(new byte[] { 5, 7, 0, 1, 0, 0, 0, 0, 0, 0 }, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            return null;
        }

        var length = buffer[4];
        await ReadExactlyAsync(client, buffer.AsMemory(0, length + 2), cancellationToken).ConfigureAwait(false);
        return Encoding.ASCII.GetString(buffer, 0, length);
    }

    public static async ValueTask ReadExactlyAsync(Socket socket, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (buffer.Length > 0)
        {
            var read = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                throw new IOException("The SOCKS5 peer closed the connection during the handshake.");
            }

            buffer = buffer[read..];
        }
    }
}
