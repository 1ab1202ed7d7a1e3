namespace Parley.Xmpp.FileTransfer;

/// <summary>A method given up during a send, before the next one in <see cref="FileSendOptions.Methods"/> was tried.</summary>
/// <param name="Method">The method: <see cref="FileTransferMethod.Jingle"/>, an SI bytestream, or <see cref="FileTransferMethod.HttpUpload"/>.</param>
/// <param name="Error">Why it failed, or <see langword="null"/> when it was not tried (the receiver does not announce it).</param>
/// <param name="Reason">What happened, for logs and users.</param>
public sealed record FileTransferAttempt(FileTransferMethod Method, FileTransferError? Error, string Reason)
{
    /// <summary>Whether the method was tried (and failed) rather than skipped as unsupported.</summary>
    public bool WasTried => Error is not null;

    /// <inheritdoc/>
    public override string ToString() => $"{Method}: {Reason}";
}
