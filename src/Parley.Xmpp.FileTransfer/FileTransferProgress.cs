namespace Parley.Xmpp.FileTransfer;

/// <summary>How far a transfer is.</summary>
/// <param name="BytesTransferred">Bytes sent (acknowledged, for in-band streams) or received so far.</param>
/// <param name="TotalBytes">The file size.</param>
/// <param name="Method">The method carrying the bytes.</param>
public readonly record struct FileTransferProgress(long BytesTransferred, long TotalBytes, FileTransferMethod Method);
