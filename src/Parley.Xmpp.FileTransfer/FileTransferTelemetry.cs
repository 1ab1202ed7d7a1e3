namespace Parley.Xmpp.FileTransfer;

/// <summary>
/// The names under which file transfers are traced and measured through <see cref="System.Diagnostics"/>: pass them to
/// OpenTelemetry (<c>AddSource</c>, <c>AddMeter</c>) next to <see cref="XmppTelemetry"/>'s. Nothing is recorded while no
/// listener is attached.
/// </summary>
/// <remarks>
/// Activity: <c>xmpp.file_transfer.send</c> (one send, fallbacks included). Instruments: <c>parley.xmpp.file_transfers</c>
/// (ended transfers) and <c>parley.xmpp.file_transfer.bytes</c>, both tagged with the direction, the method and transport
/// used, and the outcome (see the package README).
/// </remarks>
public static class FileTransferTelemetry
{
    /// <summary>The name of the file-transfer <see cref="System.Diagnostics.ActivitySource"/>.</summary>
    public const string ActivitySourceName = "Parley.Xmpp.FileTransfer";

    /// <summary>The name of the file-transfer <see cref="System.Diagnostics.Metrics.Meter"/>.</summary>
    public const string MeterName = "Parley.Xmpp.FileTransfer";
}
