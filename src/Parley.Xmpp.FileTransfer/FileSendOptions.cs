namespace Parley.Xmpp.FileTransfer;

/// <summary>Options of one send.</summary>
public sealed class FileSendOptions
{
    /// <summary>The methods offered, in order of preference; default SOCKS5 then in-band. The receiver picks one of them.</summary>
    public IReadOnlyList<FileTransferMethod> Methods { get; init; } = [FileTransferMethod.Socks5Bytestreams, FileTransferMethod.InBandBytestreams];

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
