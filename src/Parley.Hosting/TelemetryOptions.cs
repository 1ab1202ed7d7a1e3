namespace Parley.Hosting;

/// <summary>
/// OpenTelemetry export, bound from <c>Parley:Telemetry</c>. Telemetry is off while <see cref="OtlpEndpoint"/> is empty;
/// the standard <c>OTEL_*</c> environment variables (headers, resource attributes) still apply on top.
/// </summary>
public sealed class TelemetryOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Parley:Telemetry";

    /// <summary>The collector's base address, e.g. <c>http://127.0.0.1:4318</c> (OTLP/HTTP) or <c>http://127.0.0.1:4317</c> (gRPC).</summary>
    public Uri? OtlpEndpoint { get; set; }

    /// <summary>How to talk to the collector (default OTLP/HTTP with protobuf bodies; signal paths <c>/v1/traces</c>, <c>/v1/metrics</c> are appended).</summary>
    public TelemetryProtocol Protocol { get; set; } = TelemetryProtocol.HttpProtobuf;

    /// <summary>The <c>service.name</c> resource attribute (default: the program's own, <c>parley-web</c> or <c>parley-bots</c>).</summary>
    public string? ServiceName { get; set; }

    /// <summary>Whether traces are exported.</summary>
    public bool Traces { get; set; } = true;

    /// <summary>Whether metrics are exported.</summary>
    public bool Metrics { get; set; } = true;

    /// <summary>How often metrics are exported (1 second to 1 hour).</summary>
    public TimeSpan MetricExportInterval { get; set; } = TimeSpan.FromSeconds(60);
}

/// <summary>The OTLP transports.</summary>
public enum TelemetryProtocol
{
    /// <summary>OTLP over HTTP with protobuf bodies (port 4318 by convention).</summary>
    HttpProtobuf,

    /// <summary>OTLP over gRPC (port 4317 by convention).</summary>
    Grpc,
}
