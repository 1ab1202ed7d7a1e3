using System.Net;
using System.Net.Sockets;
using Parley.Xmpp.Core;
using Parley.Xmpp.FileTransfer;

namespace Parley.Fuzz.Targets;

/// <summary>
/// Both sides of the SOCKS5 handshake of XEP-0065 over real loopback TCP: the input is what a receiver sends to our
/// streamhost (greeting and CONNECT request), and also what a streamhost answers our connection (method choice, reply
/// and bound address). The peer sends the input whole and then closes its side, so every read ends. Only the first
/// <see cref="MaxInputBytes"/> are sent (a handshake is at most 262 bytes each way), so a send never waits for a reader.
/// </summary>
/// <remarks>
/// Clear errors: <see cref="IOException"/> (refused, or the peer closed mid-handshake) and <see cref="SocketException"/>.
/// A timeout is a finding: the peer has always closed, so a handshake still waiting is waiting for nothing.
/// </remarks>
internal sealed class Socks5Target : FuzzTarget
{
    private const int MaxInputBytes = 4096;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private static readonly string Destination = Socks5.DestinationAddress("fuzz-sid", Jid.Parse("romeo@montague.example/orchard"), Jid.Parse("juliet@capulet.example/balcony"));
    private static readonly Lazy<Socket> Listener = new(StartListener);

    public override string Name => "socks5";

    public override string Description => "SOCKS5 handshake: the streamhost reading a request, the client reading a reply";

    protected override void Feed(byte[] input)
    {
        input = input.Length > MaxInputBytes ? input[..MaxInputBytes] : input;
        ReadAsStreamhost(input).GetAwaiter().GetResult();
        ReadAsClient(input).GetAwaiter().GetResult();
    }

    protected override bool IsClearError(Exception exception) => exception is IOException or SocketException;

    private static async Task ReadAsStreamhost(byte[] input)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        using var peer = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var connecting = peer.ConnectAsync(Listener.Value.LocalEndPoint!, timeout.Token);
        using var accepted = await Listener.Value.AcceptAsync(timeout.Token);
        await connecting;
        await SendAndCloseAsync(peer, input, timeout.Token);
        try
        {
            _ = await Socks5.ReadConnectRequestAsync(accepted, timeout.Token);
        }
        catch (OperationCanceledException e)
        {
            throw new FuzzFindingException($"The streamhost side still waited after the peer closed: {e.Message}");
        }
    }

    private static async Task ReadAsClient(byte[] input)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        var endpoint = (IPEndPoint)Listener.Value.LocalEndPoint!;
        var connecting = Socks5.ConnectAsync(endpoint.Address.ToString(), endpoint.Port, Destination, Timeout, timeout.Token);
        using var accepted = await Listener.Value.AcceptAsync(timeout.Token);
        await SendAndCloseAsync(accepted, input, timeout.Token);
        try
        {
            using var socket = await connecting;
        }
        catch (OperationCanceledException e)
        {
            throw new FuzzFindingException($"The client side still waited after the streamhost closed: {e.Message}");
        }
    }

    private static async Task SendAndCloseAsync(Socket socket, byte[] input, CancellationToken cancellationToken)
    {
        if (input.Length > 0)
        {
            await socket.SendAsync(input, SocketFlags.None, cancellationToken);
        }

        socket.Shutdown(SocketShutdown.Send);
    }

    private static Socket StartListener()
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        socket.Listen(8);
        return socket;
    }
}
