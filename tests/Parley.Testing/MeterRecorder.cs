using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Parley.Testing;

/// <summary>
/// Records the <see cref="long"/> measurements of one meter created by one app's <see cref="IMeterFactory"/> (other
/// apps run in parallel in the same test process with meters of the same name).
/// </summary>
public sealed class MeterRecorder : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<(string Name, long Value, KeyValuePair<string, object?>[] Tags)> _measurements = new();

    /// <summary>Starts listening to the meter <paramref name="meterName"/> that <paramref name="factory"/> created.</summary>
    public MeterRecorder(IMeterFactory factory, string meterName)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == meterName && ReferenceEquals(instrument.Meter.Scope, factory))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => _measurements.Enqueue((instrument.Name, value, tags.ToArray())));
        _listener.Start();
    }

    /// <summary>The sum of the instrument's measurements that carry every given tag value.</summary>
    public long Sum(string instrument, params (string Key, string Value)[] tags)
        => _measurements
            .Where(m => m.Name == instrument && tags.All(t => m.Tags.Any(x => x.Key == t.Key && Equals(x.Value, t.Value))))
            .Sum(m => m.Value);

    /// <inheritdoc/>
    public void Dispose() => _listener.Dispose();
}
