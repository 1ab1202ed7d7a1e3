using Microsoft.Extensions.Logging;
using Parley.Xmpp.Core;

namespace Parley.Xmpp.FileTransfer;

/// <summary>Log messages of file transfer (event ids 5xxx).</summary>
internal static partial class FileTransferLog
{
    [LoggerMessage(5000, LogLevel.Information, "Sending {Name} ({Size} bytes) to {To}, sid {Sid}, over {Method}")]
    public static partial void Sending(ILogger logger, string name, long size, Jid to, string sid, FileTransferMethod method);

    [LoggerMessage(5001, LogLevel.Information, "Sent {Bytes} bytes to {To}, sid {Sid}, over {Method} in {Elapsed}")]
    public static partial void Sent(ILogger logger, long bytes, Jid to, string sid, FileTransferMethod method, TimeSpan elapsed);

    [LoggerMessage(5002, LogLevel.Warning, "SOCKS5 to {To}, sid {Sid}, failed ({Reason}); falling back to in-band bytestreams")]
    public static partial void FallingBack(ILogger logger, Jid to, string sid, string reason);

    [LoggerMessage(5003, LogLevel.Debug, "No answer to the in-band close of sid {Sid} within {Timeout}; every block was acknowledged, so it counts as delivered")]
    public static partial void CloseUnanswered(ILogger logger, string sid, TimeSpan timeout);

    [LoggerMessage(5004, LogLevel.Debug, "SOCKS5 proxy discovery: {Result}")]
    public static partial void ProxyDiscovery(ILogger logger, string result);

    [LoggerMessage(5005, LogLevel.Debug, "Streamhost {Host}:{Port} ({Jid}) failed: {Reason}")]
    public static partial void StreamhostFailed(ILogger logger, string host, int port, string jid, string reason);

    [LoggerMessage(5006, LogLevel.Information, "Offer of {Name} ({Size} bytes) from {From}, sid {Sid}: {Decision}")]
    public static partial void OfferDecided(ILogger logger, string name, long size, Jid from, string sid, string decision);

    [LoggerMessage(5007, LogLevel.Information, "Incoming transfer: {Result}")]
    public static partial void IncomingEnded(ILogger logger, string result);

    [LoggerMessage(5008, LogLevel.Debug, "SOCKS5 listener: accept failed: {Reason}")]
    public static partial void Socks5AcceptFailed(ILogger logger, string reason);

    [LoggerMessage(5009, LogLevel.Debug, "SOCKS5 listener: handshake failed: {Reason}")]
    public static partial void Socks5HandshakeFailed(ILogger logger, string reason);

    [LoggerMessage(5010, LogLevel.Error, "A handler of the TransferEnded event failed")]
    public static partial void EventHandlerFailed(ILogger logger, Exception exception);

    [LoggerMessage(5011, LogLevel.Debug, "Could not tell {To} that sid {Sid} is closed: {Reason}")]
    public static partial void CloseFailed(ILogger logger, Jid to, string sid, string reason);

    [LoggerMessage(5013, LogLevel.Information, "Uploading {Name} ({Size} bytes) to {PutUrl}")]
    public static partial void Uploading(ILogger logger, string name, long size, string putUrl);

    [LoggerMessage(5014, LogLevel.Warning, "Sending {Name} to {To} over {Method} failed ({Error}: {Reason}); trying {Next}")]
    public static partial void MethodFailed(ILogger logger, string name, Jid to, FileTransferMethod method, FileTransferError? error, string reason, FileTransferMethod next);

    [LoggerMessage(5015, LogLevel.Information, "Not sending {Name} to {To} over {Method}: {Reason}")]
    public static partial void MethodSkipped(ILogger logger, string name, Jid to, FileTransferMethod method, string reason);

    [LoggerMessage(5012, LogLevel.Information, "SOCKS5 listener on {Address}:{Port}, advertised as {Hosts}")]
    public static partial void ListenerStarted(ILogger logger, string address, int port, string hosts);
}
