using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Parley.Hosting;
using Parley.Xmpp;
using Parley.Xmpp.FileTransfer;

namespace Parley.Bots.Hosting;

/// <summary>The bot host as a service: systemd, the log format, and what OpenTelemetry exports when it is configured.</summary>
public static class BotHostTelemetry
{
    /// <summary>The default <c>service.name</c>.</summary>
    public const string ServiceName = "parley-bots";

    /// <summary>
    /// Adds <see cref="OperationsExtensions.AddParleyOperations"/> with the bot host's sources: the XMPP library's and file
    /// transfers' sources and meters, and the bots' own meter (HttpClient and the runtime come with it).
    /// </summary>
    /// <param name="builder">The host builder.</param>
    /// <returns>The builder.</returns>
    public static IHostApplicationBuilder AddBotHostOperations(this IHostApplicationBuilder builder)
        => builder.AddParleyOperations(
            ServiceName,
            static tracing => tracing.AddSource(XmppTelemetry.ActivitySourceName, FileTransferTelemetry.ActivitySourceName),
            static metrics => metrics.AddMeter(BotMetrics.MeterName, XmppTelemetry.MeterName, FileTransferTelemetry.MeterName));
}
