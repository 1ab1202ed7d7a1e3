namespace Parley.Xmpp.FileTransfer;

/// <summary>The outcome of a completed send.</summary>
/// <param name="Sid">The stream id of the transfer.</param>
/// <param name="Method">The method that carried the bytes.</param>
/// <param name="Bytes">Bytes sent.</param>
/// <param name="Sha256">The SHA-256 of the bytes sent, lower-case hex: computed while sending, or <see cref="FileSendOptions.Sha256"/> when given (not re-verified by the sender).</param>
/// <param name="Elapsed">Time from the offer to the end of the stream.</param>
/// <param name="FallbackReason">Why methods (or bytestreams) that were tried were given up, when the transfer fell back to another one.</param>
public sealed record FileTransferResult(string Sid, FileTransferMethod Method, long Bytes, string Sha256, TimeSpan Elapsed, string? FallbackReason = null)
{
    private readonly FileTransferMethod? _transport;

    /// <summary>The bytestream that carried the bytes: for SI the same as <see cref="Method"/>, for Jingle SOCKS5 or in-band.</summary>
    public FileTransferMethod Transport { get => _transport ?? Method; init => _transport = value; }

    /// <summary>For <see cref="FileTransferMethod.HttpUpload"/>: the download URL sent to the receiver.</summary>
    public Uri? Link { get; init; }

    /// <summary>The methods tried (and failed) or skipped (not announced) before the one that worked, in order, with the reason for each.</summary>
    public IReadOnlyList<FileTransferAttempt> Attempts { get; init; } = [];
}
