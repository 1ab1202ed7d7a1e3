using Parley.Xmpp.Core;

namespace Parley.Xmpp.FileTransfer;

/// <summary>A file a peer offers us. The incoming policy answers it with <see cref="Accept"/> or <see cref="Decline"/>.</summary>
public sealed class IncomingFileOffer
{
    internal IncomingFileOffer(Jid from, string sid, string originalName, long size, string? description, string? mimeType, string? sha256, IReadOnlyList<FileTransferMethod> methods)
    {
        From = from;
        Sid = sid;
        OriginalName = originalName;
        FileName = FileNames.Sanitize(originalName);
        Size = size;
        Description = description;
        MimeType = mimeType;
        Sha256 = sha256;
        Methods = methods;
    }

    /// <summary>The sender's full JID.</summary>
    public Jid From { get; }

    /// <summary>The stream id of the transfer.</summary>
    public string Sid { get; }

    /// <summary>The file name as the peer sent it. Never use it as a path.</summary>
    public string OriginalName { get; }

    /// <summary>The file name made safe: no directories, no leading dots, no control characters, length-limited.</summary>
    public string FileName { get; }

    /// <summary>The size the peer announced, in bytes.</summary>
    public long Size { get; }

    /// <summary>The peer's description, if any.</summary>
    public string? Description { get; }

    /// <summary>The MIME type the peer announced, if any.</summary>
    public string? MimeType { get; }

    /// <summary>
    /// The SHA-256 the peer announced (XEP-0300), lower-case hex, or <see langword="null"/>. When present, the file is only
    /// kept if it matches. A Jingle offer may announce it with <c>&lt;hash-used/&gt;</c> and send the value after the data
    /// (XEP-0234 <c>&lt;checksum/&gt;</c>): it is then <see langword="null"/> when the offer is decided, and the file is only
    /// kept once the checksum came and matched.
    /// </summary>
    public string? Sha256 { get; internal set; }

    /// <summary>The file's last modification time, when the peer sent it (Jingle offers).</summary>
    public DateTimeOffset? Date { get; init; }

    /// <summary>The stream methods the peer offered that this library supports.</summary>
    public IReadOnlyList<FileTransferMethod> Methods { get; }

    /// <summary>Accepts the offer: the file is written to a temporary file in <paramref name="folder"/> and moved into place when complete and verified.</summary>
    /// <param name="folder">An existing folder.</param>
    /// <param name="fileName">A name to save under instead of <see cref="FileName"/>; it is sanitized too.</param>
    /// <param name="progress">Receives progress reports.</param>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    public FileOfferDecision Accept(string folder, string? fileName = null, IProgress<FileTransferProgress>? progress = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        var full = Path.GetFullPath(folder);
        if (!Directory.Exists(full))
        {
            throw new DirectoryNotFoundException($"The folder '{full}' does not exist.");
        }

        return new FileOfferDecision(true, full, fileName is null ? FileName : FileNames.Sanitize(fileName), progress, null);
    }

    /// <summary>Declines the offer; the peer gets <c>forbidden</c>.</summary>
    /// <param name="reason">A text for the peer.</param>
    public FileOfferDecision Decline(string? reason = null) => new(false, null, null, null, reason ?? "Offer declined");

    /// <inheritdoc/>
    public override string ToString() => $"{FileName} ({Size} bytes) from {From}, sid {Sid}";
}

/// <summary>The answer to an <see cref="IncomingFileOffer"/>; made by <see cref="IncomingFileOffer.Accept"/> or <see cref="IncomingFileOffer.Decline"/>.</summary>
public sealed class FileOfferDecision
{
    internal FileOfferDecision(bool accepted, string? folder, string? fileName, IProgress<FileTransferProgress>? progress, string? reason)
    {
        Accepted = accepted;
        Folder = folder;
        FileName = fileName;
        Progress = progress;
        Reason = reason;
    }

    /// <summary>Whether the offer was accepted.</summary>
    public bool Accepted { get; }

    internal string? Folder { get; }

    internal string? FileName { get; }

    internal IProgress<FileTransferProgress>? Progress { get; }

    internal string? Reason { get; }
}

/// <summary>An accepted incoming transfer that ended, well or not.</summary>
public sealed class IncomingFileTransferEventArgs : EventArgs
{
    private readonly FileTransferMethod? _transport;

    internal IncomingFileTransferEventArgs(IncomingFileOffer offer, FileTransferMethod? method, string? path, long bytes, string? sha256, FileTransferException? error)
    {
        Offer = offer;
        Method = method;
        Path = path;
        Bytes = bytes;
        Sha256 = sha256;
        Error = error;
    }

    /// <summary>The offer.</summary>
    public IncomingFileOffer Offer { get; }

    /// <summary>Whether the file was received completely, verified and moved into place.</summary>
    public bool Succeeded => Error is null;

    /// <summary>The method that carried the bytes, if a stream was opened (<see cref="FileTransferMethod.Jingle"/> for Jingle sessions).</summary>
    public FileTransferMethod? Method { get; }

    /// <summary>The bytestream that carried the bytes: for SI the same as <see cref="Method"/>, for Jingle SOCKS5 or in-band.</summary>
    public FileTransferMethod? Transport { get => _transport ?? Method; init => _transport = value; }

    /// <summary>Where the file is, when it succeeded.</summary>
    public string? Path { get; }

    /// <summary>Bytes received.</summary>
    public long Bytes { get; }

    /// <summary>The SHA-256 of the bytes received, lower-case hex (when a stream was opened).</summary>
    public string? Sha256 { get; }

    /// <summary>Why it failed, or <see langword="null"/>.</summary>
    public FileTransferException? Error { get; }

    /// <inheritdoc/>
    public override string ToString() => Succeeded ? $"received {Offer.FileName} ({Bytes} bytes, {Method}) to {Path}" : $"failed {Offer.FileName}: {Error!.Error}: {Error.Message}";
}
