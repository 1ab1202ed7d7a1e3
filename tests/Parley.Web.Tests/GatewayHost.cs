using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;
using Parley.Testing;

namespace Parley.Web.Tests;

/// <summary>The real gateway (the same <see cref="GatewayApp.Create"/> as Program.cs) on 127.0.0.1 with a free port as its public URL, its own SQLite file, against a harness server.</summary>
internal sealed class GatewayHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private GatewayHost(WebApplication app, string databasePath, Uri baseAddress)
    {
        _app = app;
        DatabasePath = databasePath;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public string DatabasePath { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>
    /// Starts the gateway. <c>--urls</c> in <paramref name="extra"/> replaces the default <c>http://127.0.0.1:0</c>. The
    /// public URL is the listen address unless <paramref name="extra"/> sets <c>--Parley:PublicUrl</c>; it must be known
    /// before the start, so port 0 is replaced by a port chosen here, and a port another process takes before the gateway
    /// binds it is replaced by a new one (the bind decides, as with the harness's servers).
    /// </summary>
    public static Task<GatewayHost> StartAsync(XmppTestServer server, string owner, string? databasePath = null, params string[] extra)
        => StartAsync(server, owner, TimeProvider.System, databasePath, extra);

    /// <summary>Starts the gateway like the overload above, with <paramref name="time"/> as its clock (e.g. a <c>FakeTimeProvider</c> the test advances).</summary>
    public static Task<GatewayHost> StartWithClockAsync(XmppTestServer server, string owner, TimeProvider time, params string[] extra)
        => StartAsync(server, owner, time, null, extra);

    private static async Task<GatewayHost> StartAsync(XmppTestServer server, string owner, TimeProvider time, string? databasePath, string[] extra)
    {
        databasePath ??= StoreUnderTest.NewSqlitePath();
        const string UrlsArgument = "--urls=";
        var urls = new Uri(extra.LastOrDefault(static a => a.StartsWith(UrlsArgument, StringComparison.Ordinal))?[UrlsArgument.Length..] ?? "http://127.0.0.1:0");
        for (var attempt = 1; ; attempt++)
        {
            var listen = urls.Port == 0 ? new UriBuilder(urls) { Port = LoopbackPorts.Allocate() }.Uri : urls;
            var origin = listen.GetLeftPart(UriPartial.Authority);
            string[] args =
            [
                UrlsArgument + origin,
                $"--Parley:PublicUrl={origin}",
                "--environment=Production",
                "--Logging:LogLevel:Default=Warning",
                "--Logging:LogLevel:Parley.Xmpp.Traffic=None",
                $"--Parley:Owner={owner}",
                $"--Parley:DatabasePath={databasePath}",
                $"--Parley:Component:Domain={server.ComponentDomain}",
                $"--Parley:Component:Secret={server.ComponentSecret}",
                $"--Parley:Component:Host={server.Host}",
                $"--Parley:Component:Port={server.ComponentPort.ToString(CultureInfo.InvariantCulture)}",
                "--Parley:PresenceLinger=00:00:00",
                .. extra.Where(static a => !a.StartsWith(UrlsArgument, StringComparison.Ordinal)),
            ];
            var app = GatewayApp.Create(args, time);
            try
            {
                await app.StartAsync();
                return new GatewayHost(app, databasePath, LoopbackWebApp.AddressOf(app));
            }
            catch (IOException e) when (e.InnerException is AddressInUseException && urls.Port == 0 && attempt < 3)
            {
                // Hosted services (the component link) start before Kestrel binds: stop them before the next attempt.
                await app.StopAsync();
                await app.DisposeAsync();
            }
            catch
            {
                await app.DisposeAsync();
                throw;
            }
        }
    }

    /// <summary>A new browser: its own cookie jar.</summary>
    public Visitor NewVisitor() => new(BaseAddress);

    /// <summary>Waits until the component is connected (start-up connects in the background).</summary>
    public async Task WaitConnectedAsync()
    {
        var gateway = _app.Services.GetRequiredService<Xmpp.LinkSupervisor>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (!gateway.IsConnected)
        {
            Assert.True(DateTime.UtcNow < deadline, "The gateway's component did not connect within 15 s.");
            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
