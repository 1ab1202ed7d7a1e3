using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;

namespace Parley.Xmpp.Upload;

/// <summary>Why an HTTP file upload (XEP-0363) failed.</summary>
public enum HttpUploadError
{
    /// <summary>The server offers no upload service.</summary>
    NoService,
    /// <summary>The file is larger than the service accepts; nothing was uploaded.</summary>
    FileTooLarge,
    /// <summary>The service refused the slot request (quota, policy…); see the inner <see cref="XmppStanzaException"/>.</summary>
    SlotRefused,
    /// <summary>The service answered the slot request with something unusable (no PUT/GET URL, a header with an invalid value).</summary>
    InvalidSlot,
    /// <summary>The HTTP PUT was answered with an error status (<see cref="HttpUploadException.StatusCode"/>).</summary>
    HttpError,
    /// <summary>The HTTP PUT failed on the network, or did not finish in time.</summary>
    Transport,
}

/// <summary>An HTTP file upload (XEP-0363) failed. <see cref="Error"/> says at which step.</summary>
public sealed class HttpUploadException : XmppException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="error">At which step it failed.</param>
    /// <param name="message">What happened, for people.</param>
    /// <param name="innerException">The cause, if any.</param>
    public HttpUploadException(HttpUploadError error, string message, Exception? innerException = null)
        : base(message, innerException) => Error = error;

    /// <summary>At which step the upload failed.</summary>
    public HttpUploadError Error { get; }

    /// <summary>The HTTP status of the PUT answer, for <see cref="HttpUploadError.HttpError"/>.</summary>
    public int? StatusCode { get; init; }

    /// <summary>The service's limit in bytes, for <see cref="HttpUploadError.FileTooLarge"/> when the service said it.</summary>
    public long? MaxFileSize { get; init; }

    /// <summary>When the service said a refused slot request may be retried (XEP-0363 &lt;retry stamp/&gt;).</summary>
    public DateTimeOffset? RetryAfter { get; init; }
}
