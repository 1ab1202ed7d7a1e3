using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Parley.Hosting;

/// <summary>Makes a Parley program a well-behaved service: systemd readiness, the configured log format, OpenTelemetry export.</summary>
public static class OperationsExtensions
{
    private const string TracesExporter = "parley-traces";
    private const string MetricsExporter = "parley-metrics";

    /// <summary>
    /// Adds systemd integration (<c>Type=notify</c> readiness and stopping, when started by systemd), keeps a console
    /// formatter named in <c>Logging:Console:FormatterName</c> (e.g. <c>json</c>) even under systemd, and, when
    /// <c>Parley:Telemetry:OtlpEndpoint</c> is set, OpenTelemetry traces and metrics exported over OTLP: HttpClient and
    /// the runtime, plus whatever <paramref name="tracing"/> and <paramref name="metrics"/> add (the program's own sources
    /// and meters, the library's, ASP.NET Core, Npgsql). The settings (<see cref="TelemetryOptions"/>) are validated at start-up.
    /// </summary>
    /// <param name="builder">The host builder.</param>
    /// <param name="defaultServiceName">The <c>service.name</c> unless <c>Parley:Telemetry:ServiceName</c> says otherwise.</param>
    /// <param name="tracing">Adds the program's activity sources and instrumentation.</param>
    /// <param name="metrics">Adds the program's meters and instrumentation.</param>
    /// <returns>The builder.</returns>
    public static IHostApplicationBuilder AddParleyOperations(this IHostApplicationBuilder builder, string defaultServiceName,
        Action<TracerProviderBuilder> tracing, Action<MeterProviderBuilder> metrics)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(defaultServiceName);
        ArgumentNullException.ThrowIfNull(tracing);
        ArgumentNullException.ThrowIfNull(metrics);

        var services = builder.Services;
        services.AddSystemd();

        // Under systemd, AddSystemd switches the console to its own format; a formatter the operator named explicitly
        // (json for a log shipper) is kept instead.
        if (builder.Configuration["Logging:Console:FormatterName"] is { Length: > 0 } formatter)
        {
            services.PostConfigure<ConsoleLoggerOptions>(options => options.FormatterName = formatter);
        }

        services.AddOptions<TelemetryOptions>().Bind(builder.Configuration.GetSection(TelemetryOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<TelemetryOptions>, TelemetryOptionsValidator>();
        var section = builder.Configuration.GetSection(TelemetryOptions.Section);
        if (string.IsNullOrWhiteSpace(section[nameof(TelemetryOptions.OtlpEndpoint)]))
        {
            return builder;
        }

        var serviceName = section[nameof(TelemetryOptions.ServiceName)] is { Length: > 0 } configured ? configured : defaultServiceName;
        var version = Assembly.GetEntryAssembly()?.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        var telemetry = services.AddOpenTelemetry().ConfigureResource(resource => resource.AddService(serviceName, serviceVersion: version));

        // Read raw here only to decide what to register; the values themselves come from the validated options.
        if (!bool.TryParse(section[nameof(TelemetryOptions.Traces)], out var traces) || traces)
        {
            telemetry.WithTracing(traceProvider =>
            {
                traceProvider.AddHttpClientInstrumentation();
                tracing(traceProvider);
                traceProvider.AddOtlpExporter(TracesExporter, configure: null);
            });
            services.AddOptions<OtlpExporterOptions>(TracesExporter)
                .Configure<IOptions<TelemetryOptions>>(static (exporter, options) => Point(exporter, options.Value, "v1/traces"));
        }

        if (!bool.TryParse(section[nameof(TelemetryOptions.Metrics)], out var measured) || measured)
        {
            telemetry.WithMetrics(meterProvider =>
            {
                meterProvider.AddRuntimeInstrumentation().AddHttpClientInstrumentation();
                metrics(meterProvider);
                meterProvider.AddOtlpExporter(MetricsExporter, configure: null);
            });
            services.AddOptions<OtlpExporterOptions>(MetricsExporter)
                .Configure<IOptions<TelemetryOptions>>(static (exporter, options) => Point(exporter, options.Value, "v1/metrics"));
            services.AddOptions<MetricReaderOptions>(MetricsExporter)
                .Configure<IOptions<TelemetryOptions>>(static (reader, options) =>
                    reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = (int)options.Value.MetricExportInterval.TotalMilliseconds);
        }

        return builder;
    }

    /// <summary>Points an exporter at the collector: over HTTP each signal has its own path below the base address.</summary>
    private static void Point(OtlpExporterOptions exporter, TelemetryOptions options, string signalPath)
    {
        if (options.OtlpEndpoint is not { } endpoint)
        {
            return;
        }

        exporter.Protocol = options.Protocol == TelemetryProtocol.Grpc ? OtlpExportProtocol.Grpc : OtlpExportProtocol.HttpProtobuf;
        exporter.Endpoint = options.Protocol == TelemetryProtocol.Grpc
            ? endpoint
            : new Uri(endpoint.AbsoluteUri.EndsWith('/') ? endpoint : new Uri(endpoint.AbsoluteUri + "/"), signalPath);
    }
}
