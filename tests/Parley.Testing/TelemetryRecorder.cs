using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Parley.Testing;

/// <summary>
/// Records the activities and measurements of the named sources and meters that belong to one test: it starts a root
/// activity in the test's execution context and keeps only what is recorded under that trace. The library's background
/// tasks (reader, writer, reconnects) start from the test's context, so their measurements count; those of tests running
/// in parallel, with the same static instruments, do not.
/// </summary>
public sealed class TelemetryRecorder : IDisposable
{
    private const string RootSourceName = "Parley.Testing.Telemetry";
    private static readonly ActivitySource RootSource = new(RootSourceName);
    private readonly HashSet<string> _names;
    private readonly ActivityListener _activities;
    private readonly MeterListener _meters = new();
    private readonly Activity _root;
    private readonly ConcurrentQueue<Activity> _stopped = new();
    private readonly ConcurrentQueue<Measurement> _measurements = new();

    /// <summary>Starts listening to the activity sources and meters with these names and makes a root activity current.</summary>
    public TelemetryRecorder(params string[] names)
    {
        _names = [.. names];
        _activities = new ActivityListener
        {
            ShouldListenTo = source => source.Name == RootSourceName || _names.Contains(source.Name),
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                if (activity.TraceId == TraceId)
                {
                    _stopped.Enqueue(activity);
                }
            },
        };
        ActivitySource.AddActivityListener(_activities);
        _root = RootSource.StartActivity("test") ?? throw new InvalidOperationException("The test's root activity was not created.");
        TraceId = _root.TraceId;

        _meters.InstrumentPublished = (instrument, listener) =>
        {
            if (_names.Contains(instrument.Meter.Name))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _meters.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Add(instrument, value, tags));
        _meters.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Add(instrument, value, tags));
        _meters.Start();
    }

    /// <summary>The trace this test's telemetry belongs to.</summary>
    public ActivityTraceId TraceId { get; }

    /// <summary>The activities of the listened sources that stopped under this test's trace.</summary>
    public IReadOnlyList<Activity> Activities => [.. _stopped.Where(a => a != _root)];

    /// <summary>The measurements of an instrument recorded under this test's trace that carry every given tag value.</summary>
    public IReadOnlyList<double> Values(string instrument, params (string Key, string Value)[] tags)
        => [.. _measurements.Where(m => m.Instrument == instrument && tags.All(t => m.Tags.Any(x => x.Key == t.Key && Equals(x.Value, t.Value)))).Select(m => m.Value)];

    /// <summary>The sum of the measurements <see cref="Values"/> returns.</summary>
    public double Sum(string instrument, params (string Key, string Value)[] tags) => Values(instrument, tags).Sum();

    /// <summary>Stops listening and ends the root activity.</summary>
    public void Dispose()
    {
        _meters.Dispose();
        _root.Stop();
        _activities.Dispose();
    }

    private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (Activity.Current?.TraceId == TraceId)
        {
            _measurements.Enqueue(new Measurement(instrument.Name, value, tags.ToArray()));
        }
    }

    private sealed record Measurement(string Instrument, double Value, KeyValuePair<string, object?>[] Tags);
}
