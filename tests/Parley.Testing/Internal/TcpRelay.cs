using System.Net;
using System.Net.Sockets;

namespace Parley.Testing.Internal;

/// <summary>
/// Accepts TCP connections on one address and copies their bytes both ways to a target. Lets a client that can only
/// connect to a fixed port (Dino: the domain's SRV record, else port 5222) reach a test server on a free port.
/// </summary>
internal sealed class TcpRelay : IAsyncDisposable
{
    private const int MaxConnections = 32;
    private readonly TcpListener _listener;
    private readonly IPEndPoint _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _connections = [];
    private readonly Action<string> _log;
    private readonly Task _acceptLoop;
    private int _accepted;

    private TcpRelay(TcpListener listener, IPEndPoint target, Action<string> log)
    {
        _listener = listener;
        _target = target;
        _log = log;
        _acceptLoop = AcceptLoopAsync();
    }

    /// <summary>The address and port the relay listens on.</summary>
    public IPEndPoint LocalEndPoint => (IPEndPoint)_listener.LocalEndpoint;

    /// <summary>How many connections were accepted so far.</summary>
    public int Accepted => Volatile.Read(ref _accepted);

    /// <summary>
    /// Listens on a random address of 127.0.0.0/8 (other than 127.0.0.1) at <paramref name="port"/>, so relays of
    /// parallel test runs never collide although the port is fixed.
    /// </summary>
    /// <exception cref="XmppTestServerException">No address could be bound after several tries.</exception>
    public static TcpRelay StartOnRandomLoopback(int port, IPEndPoint target, Action<string> log)
    {
        SocketException? last = null;
        for (var attempt = 0; attempt < 20; attempt++)
        {
            var address = new IPAddress([127, (byte)Random.Shared.Next(100, 200), (byte)Random.Shared.Next(0, 256), (byte)Random.Shared.Next(2, 255)]);
            var listener = new TcpListener(address, port);
            try
            {
                listener.Start(8);
                return new TcpRelay(listener, target, log);
            }
            catch (SocketException e)
            {
                listener.Dispose();
                last = e;
            }
        }

        throw new XmppTestServerException($"Could not listen on any loopback address at port {port}: {last?.Message}", last!);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        await _acceptLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        Task[] open;
        lock (_connections)
        {
            open = [.. _connections];
        }

        await Task.WhenAll(open).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            var number = Interlocked.Increment(ref _accepted);
            if (number > MaxConnections)
            {
                client.Dispose();
                continue;
            }

            lock (_connections)
            {
                _connections.Add(RelayAsync(client, number));
            }
        }
    }

    private async Task RelayAsync(Socket client, int number)
    {
        using (client)
        using (var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true })
        {
            client.NoDelay = true;
            try
            {
                await server.ConnectAsync(_target, _stop.Token).ConfigureAwait(false);
                _log($"relay #{number}: {client.RemoteEndPoint} -> {_target}");
                using var done = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                var up = CopyAsync(client, server, done.Token);
                var down = CopyAsync(server, client, done.Token);
                await Task.WhenAny(up, down).ConfigureAwait(false);
                await done.CancelAsync().ConfigureAwait(false);
                await Task.WhenAll(up, down).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                _log($"relay #{number}: closed");
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                _log($"relay #{number}: {e.Message}");
            }
        }
    }

    private static async Task CopyAsync(Socket from, Socket to, CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await from.ReceiveAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false)) > 0)
            {
                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, cancellationToken).ConfigureAwait(false);
            }

            to.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // One side went away; the other copy is cancelled by the caller.
        }
    }
}
