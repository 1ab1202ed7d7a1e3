using System.Buffers.Binary;
using System.Collections;
using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Security.Cryptography;
using Parley.Xmpp.Core;

namespace Parley.Xmpp.Net;

/// <summary>A DNS SRV record (RFC 2782).</summary>
internal readonly record struct SrvRecord(string Target, int Port, int Priority, int Weight);

/// <summary>
/// The outcome of an SRV lookup: the records in the order to try them. Empty with
/// <see cref="IsServiceUnavailable"/> false means "no SRV records" (NXDOMAIN or none of that type): fall back
/// to the domain and the default port. <see cref="IsServiceUnavailable"/> true means the domain published a
/// single record with target "." (RFC 2782): the service is decidedly not offered, do not fall back.
/// </summary>
internal sealed class SrvLookupResult : IReadOnlyList<SrvRecord>
{
    public static readonly SrvLookupResult NoRecords = new([], isServiceUnavailable: false);
    public static readonly SrvLookupResult ServiceUnavailable = new([], isServiceUnavailable: true);

    private readonly IReadOnlyList<SrvRecord> _records;

    public SrvLookupResult(IReadOnlyList<SrvRecord> records, bool isServiceUnavailable = false)
    {
        _records = records;
        IsServiceUnavailable = isServiceUnavailable;
    }

    public bool IsServiceUnavailable { get; }

    public int Count => _records.Count;

    public SrvRecord this[int index] => _records[index];

    public IEnumerator<SrvRecord> GetEnumerator() => _records.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>
/// A stub resolver for SRV records: asks the configured recursive name servers over UDP (a fresh socket,
/// so a fresh kernel-randomised source port, and a cryptographically random id per query), falls back to
/// TCP when the answer is truncated, and tries each server in turn for the configured number of attempts.
/// A datagram from another address, with another id or for another question is ignored (spoofing), a
/// malformed answer or a server failure moves on to the next server; when every try failed,
/// <see cref="ResolveAsync"/> throws <see cref="XmppTransportException"/>.
/// </summary>
internal sealed class SrvResolver
{
    public const string ResolvConfPath = "/etc/resolv.conf";
    private const int DnsPort = 53;
    private const int MaxServers = 3; // as glibc: further nameserver lines are ignored
    private const int MaxUdpMessage = 4096;
    private static readonly TimeSpan MaxTimeout = TimeSpan.FromSeconds(30);

    private readonly IReadOnlyList<IPEndPoint> _servers;
    private readonly TimeSpan _timeout;
    private readonly int _attempts;
    private readonly Random _random;

    /// <summary>Creates a resolver that asks the given servers.</summary>
    /// <param name="servers">The recursive name servers, tried in order.</param>
    /// <param name="timeout">How long to wait for one server's answer (per try, per transport).</param>
    /// <param name="attempts">How many rounds over all servers.</param>
    /// <param name="random">The source for the weighted ordering (RFC 2782); <see cref="Random.Shared"/> if null.</param>
    /// <exception cref="ArgumentException">No server, a non-positive timeout or attempts outside 1..5.</exception>
    public SrvResolver(IReadOnlyList<IPEndPoint> servers, TimeSpan timeout, int attempts = 1, Random? random = null)
    {
        if (servers.Count == 0)
            throw new ArgumentException("At least one name server is needed.", nameof(servers));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(timeout, MaxTimeout);
        ArgumentOutOfRangeException.ThrowIfLessThan(attempts, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(attempts, 5);
        _servers = [.. servers];
        _timeout = timeout;
        _attempts = attempts;
        _random = random ?? Random.Shared;
    }

    public IReadOnlyList<IPEndPoint> Servers => _servers;

    public TimeSpan Timeout => _timeout;

    public int Attempts => _attempts;

    /// <summary>Creates a resolver from /etc/resolv.conf, or from the network interfaces' DNS servers where that file does not exist.</summary>
    public static SrvResolver FromSystemConfiguration()
    {
        if (File.Exists(ResolvConfPath))
            return ParseResolvConf(File.ReadAllText(ResolvConfPath));
        var servers = NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == OperationalStatus.Up)
            .SelectMany(n => n.GetIPProperties().DnsAddresses)
            .Distinct()
            .Take(MaxServers)
            .Select(a => new IPEndPoint(a, DnsPort))
            .ToList();
        return new SrvResolver(servers.Count > 0 ? servers : [new IPEndPoint(IPAddress.Loopback, DnsPort)], TimeSpan.FromSeconds(5), 2);
    }

