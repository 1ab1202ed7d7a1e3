using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace Parley.Testing;

/// <summary>Sums over what a <see cref="MetricCollector{T}"/> recorded, for counters read by their tags.</summary>
public static class MetricSums
{
    /// <summary>The sum of the collected measurements that carry every given tag value (all of them without tags).</summary>
    public static long Sum(this MetricCollector<long> collector, params (string Key, string Value)[] tags)
    {
        ArgumentNullException.ThrowIfNull(collector);
        ArgumentNullException.ThrowIfNull(tags);
        return collector.GetMeasurementSnapshot()
            .Where(m => tags.All(t => m.Tags.TryGetValue(t.Key, out var value) && Equals(value, t.Value)))
            .Sum(m => m.Value);
    }
}
