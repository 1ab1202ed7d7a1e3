using Parley.Xmpp.Stanzas;

namespace Parley.Xmpp.FileTransfer;

/// <summary>Options of one send.</summary>
public sealed class FileSendOptions
{
    /// <summary>
    /// The methods allowed, in order of preference; default Jingle, SOCKS5, in-band. With <see cref="FileTransferMethod.Jingle"/>
    /// listed, a receiver announcing Jingle file transfer gets a Jingle session (over the bytestreams listed, or both when none
    /// is); SI (XEP-0096) offers the bytestreams listed, of which the receiver picks one; with
    /// <see cref="FileTransferMethod.HttpUpload"/> listed the file is uploaded and a link sent. Jingle, SI and HTTP upload are
    /// tried in the order they first appear; a method the receiver does not announce is skipped (SI is still tried when
    /// nothing later is listed), and when one fails (declined, no connection, timeout…) the next is tried.
    /// Each step is logged and kept in <see cref="FileTransferResult.Attempts"/>.
    /// </summary>
    public IReadOnlyList<FileTransferMethod> Methods { get; init; } = [FileTransferMethod.Jingle, FileTransferMethod.Socks5Bytestreams, FileTransferMethod.InBandBytestreams];

    /// <summary>The file's last modification time, sent in Jingle offers (XEP-0234 &lt;date/&gt;).</summary>
    public DateTimeOffset? LastModified { get; init; }

    /// <summary>A description shown to the receiver.</summary>
    public string? Description { get; init; }

    /// <summary>The MIME type offered; default <c>application/octet-stream</c>.</summary>
    public string? MimeType { get; init; }

    /// <summary>
    /// Whether to put the file's SHA-256 in the offer (XEP-0300) so the receiver can verify it. The content is read
    /// once more before the offer for that; only possible for seekable content. Default true.
    /// </summary>
    public bool IncludeHash { get; init; } = true;

    /// <summary>The type of the link message of <see cref="FileTransferMethod.HttpUpload"/>; default chat.</summary>
    public MessageType LinkMessageType { get; init; } = MessageType.Chat;

    /// <summary>
    /// Called after the upload and before the link message of <see cref="FileTransferMethod.HttpUpload"/> is sent, with the
    /// methods given up before (e.g. to tell the user why a link comes instead of the file).
    /// </summary>
    public Func<IReadOnlyList<FileTransferAttempt>, CancellationToken, ValueTask>? BeforeLinkAsync { get; init; }
}
