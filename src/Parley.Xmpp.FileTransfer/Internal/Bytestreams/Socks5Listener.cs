using System.Collections.Concurrent;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Parley.Xmpp.FileTransfer;

/// <summary>
/// Our own SOCKS5 streamhost (XEP-0065 §5.3.2, direct connection): accepts a receiver's connection, checks that its
/// CONNECT names a bytestream we expect, and hands the socket to the waiting sender.
/// </summary>
internal sealed class Socks5Listener : IAsyncDisposable
{
    private const int MaxHandshakes = 32;
    private static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(10);

    private readonly Socket _socket;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, TaskCompletionSource<Socket>> _expected = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _handshakes = new(MaxHandshakes, MaxHandshakes);
    private readonly Task _acceptLoop;

    private Socks5Listener(Socket socket, ILogger logger)
    {
        _socket = socket;
        _logger = logger;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    public int Port => ((IPEndPoint)_socket.LocalEndPoint!).Port;

    public IPAddress Address => ((IPEndPoint)_socket.LocalEndPoint!).Address;

    /// <exception cref="SocketException">No port of the range was free.</exception>
    public static Socks5Listener Start(IPAddress address, int portMin, int portMax, ILogger logger)
    {
        SocketException? last = null;
        for (var port = portMin; port <= portMax; port++)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                socket.Bind(new IPEndPoint(address, port));
                socket.Listen(64);
                return new Socks5Listener(socket, logger);
            }
            catch (SocketException ex)
            {
                socket.Dispose();
                last = ex;
            }
        }

        throw last ?? new SocketException((int)SocketError.AddressAlreadyInUse);
    }

    /// <summary>The hosts to offer: the configured ones, else the bound address, else every IPv4 address of the machine (loopback last).</summary>
    public IReadOnlyList<string> AdvertisedHosts(IList<string> configured)
    {
        if (configured.Count > 0)
        {
            return [.. configured];
        }

        if (!Address.Equals(IPAddress.Any) && !Address.Equals(IPAddress.IPv6Any))
        {
            return [Address.ToString()];
        }

        var hosts = new List<string>();
        foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
        {
            if (nic.OperationalStatus != OperationalStatus.Up || nic.NetworkInterfaceType == NetworkInterfaceType.Loopback)
            {
                continue;
            }

            foreach (var unicast in nic.GetIPProperties().UnicastAddresses)
            {
                if (unicast.Address.AddressFamily == AddressFamily.InterNetwork)
                {
                    hosts.Add(unicast.Address.ToString());
                }
            }
        }

        hosts.Add(IPAddress.Loopback.ToString());
        return hosts;
    }

    /// <summary>Expects a connection for a bytestream; dispose the result to stop expecting it.</summary>
    public Expectation Expect(string destination)
    {
        var completion = new TaskCompletionSource<Socket>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_expected.TryAdd(destination, completion))
        {
            throw new InvalidOperationException("That bytestream is already expected.");
        }

        return new Expectation(completion, () => _expected.TryRemove(new KeyValuePair<string, TaskCompletionSource<Socket>>(destination, completion)));
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _socket.Dispose();
        await _acceptLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        foreach (var pending in _expected.Values)
        {
            pending.TrySetCanceled();
        }

        _stop.Dispose();
        _handshakes.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _socket.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException && _stop.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException ex)
            {
                FileTransferLog.Socks5AcceptFailed(_logger, ex.Message);
                continue;
            }

            if (!_handshakes.Wait(0))
            {
                // Too many half-open connections: a flood, not receivers.
                client.Dispose();
                continue;
            }

            _ = Task.Run(() => HandshakeAsync(client));
        }
    }

    private async Task HandshakeAsync(Socket client)
    {
        var handedOver = false;
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            deadline.CancelAfter(HandshakeTimeout);
            client.NoDelay = true;
            var destination = await Socks5.ReadConnectRequestAsync(client, deadline.Token).ConfigureAwait(false);
            if (destination is null)
            {
                return;
            }

            if (!_expected.TryGetValue(destination, out var waiting) || waiting.Task.IsCompleted)
            {
                // Not ours, or a second connection for a stream that already has one.
                await client.SendAsync(new byte[] { 5, 4, 0, 1, 0, 0, 0, 0, 0, 0 }, SocketFlags.None, deadline.Token).ConfigureAwait(false);
                return;
            }

            var reply = new byte[7 + destination.Length];
            reply[0] = 5;
            reply[3] = 3;
            reply[4] = (byte)destination.Length;
            Encoding.ASCII.GetBytes(destination, reply.AsSpan(5));
            await client.SendAsync(reply, SocketFlags.None, deadline.Token).ConfigureAwait(false);
            handedOver = waiting.TrySetResult(client);
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            FileTransferLog.Socks5HandshakeFailed(_logger, ex.Message);
        }
        finally
        {
            if (!handedOver)
            {
                client.Dispose();
            }

            _handshakes.Release();
        }
    }

    /// <summary>One expected bytestream: the connection when it comes; disposing stops the wait (<paramref name="stopExpecting"/>).</summary>
    public sealed class Expectation(TaskCompletionSource<Socket> completion, Action stopExpecting) : IDisposable
    {
        public Task<Socket> Connection => completion.Task;

        public void Dispose()
        {
            stopExpecting();

            // A connection nobody took: close it.
            if (!completion.TrySetCanceled() && completion.Task.IsCompletedSuccessfully && !Taken)
            {
                completion.Task.Result.Dispose();
            }
        }

        public bool Taken { get; set; }
    }
}
