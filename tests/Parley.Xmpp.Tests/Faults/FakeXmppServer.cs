using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Parley.Xmpp.Tests.Faults;

/// <summary>
/// A scripted server for faults a real server cannot be made to produce (malformed XML, entity bombs,
/// a close in the middle of a stanza). It speaks just enough XEP-0114 or c2s to get a connection
/// established, then runs the test's script against the raw socket.
/// </summary>
internal sealed class FakeXmppServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Func<FakeXmppServer, NetworkStream, CancellationToken, Task> _script;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;

    public FakeXmppServer(Func<FakeXmppServer, NetworkStream, CancellationToken, Task> script)
    {
        _script = script;
        _listener.Start();
        _acceptLoop = Task.Run(AcceptAsync);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Bytes received from the client, for transcript assertions.</summary>
    public StringBuilder Received { get; } = new();

    private async Task AcceptAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var socket = await _listener.AcceptTcpClientAsync(_stop.Token);
                _ = Task.Run(async () =>
                {
                    using (socket)
                    {
                        try
                        {
                            await _script(this, socket.GetStream(), _stop.Token);
                        }
                        catch (Exception ex) when (ex is IOException or OperationCanceledException or SocketException or ObjectDisposedException)
                        {
                            // The client went away; that is what many fault tests provoke.
                        }
                    }
                });
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Reads until <paramref name="marker"/> appeared in what the client sent.</summary>
    public async Task ExpectAsync(NetworkStream stream, string marker, CancellationToken cancellationToken)
    {
        var buffer = new byte[4096];
        while (!Received.ToString().Contains(marker, StringComparison.Ordinal))
        {
            var read = await stream.ReadAsync(buffer, cancellationToken);
            if (read == 0)
            {
                throw new IOException("client closed");
            }

            Received.Append(Encoding.UTF8.GetString(buffer, 0, read));
        }
    }

    /// <summary>Completes the XEP-0114 opening: reads the client's header, sends ours, accepts any handshake.</summary>
    public async Task AcceptComponentAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        await ExpectAsync(stream, "<stream:stream", cancellationToken);
        await SendAsync(stream, "<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' id='fake-1' from='fake.test'>", cancellationToken);
        await ExpectAsync(stream, "</handshake>", cancellationToken);
        await SendAsync(stream, "<handshake/>", cancellationToken);
    }

    public static async Task SendAsync(NetworkStream stream, string text, CancellationToken cancellationToken) => await SendAsync(stream, Encoding.UTF8.GetBytes(text), cancellationToken);

    public static async Task SendAsync(NetworkStream stream, byte[] bytes, CancellationToken cancellationToken)
    {
        await stream.WriteAsync(bytes, cancellationToken);
        await stream.FlushAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _acceptLoop;
        _stop.Dispose();
    }
}
