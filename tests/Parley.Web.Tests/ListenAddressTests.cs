using Microsoft.AspNetCore.Hosting;

namespace Parley.Web.Tests;

/// <summary>Where Kestrel listens: loopback 5080 by default, and every standard way of choosing another address still wins.</summary>
public sealed class ListenAddressTests
{
    [Fact]
    public async Task Without_an_address_the_gateway_listens_on_loopback_5080()
    {
        await using var app = GatewayApp.Create([]);
        Assert.Equal(GatewayApp.DefaultUrl, app.Configuration[WebHostDefaults.ServerUrlsKey]);
    }

    [Theory]
    [InlineData("--urls=http://127.0.0.1:6001", "http://127.0.0.1:6001")]
    [InlineData("--http_ports=6002", null)]
    [InlineData("--Kestrel:Endpoints:Main:Url=http://127.0.0.1:6003", null)]
    public async Task An_address_from_configuration_is_not_overridden(string argument, string? expectedUrls)
    {
        // ASPNETCORE_URLS reaches the same configuration key as --urls (the ASPNETCORE_ environment prefix).
        await using var app = GatewayApp.Create([argument]);
        Assert.Equal(expectedUrls, app.Configuration[WebHostDefaults.ServerUrlsKey]);
    }
}
