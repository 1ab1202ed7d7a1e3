using Parley.Xmpp.Core;

namespace Parley.Xmpp.FileTransfer;

/// <summary>Why a transfer failed.</summary>
public enum FileTransferError
{
    /// <summary>The receiver declined the offer.</summary>
    Declined,

    /// <summary>The peer supports none of the offered methods, or refused the stream.</summary>
    NoCommonMethod,

    /// <summary>The bytestream could not be established or broke.</summary>
    StreamFailed,

    /// <summary>The peer aborted the transfer.</summary>
    Aborted,

    /// <summary>The bytes received do not match the size offered.</summary>
    SizeMismatch,

    /// <summary>The bytes received do not match the hash offered.</summary>
    HashMismatch,

    /// <summary>The peer broke the protocol.</summary>
    Protocol,

    /// <summary>The peer did not answer or stopped sending in time.</summary>
    Timeout,

    /// <summary>The receiving side could not store the file: the disk is full, the folder is not writable, a write failed.</summary>
    StorageFailed,
}

/// <summary>A file transfer failed for a reason outside the caller's code.</summary>
public sealed class FileTransferException : XmppException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="error">Why it failed.</param>
    /// <param name="message">What happened.</param>
    /// <param name="innerException">The cause, if any.</param>
    public FileTransferException(FileTransferError error, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Error = error;
    }

    /// <summary>Why the transfer failed.</summary>
    public FileTransferError Error { get; }
}
