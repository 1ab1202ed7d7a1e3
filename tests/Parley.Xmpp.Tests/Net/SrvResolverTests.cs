// Needs the Debian package dnsmasq-base (the dnsmasq binary without its system service):
//   apt-get install -y --no-install-recommends dnsmasq-base
// When it is missing and the tests run as root, the fixture installs it with apt-get; otherwise the tests fail.
using System.ComponentModel;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Parley.Xmpp.Net;

namespace Parley.Xmpp.Tests.Net;

/// <summary>The SRV resolver against a real DNS server: a private dnsmasq on 127.0.0.1 with a free port.</summary>
public sealed class SrvResolverTests(SrvResolverTests.DnsmasqFixture dnsmasq) : IClassFixture<SrvResolverTests.DnsmasqFixture>
{
    private const int BigRecordCount = 24;

    private static CancellationToken TestTimeout => new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token;

    private SrvResolver Resolver => new([dnsmasq.EndPoint], TimeSpan.FromSeconds(5), random: new Random(5));

    [Fact]
    public async Task Records_come_in_priority_order()
    {
        var result = await Resolver.ResolveAsync("_xmpp-client._tcp", "example.test", TestTimeout);

        Assert.False(result.IsServiceUnavailable);
        Assert.Equal([new SrvRecord("xmpp.example.test", 5222, 0, 5), new SrvRecord("backup.example.test", 5223, 10, 0)], result);
    }

    [Fact]
    public async Task An_answer_too_big_for_UDP_is_read_over_TCP()
    {
        var result = await Resolver.ResolveAsync("_xmpp-client._tcp", "big.example.test", TestTimeout);

        Assert.Equal(BigRecordCount, result.Count);
        Assert.Equal(Enumerable.Range(0, BigRecordCount).Select(BigTarget).Order(), result.Select(r => r.Target).Order());
    }

    [Fact]
    public async Task An_IDN_domain_is_asked_in_A_label_form()
    {
        var result = await Resolver.ResolveAsync("_xmpps-client._tcp", "bücher.example.test", TestTimeout);

        Assert.Equal([new SrvRecord("tls.xn--bcher-kva.example.test", 443, 1, 1)], result);
    }

    [Fact]
    public async Task A_name_without_records_and_a_service_not_offered_are_told_apart()
    {
        var none = await Resolver.ResolveAsync("_xmpp-client._tcp", "nothing.example.test", TestTimeout);
        var unavailable = await Resolver.ResolveAsync("_xmpps-client._tcp", "example.test", TestTimeout);

        Assert.Equal((0, false), (none.Count, none.IsServiceUnavailable));
        Assert.Equal((0, true), (unavailable.Count, unavailable.IsServiceUnavailable));
    }

    private static string BigTarget(int i) => $"host-{i:00}-with-a-rather-long-label-to-fill-the-datagram.example.test";

    /// <summary>Starts one dnsmasq for the class, answering only from its own --srv-host records for example.test.</summary>
    public sealed class DnsmasqFixture : IAsyncLifetime
    {
        private Process? _process;

        public IPEndPoint EndPoint { get; private set; } = new(IPAddress.Loopback, 0);

        public async Task InitializeAsync()
        {
            var binary = await EnsureInstalledAsync();
            string[] records =
            [
                "_xmpp-client._tcp.example.test,xmpp.example.test,5222,0,5",
                "_xmpp-client._tcp.example.test,backup.example.test,5223,10,0",
                "_xmpps-client._tcp.example.test", // no target: the service is not offered (answered with target ".")
                "_xmpps-client._tcp.xn--bcher-kva.example.test,tls.xn--bcher-kva.example.test,443,1,1",
                .. Enumerable.Range(0, BigRecordCount).Select(i => $"_xmpp-client._tcp.big.example.test,{BigTarget(i)},5222,0,1"),
            ];
            for (var tries = 0; ; tries++)
            {
                var port = FreePort();
                var start = new ProcessStartInfo(binary)
                {
                    RedirectStandardError = true,
                    RedirectStandardOutput = true,
                    ArgumentList =
                    {
                        "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--no-poll",
                        "--log-facility=-", "--pid-file=", "--bind-interfaces", "--listen-address=127.0.0.1",
                        $"--port={port}", "--local=/example.test/",
                    },
                };
                foreach (var record in records)
                    start.ArgumentList.Add($"--srv-host={record}");
                var process = Process.Start(start) ?? throw new InvalidOperationException("dnsmasq did not start.");
                var log = new System.Text.StringBuilder();
                var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                process.ErrorDataReceived += (_, e) =>
                {
                    lock (log)
                        log.AppendLine(e.Data);
                    if (e.Data?.Contains("started", StringComparison.Ordinal) == true)
                        started.TrySetResult();
                };
                process.BeginErrorReadLine();
                var exited = process.WaitForExitAsync();
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await Task.WhenAny(started.Task, exited).WaitAsync(timeout.Token);
                if (started.Task.IsCompleted && !process.HasExited)
                {
                    _process = process;
                    EndPoint = new IPEndPoint(IPAddress.Loopback, port);
                    return;
                }
                process.Dispose();
                if (tries >= 3)
                    throw new InvalidOperationException($"dnsmasq did not start on port {port}:\n{log}");
            }
        }

        public async Task DisposeAsync()
        {
            if (_process is null)
                return;
            _process.Kill();
            await _process.WaitForExitAsync();
            _process.Dispose();
        }

        /// <summary>A port free for both UDP and TCP (a UDP-free port may be busy as a TCP client port: try again then).</summary>
        private static int FreePort()
        {
            for (var attempt = 0; ; attempt++)
            {
                using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                udp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                var port = ((IPEndPoint)udp.LocalEndPoint!).Port;
                using var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                try
                {
                    tcp.Bind(new IPEndPoint(IPAddress.Loopback, port));
                    return port;
                }
                catch (SocketException) when (attempt < 50)
                {
                    // Taken for TCP; pick another.
                }
            }
        }

        private static async Task<string> EnsureInstalledAsync()
        {
            string[] candidates = ["/usr/sbin/dnsmasq", "/usr/local/sbin/dnsmasq"];
            if (candidates.FirstOrDefault(File.Exists) is { } found)
                return found;
            if (!Environment.IsPrivilegedProcess)
                throw new InvalidOperationException("dnsmasq is not installed: apt-get install -y --no-install-recommends dnsmasq-base");
            if (await RunAsync("apt-get", "install", "-y", "--no-install-recommends", "dnsmasq-base") != 0)
            {
                await RunAsync("apt-get", "update");
                if (await RunAsync("apt-get", "install", "-y", "--no-install-recommends", "dnsmasq-base") != 0)
                    throw new InvalidOperationException("apt-get could not install dnsmasq-base.");
            }
            return candidates.FirstOrDefault(File.Exists) ?? throw new InvalidOperationException("dnsmasq-base is installed but no dnsmasq binary was found.");
        }

        private static async Task<int> RunAsync(string file, params string[] arguments)
        {
            var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
            start.Environment["DEBIAN_FRONTEND"] = "noninteractive";
            foreach (var argument in arguments)
                start.ArgumentList.Add(argument);
            try
            {
                using var process = Process.Start(start)!;
                var output = process.StandardOutput.ReadToEndAsync();
                var error = process.StandardError.ReadToEndAsync();
                using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
                await process.WaitForExitAsync(timeout.Token);
                await Task.WhenAll(output, error);
                return process.ExitCode;
            }
            catch (Win32Exception)
            {
                return -1;
            }
        }
    }
}
