using Microsoft.Extensions.Logging;
using Parley.Xmpp.Core;

namespace Parley.Xmpp;

/// <summary>Every log message of the library, source-generated, with stable event ids (1xxx connection, 2xxx stanzas, 3xxx stream management, 9xxx traffic).</summary>
internal static partial class Log
{
    [LoggerMessage(1000, LogLevel.Debug, "Connecting to {Host}:{Port}")]
    public static partial void Connecting(ILogger logger, string host, int port);

    [LoggerMessage(1001, LogLevel.Debug, "SRV lookup for {Domain} failed ({Reason}); falling back to the domain itself")]
    public static partial void SrvLookupFailed(ILogger logger, string domain, string reason);

    [LoggerMessage(1002, LogLevel.Debug, "TLS with {Remote}: {Protocol}, {Cipher}")]
    public static partial void TlsEstablished(ILogger logger, string remote, string protocol, string cipher);

    [LoggerMessage(1003, LogLevel.Debug, "Authenticated with {Mechanism}")]
    public static partial void Authenticated(ILogger logger, string mechanism);

    [LoggerMessage(1004, LogLevel.Information, "Connected as {Jid}")]
    public static partial void Connected(ILogger logger, Jid jid);

    [LoggerMessage(1005, LogLevel.Warning, "Connection lost: {Reason}")]
    public static partial void ConnectionLost(ILogger logger, string reason, Exception? exception);

    [LoggerMessage(1006, LogLevel.Information, "Reconnecting in {Delay} (attempt {Attempt})")]
    public static partial void Reconnecting(ILogger logger, TimeSpan delay, int attempt);

    [LoggerMessage(1007, LogLevel.Warning, "Reconnect attempt {Attempt} failed: {Reason}")]
    public static partial void ReconnectFailed(ILogger logger, int attempt, string reason, Exception? exception);

    [LoggerMessage(1008, LogLevel.Error, "Giving up reconnecting after {Attempts} attempts")]
    public static partial void ReconnectGaveUp(ILogger logger, int attempts);

    [LoggerMessage(1009, LogLevel.Information, "Component {Domain} connected")]
    public static partial void ComponentConnected(ILogger logger, string domain);

    [LoggerMessage(1011, LogLevel.Critical, "Recovering from a lost connection failed; the endpoint is now disconnected")]
    public static partial void RecoveryFailed(ILogger logger, Exception exception);

    [LoggerMessage(1012, LogLevel.Critical, "Reading the connection failed in the library itself; the endpoint disconnects instead of reconnecting")]
    public static partial void ReaderFailed(ILogger logger, Exception exception);

    [LoggerMessage(1010, LogLevel.Debug, "Keep-alive ping failed: {Reason}")]
    public static partial void KeepAliveFailed(ILogger logger, string reason);

    [LoggerMessage(2000, LogLevel.Error, "A {Kind} handler failed; the connection goes on")]
    public static partial void HandlerFailed(ILogger logger, string kind, Exception exception);

    [LoggerMessage(2001, LogLevel.Warning, "Ignored an IQ response with id {Id} from {From}: the request went to {To}")]
    public static partial void IqResponseFromWrongSender(ILogger logger, string id, string? from, string? to);

    [LoggerMessage(2002, LogLevel.Debug, "Answered an unhandled IQ {Type} <{Name} xmlns='{Namespace}'/> with service-unavailable")]
    public static partial void UnhandledIq(ILogger logger, string type, string name, string @namespace);

    [LoggerMessage(2003, LogLevel.Debug, "Dropped a duplicate message {Id} from {From} (re-sent after a reconnect)")]
    public static partial void DuplicateMessage(ILogger logger, string id, string from);

    [LoggerMessage(2004, LogLevel.Warning, "Dropped a stanza with an invalid address: {Reason}")]
    public static partial void InvalidAddress(ILogger logger, string reason);

    [LoggerMessage(2005, LogLevel.Debug, "Ignored an unexpected top-level element <{Name} xmlns='{Namespace}'/>")]
    public static partial void UnexpectedElement(ILogger logger, string name, string @namespace);

    [LoggerMessage(2009, LogLevel.Warning, "Refused a <{Name}/> from {From}: {Reason}; the connection goes on")]
    public static partial void StanzaRefused(ILogger logger, string name, string from, string reason);

    [LoggerMessage(2010, LogLevel.Debug, "Could not answer stanza {Id}: {Reason}")]
    public static partial void AnswerFailed(ILogger logger, string? id, string reason);

    [LoggerMessage(3000, LogLevel.Debug, "Stream management enabled (resumable: {Resumable})")]
    public static partial void SmEnabled(ILogger logger, bool resumable);

    [LoggerMessage(3001, LogLevel.Information, "Stream resumed; {Count} unacknowledged stanzas re-sent")]
    public static partial void SmResumed(ILogger logger, int count);

    [LoggerMessage(3002, LogLevel.Warning, "Stream resumption failed ({Condition}); new session, {Count} unacknowledged stanzas re-sent")]
    public static partial void SmResumeFailed(ILogger logger, string condition, int count);

    [LoggerMessage(3003, LogLevel.Warning, "{Count} stanzas could not be delivered")]
    public static partial void Undelivered(ILogger logger, int count);

    [LoggerMessage(3004, LogLevel.Warning, "The server did not answer our acknowledgement request within {Timeout}; closing the connection for a new session ({Count} unacknowledged stanzas will be sent again)")]
    public static partial void AckTimedOut(ILogger logger, TimeSpan timeout, int count);

    [LoggerMessage(3005, LogLevel.Warning, "The server did not answer the ping that confirms what was sent within {Timeout}; closing the connection")]
    public static partial void ConfirmationTimedOut(ILogger logger, TimeSpan timeout);

    [LoggerMessage(9000, LogLevel.Trace, "SEND {Xml}")]
    public static partial void Sent(ILogger logger, string xml);

    [LoggerMessage(9001, LogLevel.Trace, "RECV {Xml}")]
    public static partial void Received(ILogger logger, string xml);
}
