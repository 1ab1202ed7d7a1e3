using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;

namespace Parley.Xmpp.Accounts;

/// <summary>Why an account operation (registration, password change, removal, administration) failed.</summary>
public enum AccountErrorReason
{
    /// <summary>Something else went wrong; see the message and <see cref="XmppAccountException.Condition"/>.</summary>
    Failed,
    /// <summary>The username is already taken (<c>conflict</c>).</summary>
    UsernameTaken,
    /// <summary>A field is missing or has a value the server does not accept (<c>not-acceptable</c>, <c>bad-request</c>, <c>jid-malformed</c>).</summary>
    InvalidFields,
    /// <summary>The server does not allow this operation here (registration closed, password changes disabled: <c>not-allowed</c>, <c>forbidden</c> on registration).</summary>
    NotAllowed,
    /// <summary>This account lacks the permission (an administrative command as a non-admin: <c>forbidden</c>, <c>not-authorized</c>).</summary>
    Forbidden,
    /// <summary>The server does not offer the operation at all (<c>service-unavailable</c>, <c>feature-not-implemented</c>, unknown command node).</summary>
    NotSupported,
    /// <summary>Too many attempts in a short time (<c>resource-constraint</c>, <c>policy-violation</c>); try again later.</summary>
    RateLimited,
    /// <summary>The account does not exist.</summary>
    AccountNotFound,
    /// <summary>The server registers accounts elsewhere (a web page); see <see cref="XmppAccountException.RedirectUrl"/>.</summary>
    Redirected,
}

/// <summary>An account operation failed: the server refused it (the stanza error is in <see cref="Exception.InnerException"/>) or reported failure.</summary>
public sealed class XmppAccountException : XmppException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="reason">What kind of failure.</param>
    /// <param name="message">What happened, for people.</param>
    /// <param name="condition">The stanza error condition the server sent, if any.</param>
    /// <param name="innerException">The cause, usually an <see cref="XmppStanzaException"/>.</param>
    public XmppAccountException(AccountErrorReason reason, string message, string? condition = null, Exception? innerException = null)
        : base(message, innerException)
    {
        Reason = reason;
        Condition = condition;
    }

    /// <summary>What kind of failure.</summary>
    public AccountErrorReason Reason { get; }

    /// <summary>The stanza error condition (e.g. <c>conflict</c>), or <see langword="null"/> when the failure was not a stanza error.</summary>
    public string? Condition { get; }

    /// <summary>With <see cref="AccountErrorReason.Redirected"/>: where to register instead, when the server said.</summary>
    public Uri? RedirectUrl { get; init; }

    /// <summary>The stanza error, when the server answered with one.</summary>
    public StanzaError? StanzaError => (InnerException as XmppStanzaException)?.Error;
}
