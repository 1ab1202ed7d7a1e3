using Microsoft.Extensions.Logging;
using Parley.Xmpp.Core;

namespace Parley.Xmpp.FileTransfer;

/// <summary>Log messages of Jingle file transfer and of the method choice (event ids 51xx).</summary>
internal static partial class JingleLog
{
    [LoggerMessage(5100, LogLevel.Information, "File transfer to {To}: {Method}, because {Why}")]
    public static partial void MethodChosen(ILogger logger, Jid to, FileTransferMethod method, string why);

    [LoggerMessage(5101, LogLevel.Debug, "File transfer: {Resource} not used: {Why}")]
    public static partial void ResourceSkipped(ILogger logger, Jid resource, string why);

    [LoggerMessage(5102, LogLevel.Information, "Jingle offer of {Name} ({Size} bytes) to {To}, session {Sid}, over {Transport}")]
    public static partial void Offering(ILogger logger, string name, long size, Jid to, string sid, FileTransferMethod transport);

    [LoggerMessage(5103, LogLevel.Warning, "Jingle session {Sid} with {Peer}: SOCKS5 failed ({Reason}); replacing the transport with in-band bytestreams")]
    public static partial void ReplacingTransport(ILogger logger, string sid, Jid peer, string reason);

    [LoggerMessage(5104, LogLevel.Debug, "Jingle session {Sid} with {Peer}: {Event}")]
    public static partial void S5bEvent(ILogger logger, string sid, Jid peer, string @event);

    [LoggerMessage(5105, LogLevel.Debug, "Jingle session {Sid}: could not send {Action} to {Peer}: {Reason}")]
    public static partial void SendFailed(ILogger logger, string sid, string action, Jid peer, string reason);

    [LoggerMessage(5106, LogLevel.Information, "Jingle session {Sid} with {Peer} terminated by the peer: {Reason}")]
    public static partial void TerminatedByPeer(ILogger logger, string sid, Jid peer, string reason);

    [LoggerMessage(5107, LogLevel.Information, "Incoming Jingle session {Sid} from {Peer} refused: {Reason}")]
    public static partial void Refused(ILogger logger, string sid, Jid peer, string reason);

    [LoggerMessage(5108, LogLevel.Warning, "Jingle session {Sid} from {Peer}: the sender's checksum ({Checksum}) contradicts the SHA-256 it announced before ({Announced}); the file is not kept")]
    public static partial void LateChecksumMismatch(ILogger logger, string sid, Jid peer, string announced, string checksum);
}
