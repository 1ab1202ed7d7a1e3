using System.Net;
using System.Net.Sockets;

namespace Parley.Xmpp.Tests.Client;

/// <summary>A loopback TCP relay in front of a server: lets a test cut the network under a client, as a Wi-Fi drop would.</summary>
internal sealed class TcpRelay : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _targetPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<(TcpClient Inbound, TcpClient Outbound)> _pairs = [];
    private readonly Task _accept;

    public TcpRelay(int targetPort)
    {
        _targetPort = targetPort;
        _listener.Start();
        _accept = Task.Run(AcceptAsync);
    }

    private volatile bool _frozen;

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Stops forwarding bytes without closing anything: a link that went silent (a dead NAT mapping, a sleeping laptop).</summary>
    public void Freeze() => _frozen = true;

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

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        DropAll();
        await _accept;
        _stop.Dispose();
    }
}
