using Microsoft.Extensions.Options;

namespace Parley.Hosting;

/// <summary>Refuses telemetry settings that cannot work, naming the key, when the host starts.</summary>
internal sealed class TelemetryOptionsValidator : IValidateOptions<TelemetryOptions>
{
    private const int MaxServiceNameLength = 100;

    public ValidateOptionsResult Validate(string? name, TelemetryOptions options)
    {
        var failures = new List<string>();
        if (options.OtlpEndpoint is { } endpoint
            && (!endpoint.IsAbsoluteUri || (endpoint.Scheme != Uri.UriSchemeHttp && endpoint.Scheme != Uri.UriSchemeHttps) || !string.IsNullOrEmpty(endpoint.Query)))
        {
            failures.Add($"{TelemetryOptions.Section}:OtlpEndpoint must be an absolute http:// or https:// address without a query (got '{endpoint}').");
        }

        if (!Enum.IsDefined(options.Protocol))
        {
            failures.Add($"{TelemetryOptions.Section}:Protocol must be HttpProtobuf or Grpc.");
        }

        if (options.ServiceName is { } service && (service.Length > MaxServiceNameLength || service.Any(char.IsControl)))
        {
            failures.Add($"{TelemetryOptions.Section}:ServiceName must be at most {MaxServiceNameLength} characters without control characters.");
        }

        if (options.MetricExportInterval < TimeSpan.FromSeconds(1) || options.MetricExportInterval > TimeSpan.FromHours(1))
        {
            failures.Add($"{TelemetryOptions.Section}:MetricExportInterval must be between 00:00:01 and 01:00:00 (got {options.MetricExportInterval}).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
