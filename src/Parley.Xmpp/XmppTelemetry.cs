namespace Parley.Xmpp;

/// <summary>
/// The names under which the library reports traces and metrics through <see cref="System.Diagnostics"/>: pass them to
/// OpenTelemetry (<c>AddSource</c>, <c>AddMeter</c>) or to a <c>MeterListener</c>/<c>ActivityListener</c>. Nothing is
/// recorded, and nothing allocated for it, while no listener is attached.
/// </summary>
/// <remarks>
/// Activities: <c>xmpp.connect</c> (each connect and reconnect attempt) and <c>xmpp.iq</c> (an IQ request until its answer).
/// Instruments: <c>parley.xmpp.connects</c>, <c>parley.xmpp.connections.lost</c>, <c>parley.xmpp.stanzas.received</c>,
/// <c>parley.xmpp.stanzas.sent</c> and <c>parley.xmpp.iq.duration</c>; their tags are listed in the library's README.
/// </remarks>
public static class XmppTelemetry
{
    /// <summary>The name of the library's <see cref="System.Diagnostics.ActivitySource"/>.</summary>
    public const string ActivitySourceName = "Parley.Xmpp";

    /// <summary>The name of the library's <see cref="System.Diagnostics.Metrics.Meter"/>.</summary>
    public const string MeterName = "Parley.Xmpp";
}
