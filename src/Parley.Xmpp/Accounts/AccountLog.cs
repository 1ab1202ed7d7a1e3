using Microsoft.Extensions.Logging;
using Parley.Xmpp.Core;

namespace Parley.Xmpp.Accounts;

/// <summary>Log messages of account management and ad-hoc commands, source-generated, event ids 5xxx. Never carries a password.</summary>
internal static partial class AccountLog
{
    [LoggerMessage(5000, LogLevel.Information, "Registered account {Username} on {Domain}")]
    public static partial void Registered(ILogger logger, string username, string domain);

    [LoggerMessage(5001, LogLevel.Information, "Changed the password of {Account}")]
    public static partial void PasswordChanged(ILogger logger, Jid account);

    [LoggerMessage(5002, LogLevel.Information, "Removed account {Account}")]
    public static partial void AccountRemoved(ILogger logger, Jid account);

    [LoggerMessage(5003, LogLevel.Information, "Administrative command {Node} on {Service} completed for {Account}")]
    public static partial void AdminCommandCompleted(ILogger logger, string node, Jid service, Jid account);

    [LoggerMessage(5004, LogLevel.Debug, "Ad-hoc command {Node} from {From}: {Action}")]
    public static partial void CommandRequested(ILogger logger, string node, string from, string action);

    [LoggerMessage(5005, LogLevel.Error, "Ad-hoc command {Node} failed")]
    public static partial void CommandFailed(ILogger logger, string node, Exception exception);
}
