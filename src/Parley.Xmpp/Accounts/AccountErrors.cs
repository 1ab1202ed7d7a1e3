using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;

namespace Parley.Xmpp.Accounts;

/// <summary>Builds every <see cref="XmppAccountException"/>: one place that turns a server's answer into a reason and a message a person can act on.</summary>
internal static class AccountErrors
{
    /// <summary>Maps a stanza error to a reason. <paramref name="forbiddenMeansClosed"/>: on registration a refusal is a policy, not a missing permission.</summary>
    public static AccountErrorReason ReasonOf(StanzaError error, bool forbiddenMeansClosed) => error.Condition switch
    {
        "conflict" => AccountErrorReason.UsernameTaken,
        "not-acceptable" or "bad-request" or "jid-malformed" => AccountErrorReason.InvalidFields,
        "not-allowed" => AccountErrorReason.NotAllowed,
        "forbidden" => forbiddenMeansClosed ? AccountErrorReason.NotAllowed : AccountErrorReason.Forbidden,
        "not-authorized" or "registration-required" => AccountErrorReason.Forbidden,
        "service-unavailable" or "feature-not-implemented" => AccountErrorReason.NotSupported,
        "resource-constraint" => AccountErrorReason.RateLimited,

        // Prosody uses policy-violation both for throttling (type wait) and for "encryption required" (type modify).
        "policy-violation" => error.Type == StanzaErrorType.Wait ? AccountErrorReason.RateLimited : AccountErrorReason.NotAllowed,
        "item-not-found" => AccountErrorReason.AccountNotFound,
        _ => AccountErrorReason.Failed,
    };

    public static XmppAccountException Registration(XmppStanzaException ex, string username, string domain)
    {
        var reason = ReasonOf(ex.Error, forbiddenMeansClosed: true);
        var message = reason switch
        {
            AccountErrorReason.UsernameTaken => $"The username '{username}' is already taken on {domain}.",
            AccountErrorReason.InvalidFields => $"{domain} refused the registration of '{username}': a field is missing or invalid",
            AccountErrorReason.NotAllowed => $"{domain} does not allow registering an account here",
            AccountErrorReason.NotSupported => $"{domain} does not offer in-band registration (XEP-0077), or could not create the account",
            AccountErrorReason.RateLimited => $"{domain} refused the registration because of too many attempts; try again later",
            AccountErrorReason.Forbidden => $"{domain} refused the registration of '{username}'",
            _ => $"Registering '{username}' on {domain} failed",
        };
        return new XmppAccountException(reason, WithDetails(message, ex.Error), ex.Condition, ex);
    }

    public static XmppAccountException PasswordChange(XmppStanzaException ex, Jid account)
    {
        var reason = ReasonOf(ex.Error, forbiddenMeansClosed: false);
        var message = reason switch
        {
            AccountErrorReason.NotAllowed => $"The server of {account.Bare} does not allow changing the password in-band",
            AccountErrorReason.Forbidden => $"The server of {account.Bare} refused the password change (it may consider the connection unsafe)",
            AccountErrorReason.InvalidFields => $"The server of {account.Bare} refused the new password or the request",
            AccountErrorReason.NotSupported => $"The server of {account.Bare} does not support changing the password in-band (XEP-0077)",
            _ => $"Changing the password of {account.Bare} failed",
        };
        return new XmppAccountException(reason, WithDetails(message, ex.Error), ex.Condition, ex);
    }

    public static XmppAccountException Removal(XmppStanzaException ex, Jid account)
    {
        var reason = ReasonOf(ex.Error, forbiddenMeansClosed: false);
        var message = reason switch
        {
            AccountErrorReason.NotAllowed => $"The server of {account.Bare} does not allow removing accounts in-band",
            AccountErrorReason.Forbidden => $"The server of {account.Bare} refused to remove the account",
            AccountErrorReason.NotSupported => $"The server of {account.Bare} does not support removing accounts in-band (XEP-0077)",
            _ => $"Removing the account {account.Bare} failed",
        };
        return new XmppAccountException(reason, WithDetails(message, ex.Error), ex.Condition, ex);
    }

    /// <summary>An administrative command was answered with an error. <paramref name="submitted"/>: whether the form had been sent (so item-not-found means the account, not the command).</summary>
    public static XmppAccountException Admin(XmppStanzaException ex, string operation, Jid service, bool submitted)
    {
        var reason = ex.Condition == "item-not-found" && !submitted ? AccountErrorReason.NotSupported : ReasonOf(ex.Error, forbiddenMeansClosed: false);
        var message = reason switch
        {
            AccountErrorReason.Forbidden => $"{service} refused to {operation}: this account is not an administrator of {service}",
            AccountErrorReason.NotSupported => $"{service} does not offer the administrative command to {operation} (XEP-0133)",
            AccountErrorReason.UsernameTaken => $"{service} could not {operation}: the account already exists",
            AccountErrorReason.AccountNotFound => $"{service} could not {operation}: no such account",
            _ => $"{service} could not {operation}",
        };
        return new XmppAccountException(reason, WithDetails(message, ex.Error), ex.Condition, ex);
    }

    private static string WithDetails(string message, StanzaError error)
        => error.Text is { Length: > 0 } text ? $"{message.TrimEnd('.')} ({error.Condition}: {text.Trim()})." : $"{message.TrimEnd('.')} ({error.Condition}).";
}
