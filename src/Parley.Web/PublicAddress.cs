using Microsoft.AspNetCore.HostFiltering;
using Microsoft.Extensions.Options;
using Parley.Web.Auth;
using Parley.Web.Configuration;

namespace Parley.Web;

/// <summary>
/// The gateway's public address, <c>Parley:PublicUrl</c>, and what rests on it. Every absolute URL the gateway hands out
/// (the download links sent to the owner, the redirect URI sent to a sign-in provider) is built from it alone
/// (<see cref="GatewayOptions.PublicLink"/>): a request's
/// <c>Host</c> header is chosen by whoever sends the request, so a link built from it could point the owner's client at
/// any server. Requests are answered only for the public host, loopback (health checks and tests on the machine itself)
/// and the names listed in <c>AllowedHosts</c>; any other <c>Host</c> gets 400 from ASP.NET Core's host filtering.
/// </summary>
internal static class PublicAddress
{
    /// <summary>ASP.NET Core's own setting; here it adds host names to the ones the gateway answers for.</summary>
    public const string AllowedHostsKey = "AllowedHosts";

    /// <summary>Names of this machine, which no one elsewhere can point a DNS record at.</summary>
    public static readonly IReadOnlyList<string> LoopbackHosts = ["localhost", "127.0.0.1", "[::1]"];

    /// <summary>Restricts host filtering to the public host, loopback and <c>AllowedHosts</c>, and checks at start that the settings allow that.</summary>
    public static IServiceCollection AddPublicAddress(this IServiceCollection services, IConfiguration configuration)
    {
        // A second validator of the same options: its failures are listed with the others when the start is refused.
        services.AddSingleton<IValidateOptions<GatewayOptions>>(new PublicAddressValidator(configuration));

        // Runs after the web host's own post-configuration, which would otherwise leave AllowedHosts at "*".
        services.AddOptions<HostFilteringOptions>().PostConfigure<IOptions<GatewayOptions>>((filtering, gateway) =>
            filtering.AllowedHosts = AllowedHosts(gateway.Value.PublicUrl, configuration[AllowedHostsKey]));
        return services;
    }

    /// <summary>The hosts requests are answered for: the public URL's host (if set), loopback, then the configured extra names.</summary>
    internal static List<string> AllowedHosts(string publicUrl, string? configured)
    {
        var hosts = new List<string>();
        if (Uri.TryCreate(publicUrl, UriKind.Absolute, out var uri))
        {
            // IdnHost is the punycode form browsers send; for an IPv6 address only Host keeps the brackets Host headers carry.
            hosts.Add(uri.HostNameType == UriHostNameType.IPv6 ? uri.Host : uri.IdnHost);
        }

        hosts.AddRange(LoopbackHosts);
        hosts.AddRange(SplitHosts(configured));
        return hosts.Distinct(StringComparer.OrdinalIgnoreCase).ToList();
    }

    internal static string[] SplitHosts(string? configured)
        => (configured ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>What the public address must be for the features that are on; reads <c>AllowedHosts</c> and the providers from configuration.</summary>
    private sealed class PublicAddressValidator(IConfiguration configuration) : IValidateOptions<GatewayOptions>
    {
        public ValidateOptionsResult Validate(string? name, GatewayOptions options)
        {
            var errors = new List<string>();
            const string PublicUrl = $"{GatewayOptions.Section}:PublicUrl";
            if (options.PublicUrl.Length == 0 && options.Files.Enabled)
            {
                errors.Add($"{PublicUrl} is required while {GatewayOptions.Section}:Files:Enabled is true: the links to visitors' files that go to "
                    + $"the owner are built from it, never from a request's Host header. Set it to the address visitors use (https://chat.example.org), "
                    + $"or set {GatewayOptions.Section}:Files:Enabled=false.");
            }

            if (options.PublicUrl.Length == 0 && ExternalAuthOptions.ReadEnabled(configuration).Any())
            {
                errors.Add($"{PublicUrl} is required with sign-in providers ({ExternalAuthOptions.Section}:Providers): the redirect URI a provider "
                    + $"is given is <{PublicUrl}>/auth/callback/<name>, never built from a request's Host header.");
            }

            if (SplitHosts(configuration[AllowedHostsKey]).Contains("*"))
            {
                errors.Add($"{AllowedHostsKey}=* is not accepted: the gateway answers for the host of {PublicUrl} and for "
                    + $"{string.Join(", ", LoopbackHosts)}; list further host names there, separated by ';'.");
            }

            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
        }
    }
}
