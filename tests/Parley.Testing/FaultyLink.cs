using System.Net;
using System.Net.Sockets;

namespace Parley.Testing;

/// <summary>
/// A loopback TCP relay in front of a server: point a client's <see cref="Parley.Xmpp.XmppClientOptions.Port"/> at
/// <see cref="Port"/>, and the test can cut the network under it (<see cref="DropAll"/>, as a Wi-Fi drop would) or
/// silence it (<see cref="Freeze"/>). Each new connection is relayed normally again.
/// </summary>
public sealed class FaultyLink : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _targetPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<(TcpClient Inbound, TcpClient Outbound)> _pairs = [];
    private readonly Task _accept;
    private volatile bool _frozen;

    /// <summary>Starts relaying connections to <paramref name="targetPort"/> on 127.0.0.1.</summary>
    /// <param name="targetPort">The server's port.</param>
    public FaultyLink(int targetPort)
    {
        _targetPort = targetPort;
        _listener.Start();
        _accept = Task.Run(AcceptAsync);
    }

    /// <summary>A reconnect policy for clients behind a link that tests cut: first try after 0.1 s, never more than 1 s apart.</summary>
    public static Parley.Xmpp.ReconnectPolicy FastReconnect { get; } = new() { InitialDelay = TimeSpan.FromMilliseconds(100), MaxDelay = TimeSpan.FromSeconds(1) };

    /// <summary>The port clients connect to.</summary>
    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Stops forwarding bytes without closing anything: a link that went silent (a dead NAT mapping, a sleeping laptop).</summary>
    public void Freeze() => _frozen = true;

    /// <summary>How many relayed connections are open.</summary>
    public int ConnectionCount
    {
        get
        {
            lock (_pairs)
            {
                return _pairs.Count;
            }
        }
    }

    /// <summary>Resets every relayed connection (both directions) at once.</summary>
    public void DropAll()
    {
        lock (_pairs)
        {
            foreach (var (inbound, outbound) in _pairs)
            {
                inbound.Client.LingerState = new LingerOption(true, 0);
                outbound.Client.LingerState = new LingerOption(true, 0);
                inbound.Dispose();
                outbound.Dispose();
            }

            _pairs.Clear();
        }
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var inbound = await _listener.AcceptTcpClientAsync(_stop.Token);
                _frozen = false; // a new connection gets a working link again
                var outbound = new TcpClient();
                await outbound.ConnectAsync(IPAddress.Loopback, _targetPort, _stop.Token);
                lock (_pairs)
                {
                    _pairs.Add((inbound, outbound));
                }

                _ = PumpAsync(inbound, outbound);
                _ = PumpAsync(outbound, inbound);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task PumpAsync(TcpClient from, TcpClient to)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await from.GetStream().ReadAsync(buffer, _stop.Token);
                if (read == 0)
                {
                    break;
                }

                if (_frozen)
                {
                    continue; // swallowed: neither side hears anything more
                }

                await to.GetStream().WriteAsync(buffer.AsMemory(0, read), _stop.Token);
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or SocketException or InvalidOperationException)
        {
        }

        try
        {
            to.Client.Shutdown(SocketShutdown.Send);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
    }

    /// <summary>Stops listening and resets every relayed connection.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        DropAll();
        await _accept;
        _stop.Dispose();
    }
}
