using Npgsql;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Parley.Hosting;
using Parley.Xmpp;

namespace Parley.Web.Diagnostics;

/// <summary>The gateway as a service: systemd, the log format, and what OpenTelemetry exports when it is configured.</summary>
internal static class GatewayTelemetry
{
    /// <summary>The default <c>service.name</c>.</summary>
    public const string ServiceName = "parley-web";

    /// <summary>
    /// Adds <see cref="OperationsExtensions.AddParleyOperations"/> with the gateway's sources: ASP.NET Core, Npgsql, the XMPP
    /// library's source and meter, and the gateway's own meter.
    /// </summary>
    public static void AddGatewayOperations(this IHostApplicationBuilder builder)
        => builder.AddParleyOperations(
            ServiceName,
            static tracing => tracing
                .AddAspNetCoreInstrumentation()
                .AddNpgsql()
                .AddSource(XmppTelemetry.ActivitySourceName),
            static metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddNpgsqlInstrumentation()
                .AddMeter(GatewayMetrics.MeterName, XmppTelemetry.MeterName));
}
