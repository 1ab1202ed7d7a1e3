namespace Parley.Xmpp.FileTransfer;

/// <summary>Options of one send.</summary>
public sealed class FileSendOptions
{
    /// <summary>
    /// The methods allowed; default Jingle, SOCKS5, in-band. With <see cref="FileTransferMethod.Jingle"/> listed, a receiver
    /// announcing Jingle file transfer gets a Jingle session (over the bytestreams listed, or both when none is); otherwise
    /// an SI offer with the bytestreams listed, of which the receiver picks one.
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
}
