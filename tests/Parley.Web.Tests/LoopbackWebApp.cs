using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Parley.Web.Tests;

/// <summary>A small web app of a test (another site, a stand-in API) on a free loopback port.</summary>
internal static class LoopbackWebApp
{
    /// <summary>Builds the app, lets <paramref name="map"/> add its endpoints, starts it and returns it with its address.</summary>
    public static async Task<(WebApplication App, Uri Address)> StartAsync(Action<WebApplication> map)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();
        map(app);
        await app.StartAsync();
        return (app, AddressOf(app));
    }

    /// <summary>The address a started app listens on (it was given a single one).</summary>
    public static Uri AddressOf(WebApplication app) => new(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
}
