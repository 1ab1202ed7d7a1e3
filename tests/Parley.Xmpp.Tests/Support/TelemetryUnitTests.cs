using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Parley.Xmpp.Tests.Support;

/// <summary>The hot path's promise: recording a stanza, an IQ or a connect allocates nothing, with or without a listener.</summary>
public sealed class TelemetryUnitTests
{
    private const int Rounds = 10_000;

    [Fact]
    public void Recording_allocates_nothing_while_no_listener_is_attached()
    {
        Assert.Equal(0, AllocatedWhileRecording());
    }

    [Fact]
    public void Recording_allocates_nothing_in_the_library_while_a_listener_takes_every_measurement()
    {
        long measurements = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == XmppTelemetry.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, _, _, _) => Interlocked.Increment(ref measurements));
        listener.SetMeasurementEventCallback<double>((_, _, _, _) => Interlocked.Increment(ref measurements));
        listener.Start();

        Assert.Equal(0, AllocatedWhileRecording());
        Assert.True(Interlocked.Read(ref measurements) >= 6L * Rounds, $"the listener saw {measurements} measurements");
    }

    private static long AllocatedWhileRecording()
    {
        var message = new Message(Jid.Parse("bob@example.org"), "hi");
        var presence = new Presence();
        var started = Stopwatch.GetTimestamp();
        RecordRounds(message, presence, started); // the first round may compile and tier up the methods
        var before = GC.GetAllocatedBytesForCurrentThread();
        RecordRounds(message, presence, started);
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    private static void RecordRounds(Message message, Presence presence, long started)
    {
        for (var i = 0; i < Rounds; i++)
        {
            XmppInstruments.RecordSent(message);
            XmppInstruments.RecordReceived(presence);
            XmppInstruments.RecordIq("result", started);
            XmppInstruments.RecordConnect(isReconnect: true, "resumed", started);
            XmppInstruments.RecordLost(willReconnect: true);
            XmppInstruments.RecordSent(presence);
        }
    }
}
