using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Parley.Xmpp.FileTransfer;

/// <summary>
/// The file-transfer activity source and instruments (names in <see cref="FileTransferTelemetry"/>). Static and shared by
/// every manager in the process; tag values are constant strings, and nothing is built while an instrument has no listener.
/// </summary>
internal static class FileTransferInstruments
{
    public const string DirectionTag = "parley.xmpp.file_transfer.direction";
    public const string MethodTag = "parley.xmpp.file_transfer.method";
    public const string TransportTag = "parley.xmpp.file_transfer.transport";
    public const string OutcomeTag = "parley.xmpp.outcome";

    public static readonly ActivitySource Source = new(FileTransferTelemetry.ActivitySourceName, Version);

    private static readonly Meter Meter = new(FileTransferTelemetry.MeterName, Version);

    private static readonly Counter<long> Transfers = Meter.CreateCounter<long>(
        "parley.xmpp.file_transfers",
        unit: "{transfer}",
        description: "File transfers that ended (sent, or accepted and received), by direction, method, transport and outcome (completed or the error).");

    private static readonly Counter<long> Bytes = Meter.CreateCounter<long>(
        "parley.xmpp.file_transfer.bytes",
        unit: "By",
        description: "File bytes moved by ended transfers (a failed receive counts what arrived before it failed), by direction, method and transport.");

    private static string? Version => typeof(FileTransferInstruments).Assembly.GetName().Version?.ToString();

    public static void RecordSent(FileTransferResult result)
        => Record("send", result.Method, result.Transport, "completed", result.Bytes);

    public static void RecordSendFailed(Exception error)
        => Record("send", null, null, OutcomeOf(error), 0);

    public static void RecordReceived(IncomingFileTransferEventArgs args)
        => Record("receive", args.Method, args.Transport, args.Error is null ? "completed" : OutcomeOf(args.Error), args.Bytes);

    /// <summary>The outcome tag of a failure: the transfer error's name, or what kind of failure it was.</summary>
    public static string OutcomeOf(Exception error) => error switch
    {
        FileTransferException transfer => transfer.Error switch
        {
            FileTransferError.Declined => "declined",
            FileTransferError.NoCommonMethod => "no_common_method",
            FileTransferError.StreamFailed => "stream_failed",
            FileTransferError.Aborted => "aborted",
            FileTransferError.SizeMismatch => "size_mismatch",
            FileTransferError.HashMismatch => "hash_mismatch",
            FileTransferError.Protocol => "protocol",
            FileTransferError.Timeout => "timeout",
            FileTransferError.StorageFailed => "storage_failed",
            _ => "failed",
        },
        OperationCanceledException => "cancelled",
        _ => "failed",
    };

    private static void Record(string direction, FileTransferMethod? method, FileTransferMethod? transport, string outcome, long bytes)
    {
        if (Transfers.Enabled)
        {
            Transfers.Add(
                1,
                new KeyValuePair<string, object?>(DirectionTag, direction),
                new KeyValuePair<string, object?>(MethodTag, NameOf(method)),
                new KeyValuePair<string, object?>(TransportTag, NameOf(transport)),
                new KeyValuePair<string, object?>(OutcomeTag, outcome));
        }

        if (Bytes.Enabled && bytes > 0)
        {
            Bytes.Add(
                bytes,
                new KeyValuePair<string, object?>(DirectionTag, direction),
                new KeyValuePair<string, object?>(MethodTag, NameOf(method)),
                new KeyValuePair<string, object?>(TransportTag, NameOf(transport)));
        }
    }

    private static string NameOf(FileTransferMethod? method) => method switch
    {
        FileTransferMethod.Socks5Bytestreams => "socks5",
        FileTransferMethod.InBandBytestreams => "ibb",
        FileTransferMethod.Jingle => "jingle",
        FileTransferMethod.HttpUpload => "http_upload",
        _ => "none",
    };
}
