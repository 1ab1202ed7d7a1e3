namespace Parley.Web.Xmpp;

/// <summary>Log messages that several parts of the XMPP side write with the same meaning.</summary>
internal static partial class XmppSideLog
{
    [LoggerMessage(EventId = 105, Level = LogLevel.Error, Message = "The store failed; retrying later: {Reason}")]
    public static partial void StoreFailed(ILogger logger, string reason);
}
