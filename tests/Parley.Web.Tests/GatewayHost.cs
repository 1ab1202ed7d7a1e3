using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Parley.Testing;

namespace Parley.Web.Tests;

/// <summary>The real gateway (the same <see cref="GatewayApp.Create"/> as Program.cs) on 127.0.0.1 with a free port, its own SQLite file, against a harness server.</summary>
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

    public static async Task<GatewayHost> StartAsync(XmppTestServer server, string owner, string? databasePath = null, params string[] extra)
    {
        databasePath ??= StoreUnderTest.NewSqlitePath();
        string[] args =
        [
            "--urls=http://127.0.0.1:0",
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
            .. extra,
        ];
        var app = GatewayApp.Create(args);
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        return new GatewayHost(app, databasePath, LoopbackWebApp.AddressOf(app));
    }

    /// <summary>A new browser: its own cookie jar.</summary>
    public Visitor NewVisitor() => new(BaseAddress);

    /// <summary>Waits until the component is connected (start-up connects in the background).</summary>
    public async Task WaitConnectedAsync()
    {
        var gateway = _app.Services.GetRequiredService<Xmpp.VisitorGateway>();
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