    /// <summary>
    /// Reads resolv.conf(5): up to three <c>nameserver</c> lines (IPv4 or IPv6) and <c>options timeout:N attempts:N</c>,
    /// clamped to 1..30 seconds and 1..5; glibc's defaults (127.0.0.1, 5 s, 2 attempts) where absent.
    /// </summary>
    internal static SrvResolver ParseResolvConf(string text, Random? random = null)
    {
        var servers = new List<IPEndPoint>();
        int timeoutSeconds = 5, attempts = 2;
        foreach (var line in text.Split('\n'))
        {
            var words = line.Split([' ', '\t', '\r'], StringSplitOptions.RemoveEmptyEntries);
            if (words.Length < 2)
                continue;
            if (words[0] == "nameserver" && servers.Count < MaxServers && IPAddress.TryParse(words[1], out var address))
                servers.Add(new IPEndPoint(address, DnsPort));
            else if (words[0] == "options")
            {
                foreach (var option in words.AsSpan(1))
                {
                    if (option.StartsWith("timeout:", StringComparison.Ordinal) && int.TryParse(option.AsSpan(8), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
                        timeoutSeconds = Math.Clamp(seconds, 1, (int)MaxTimeout.TotalSeconds);
                    else if (option.StartsWith("attempts:", StringComparison.Ordinal) && int.TryParse(option.AsSpan(9), NumberStyles.None, CultureInfo.InvariantCulture, out var count))
                        attempts = Math.Clamp(count, 1, 5);
                }
            }
        }
        if (servers.Count == 0)
            servers.Add(new IPEndPoint(IPAddress.Loopback, DnsPort));
        return new SrvResolver(servers, TimeSpan.FromSeconds(timeoutSeconds), attempts, random);
    }

    /// <summary>Looks up the SRV records of <paramref name="service"/> (e.g. <c>_xmpp-client._tcp</c>) at <paramref name="domain"/>.</summary>
    /// <returns>The records in the order to try them (RFC 2782), see <see cref="SrvLookupResult"/> for the empty cases.</returns>
    /// <exception cref="ArgumentException">The service or the domain is not a valid DNS name (the domain is converted with IDNA first).</exception>
    /// <exception cref="XmppTransportException">No server gave a usable answer (timeouts, network errors, server failures, malformed answers); transient.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<SrvLookupResult> ResolveAsync(string service, string domain, CancellationToken cancellationToken)
    {
        var name = QueryName(service, domain);
        var encodedName = DnsMessage.EncodeName(name);
        var problem = "no server was tried";
        Exception? cause = null;
        for (var attempt = 0; attempt < _attempts; attempt++)
        {
            foreach (var server in _servers)
            {
                try
                {
                    var response = await QueryAsync(server, name, encodedName, cancellationToken).ConfigureAwait(false);
                    if (response.ResponseCode == DnsMessage.ResponseCodeNameError)
                        return SrvLookupResult.NoRecords;
                    if (response.ResponseCode == DnsMessage.ResponseCodeNoError)
                        return ToResult(response.Records);
                    (problem, cause) = ($"{server} answered with response code {response.ResponseCode}", null);
                }
                catch (Exception e) when (e is SocketException or IOException or DnsFormatException or TimeoutException)
                {
                    (problem, cause) = ($"{server}: {e.Message}", e);
                }
            }
        }
        throw new XmppTransportException($"The DNS lookup of the SRV records of {name} failed ({problem}).", isTransient: true, cause);
    }

    /// <summary>Puts the records in the order to try them: priority ascending, weighted random within a priority (RFC 2782).</summary>
    internal static List<SrvRecord> Order(IEnumerable<SrvRecord> records, Random random)
    {
        var ordered = new List<SrvRecord>();
        foreach (var group in records.GroupBy(r => r.Priority).OrderBy(g => g.Key))
        {
            // "Arrange in any order, zero weights first": shuffled, so that equal (e.g. all zero) weights share the load;
            // a zero-weight record is then chosen only when the random number is 0.
            var shuffled = group.ToArray();
            random.Shuffle(shuffled);
            var pending = shuffled.OrderBy(r => r.Weight == 0 ? 0 : 1).ToList();
            while (pending.Count > 0)
            {
                var pick = random.NextInt64(pending.Sum(r => (long)r.Weight) + 1);
                var index = 0;
                var runningSum = (long)pending[0].Weight;
                while (runningSum < pick)
                    runningSum += pending[++index].Weight;
                ordered.Add(pending[index]);
                pending.RemoveAt(index);
            }
        }
        return ordered;
    }

    private SrvLookupResult ToResult(IReadOnlyList<SrvRecord> records)
    {
        if (records.Count == 0)
            return SrvLookupResult.NoRecords;
        if (records.All(r => r.Target == "."))
            return SrvLookupResult.ServiceUnavailable;
        return new SrvLookupResult(Order(records.Where(r => r.Target != "."), _random));
    }

    private static string QueryName(string service, string domain)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(service);
        ArgumentException.ThrowIfNullOrWhiteSpace(domain);
        if (!service.StartsWith('_') || service.EndsWith('.'))
            throw new ArgumentException($"'{service}' is not a service name such as _xmpp-client._tcp.", nameof(service));
        var ascii = new IdnMapping().GetAscii(domain.EndsWith('.') ? domain[..^1] : domain);
        return $"{service}.{ascii}";
    }

    private async Task<DnsResponse> QueryAsync(IPEndPoint server, string name, byte[] encodedName, CancellationToken cancellationToken)
    {
        var response = await WithTimeoutAsync(server, t => QueryUdpAsync(server, name, encodedName, t), cancellationToken).ConfigureAwait(false);
        if (response.IsTruncated)
            response = await WithTimeoutAsync(server, t => QueryTcpAsync(server, name, encodedName, t), cancellationToken).ConfigureAwait(false);
        return response;
    }

    private async Task<DnsResponse> WithTimeoutAsync(IPEndPoint server, Func<CancellationToken, Task<DnsResponse>> query, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        try
        {
            return await query(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"{server} did not answer within {_timeout.TotalSeconds:0.###} s.");
        }
    }

    private static async Task<DnsResponse> QueryUdpAsync(IPEndPoint server, string name, byte[] encodedName, CancellationToken cancellationToken)
    {
        var id = (ushort)RandomNumberGenerator.GetInt32(ushort.MaxValue + 1);
        var query = DnsMessage.BuildQuery(id, encodedName);
        using var socket = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        // Port 0: the kernel picks a random ephemeral port. Connecting makes it drop other senders and report ICMP errors.
        socket.Bind(new IPEndPoint(server.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0));
        await socket.ConnectAsync(server, cancellationToken).ConfigureAwait(false);
        await socket.SendAsync(query, SocketFlags.None, cancellationToken).ConfigureAwait(false);
        var buffer = new byte[MaxUdpMessage];
        while (true)
        {
            var received = await socket.ReceiveFromAsync(buffer, SocketFlags.None, server, cancellationToken).ConfigureAwait(false);
            if (received.RemoteEndPoint.Equals(server)
                && DnsMessage.TryParseResponse(buffer.AsSpan(0, received.ReceivedBytes), id, name, out var response))
                return response;
        }
    }

    private static async Task<DnsResponse> QueryTcpAsync(IPEndPoint server, string name, byte[] encodedName, CancellationToken cancellationToken)
    {
        var id = (ushort)RandomNumberGenerator.GetInt32(ushort.MaxValue + 1);
        var query = DnsMessage.BuildQuery(id, encodedName);
        var framed = new byte[2 + query.Length];
        BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)query.Length);
        query.CopyTo(framed, 2);

        using var socket = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(server, cancellationToken).ConfigureAwait(false);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        await stream.WriteAsync(framed, cancellationToken).ConfigureAwait(false);
        var length = new byte[2];
        await stream.ReadExactlyAsync(length, cancellationToken).ConfigureAwait(false);
        var message = new byte[BinaryPrimitives.ReadUInt16BigEndian(length)];
        await stream.ReadExactlyAsync(message, cancellationToken).ConfigureAwait(false);
        if (!DnsMessage.TryParseResponse(message, id, name, out var response) || response.IsTruncated)
            throw new DnsFormatException("The TCP answer does not match the query or is truncated.");
        return response;
    }
}
