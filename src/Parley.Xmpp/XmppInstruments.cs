using System.Diagnostics;
using System.Diagnostics.Metrics;
using Parley.Xmpp.Stanzas;

namespace Parley.Xmpp;

/// <summary>
/// The library's activity source and instruments (names in <see cref="XmppTelemetry"/>). Static, so every endpoint in the
/// process reports into the same time series; every tag value is one of a few constant strings, and each record method
/// returns before building tags when its instrument has no listener.
/// </summary>
internal static class XmppInstruments
{
    public const string KindTag = "parley.xmpp.connect.kind";
    public const string OutcomeTag = "parley.xmpp.outcome";
    public const string StanzaTag = "parley.xmpp.stanza";

    public static readonly ActivitySource Source = new(XmppTelemetry.ActivitySourceName, Version);

    private static readonly Meter Meter = new(XmppTelemetry.MeterName, Version);

    private static readonly Histogram<double> Connects = Meter.CreateHistogram<double>(
        "parley.xmpp.connects",
        unit: "s",
        description: "Connect and reconnect attempts, each with the time it took to reach a usable stream; the outcome says whether a new session was established, the previous one resumed (XEP-0198), or the attempt failed.",
        tags: null,
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] });

    private static readonly Counter<long> Lost = Meter.CreateCounter<long>(
        "parley.xmpp.connections.lost",
        unit: "{connection}",
        description: "Live streams lost without a disconnect by this side; the outcome says whether the endpoint reconnects or stops.");

    private static readonly Counter<long> Received = Meter.CreateCounter<long>(
        "parley.xmpp.stanzas.received", unit: "{stanza}", description: "Stanzas read from the stream, by kind.");

    private static readonly Counter<long> Sent = Meter.CreateCounter<long>(
        "parley.xmpp.stanzas.sent", unit: "{stanza}", description: "Stanzas written to the stream, by kind (a re-sent stanza counts again).");

    private static readonly Histogram<double> IqDuration = Meter.CreateHistogram<double>(
        "parley.xmpp.iq.duration",
        unit: "s",
        description: "Time from sending an IQ request to its answer, by outcome: result, error (the peer answered with an error), timeout, cancelled, failed (the connection closed first).",
        tags: null,
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] });

    private static string? Version => typeof(XmppInstruments).Assembly.GetName().Version?.ToString();

    /// <summary>Whether the IQ round-trip histogram has a listener (then the caller takes a timestamp).</summary>
    public static bool IqDurationEnabled => IqDuration.Enabled;

    /// <summary>Whether the connect histogram has a listener.</summary>
    public static bool ConnectsEnabled => Connects.Enabled;

    public static void RecordConnect(bool isReconnect, string outcome, long startTimestamp)
    {
        if (Connects.Enabled)
        {
            Connects.Record(
                Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds,
                new KeyValuePair<string, object?>(KindTag, isReconnect ? "reconnect" : "connect"),
                new KeyValuePair<string, object?>(OutcomeTag, outcome));
        }
    }

    public static void RecordLost(bool willReconnect)
    {
        if (Lost.Enabled)
        {
            Lost.Add(1, new KeyValuePair<string, object?>(OutcomeTag, willReconnect ? "reconnecting" : "stopped"));
        }
    }

    public static void RecordReceived(Stanza stanza)
    {
        if (Received.Enabled)
        {
            Received.Add(1, new KeyValuePair<string, object?>(StanzaTag, KindOf(stanza)));
        }
    }

    public static void RecordSent(Stanza stanza)
    {
        if (Sent.Enabled)
        {
            Sent.Add(1, new KeyValuePair<string, object?>(StanzaTag, KindOf(stanza)));
        }
    }

    public static void RecordIq(string outcome, long startTimestamp)
    {
        if (IqDuration.Enabled)
        {
            IqDuration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds, new KeyValuePair<string, object?>(OutcomeTag, outcome));
        }
    }

    /// <summary>Marks an activity as failed with the exception's type and message (OpenTelemetry's exception conventions).</summary>
    public static void SetError(Activity? activity, Exception error)
    {
        if (activity is null)
        {
            return;
        }

        activity.SetStatus(ActivityStatusCode.Error, error.Message);
        activity.SetTag("error.type", error.GetType().FullName);
    }

    private static string KindOf(Stanza stanza) => stanza switch
    {
        Message => "message",
        Presence => "presence",
        _ => "iq",
    };
}
