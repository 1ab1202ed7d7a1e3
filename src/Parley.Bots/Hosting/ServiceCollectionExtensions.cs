using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Parley.Bots.Hosting;

/// <summary>Registers the bot host.</summary>
public static class ServiceCollectionExtensions
{
    /// <summary>
    /// Binds <see cref="BotHostOptions"/> from the <c>Parley</c> section, validates them at start-up and runs the bots as a hosted service.
    /// The bots' clock (auto-reply periods, rate limits) is the registered <see cref="TimeProvider"/>: <see cref="TimeProvider.System"/> unless one
    /// was registered before.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configuration">The configuration root.</param>
    /// <returns>The services.</returns>
    public static IServiceCollection AddParleyBots(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<BotHostOptions>().Bind(configuration.GetSection(BotHostOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<BotHostOptions>, BotHostOptionsValidator>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.AddSingleton(static sp => new BotMetrics(sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>()));
        services.AddSingleton<BotHostedService>();
        services.AddHostedService(sp => sp.GetRequiredService<BotHostedService>());
        return services;
    }
}
