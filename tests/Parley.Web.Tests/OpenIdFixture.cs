using System.Globalization;
using Parley.Testing;

namespace Parley.Web.Tests;

/// <summary>One test OpenID provider per test class (each test registers its own client at it).</summary>
public sealed class OpenIdFixture : IAsyncLifetime
{
    private OpenIdProvider? _provider;

    internal OpenIdProvider Provider => _provider ?? throw new InvalidOperationException("The provider is not started.");

    public async Task InitializeAsync() => _provider = await OpenIdProvider.StartAsync();

    public async Task DisposeAsync()
    {
        if (_provider is not null)
        {
            await _provider.DisposeAsync();
        }
    }

    /// <summary>
    /// Starts the gateway with the test provider configured as <c>op</c> ("Test OP"): a free port is chosen first, because the
    /// provider only accepts the redirect URI registered for this gateway.
    /// </summary>
    internal async Task<GatewayHost> StartGatewayAsync(XmppTestServer server, string owner, params string[] extra)
        => (await StartGatewayWithClientAsync(server, owner, null, extra)).Gateway;

    /// <summary>As <see cref="StartGatewayAsync"/>, on the SQLite file <paramref name="databasePath"/> if given; returns the client registered for it as well.</summary>
    internal async Task<(GatewayHost Gateway, OpenIdClient Client)> StartGatewayWithClientAsync(XmppTestServer server, string owner, string? databasePath, params string[] extra)
    {
        var port = LoopbackPorts.Allocate();
        var origin = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}");
        var client = await Provider.RegisterClientAsync(new Uri($"{origin}/auth/callback/op"));
        var gateway = await GatewayHost.StartAsync(
            server,
            owner,
            databasePath,
            [
                $"--urls={origin}",
                $"--Parley:Auth:Providers:op:Authority={Provider.Issuer.GetLeftPart(UriPartial.Authority)}",
                $"--Parley:Auth:Providers:op:ClientId={client.ClientId}",
                $"--Parley:Auth:Providers:op:ClientSecret={client.ClientSecret}",
                "--Parley:Auth:Providers:op:DisplayName=Test OP",
                .. extra,
            ]);
        return (gateway, client);
    }
}
