using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Parley.Testing;
using Parley.Testing.Internal;

namespace Parley.Web.Tests;

/// <summary>The gateway as a service: OpenTelemetry export to a collector, systemd readiness, JSON log lines.</summary>
[Collection(ServerFixture.CollectionName)]
public sealed class OperationsTests(ServerFixture servers)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task With_an_otlp_endpoint_the_gateway_exports_its_traces_and_metrics_to_the_collector()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        await using var owner = await Owner.ConnectAsync(server);
        await using var collector = OtlpReceiver.Start();
        await using var gateway = await GatewayHost.StartAsync(server, owner.Account.Jid.ToString(), null,
            $"--Parley:Telemetry:OtlpEndpoint={collector.BaseAddress}",
            "--Parley:Telemetry:MetricExportInterval=00:00:01",
            "--Parley:Telemetry:ServiceName=parley-web-under-test");
        await gateway.WaitConnectedAsync();
        using var http = new HttpClient { BaseAddress = gateway.BaseAddress };
        using (var response = await http.GetAsync("/healthz"))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // Protobuf carries strings as UTF-8: the resource's service name, the instrumented route, the instruments.
        await collector.WaitForAsync("/v1/traces", "parley-web-under-test", Patience);
        await collector.WaitForAsync("/v1/traces", "/healthz", Patience);
        await collector.WaitForAsync("/v1/traces", "xmpp.connect", Patience);
        await collector.WaitForAsync("/v1/metrics", "parley-web-under-test", Patience);
        await collector.WaitForAsync("/v1/metrics", "http.server.request.duration", Patience);
        await collector.WaitForAsync("/v1/metrics", "parley.xmpp.connects", Patience);
        await collector.WaitForAsync("/v1/metrics", "dotnet.gc.collections", Patience);
    }

    [Fact]
    public async Task Without_an_otlp_endpoint_nothing_is_exported_and_a_bad_one_stops_the_start_with_the_key_named()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        await using (var quiet = await GatewayHost.StartAsync(server, "owner@" + server.Domain, null, "--Parley:Telemetry:MetricExportInterval=00:00:01"))
        {
            Assert.Null(quiet.Services.GetService(typeof(OpenTelemetry.Metrics.MeterProvider)));
            Assert.Null(quiet.Services.GetService(typeof(OpenTelemetry.Trace.TracerProvider)));
        }

        var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => GatewayHost.StartAsync(
            server, "owner@" + server.Domain, null, "--Parley:Telemetry:OtlpEndpoint=ftp://collector.example.org/"));
        Assert.Contains("Parley:Telemetry:OtlpEndpoint", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Under_systemd_the_gateway_reports_ready_and_stopping_and_writes_json_log_lines_when_configured()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        var folder = Directory.CreateTempSubdirectory("parley-systemd-").FullName;
        try
        {
            // systemd is recognised by the parent's process name: a shell started under the name "systemd" plays it,
            // starts the gateway as its child and waits for it.
            var fakeSystemd = Path.Combine(folder, "systemd");
            File.CreateSymbolicLink(fakeSystemd, "/bin/sh");
            var notifyPath = Path.Combine(folder, "notify");
            using var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
            notify.Bind(new UnixDomainSocketEndPoint(notifyPath));
            var notifications = new ConcurrentQueue<string>();
            _ = ReceiveNotificationsAsync(notify, notifications);

            var port = LoopbackPorts.Allocate();
            var lines = new ConcurrentQueue<string>();
            var dotnet = Environment.ProcessPath is { } host && Path.GetFileName(host) == "dotnet" ? host : "dotnet";
            var spec = new LaunchSpec(fakeSystemd,
            [
                "-c", "\"$@\" & child=$!; echo \"child $child\"; wait $child", "systemd",
                dotnet, Path.Combine(AppContext.BaseDirectory, "Parley.Web.dll"),
                $"--urls=http://127.0.0.1:{port}",
                $"--Parley:PublicUrl=http://127.0.0.1:{port}",
                $"--Parley:Owner=owner@{server.Domain}",
                $"--Parley:DatabasePath={Path.Combine(folder, "chat.db")}",
                $"--Parley:Component:Domain={server.ComponentDomain}",
                $"--Parley:Component:Secret={server.ComponentSecret}",
                $"--Parley:Component:Host={server.Host}",
                $"--Parley:Component:Port={server.ComponentPort.ToString(CultureInfo.InvariantCulture)}",
            ])
            {
                WorkingDirectory = folder,
                Environment = new Dictionary<string, string>
                {
                    ["NOTIFY_SOCKET"] = notifyPath,
                    ["DOTNET_ENVIRONMENT"] = "Production",
                    ["Logging__Console__FormatterName"] = "json",
                },
                Display = "the gateway under a stand-in systemd",
            };
            using var process = await ChildProcess.StartAsync(spec, lines.Enqueue, CancellationToken.None);
            try
            {
                await WaitUntilAsync(() => notifications.Contains("READY=1"), "READY=1", lines);
                var child = int.Parse(lines.First(l => l.StartsWith("child ", StringComparison.Ordinal))["child ".Length..], CultureInfo.InvariantCulture);
                using (var http = new HttpClient())
                using (var response = await http.GetAsync(new Uri($"http://127.0.0.1:{port}/healthz")))
                {
                    Assert.True(response.IsSuccessStatusCode, $"healthz: {(int)response.StatusCode}");
                }

                Assert.True(Posix.Signal(child, 15), "SIGTERM to the gateway");
                await WaitUntilAsync(() => notifications.Contains("STOPPING=1"), "STOPPING=1", lines);
                await process.WaitForExitAsync(CancellationToken.None).WaitAsync(Patience);
                Assert.Equal(0, process.ExitCode);
            }
            finally
            {
                process.KillTree(TimeSpan.FromSeconds(5));
            }

            var logs = lines.Where(l => !l.StartsWith("child ", StringComparison.Ordinal)).ToList();
            Assert.NotEmpty(logs);
            foreach (var line in logs)
            {
                using var entry = JsonDocument.Parse(line);
                Assert.True(entry.RootElement.TryGetProperty("Category", out _), line);
                Assert.True(entry.RootElement.TryGetProperty("LogLevel", out _), line);
            }

            Assert.Contains(logs, l => l.Contains("Now listening on", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what, ConcurrentQueue<string> output)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"No {what} within {Patience.TotalSeconds} s. Output:\n{string.Join('\n', output)}");
            await Task.Delay(50);
        }
    }

    private static async Task ReceiveNotificationsAsync(Socket socket, ConcurrentQueue<string> notifications)
    {
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                var read = await socket.ReceiveAsync(buffer, SocketFlags.None);
                foreach (var line in Encoding.UTF8.GetString(buffer, 0, read).Split('\n', StringSplitOptions.RemoveEmptyEntries))
                {
                    notifications.Enqueue(line);
                }
            }
        }
        catch (Exception e) when (e is ObjectDisposedException or SocketException)
        {
            // The test is over.
        }
    }
}
