namespace Parley.Xmpp.Core;

/// <summary>The base of every exception the library throws for a reason that lies outside the caller's code.</summary>
public abstract class XmppException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What happened.</param>
    /// <param name="innerException">The cause, if any.</param>
    protected XmppException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}

/// <summary>The network failed: DNS, connect, TLS, a dropped connection or a timeout while connecting.</summary>
public class XmppTransportException : XmppException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What happened.</param>
    /// <param name="isTransient">Whether trying again later may succeed.</param>
    /// <param name="innerException">The cause, if any.</param>
    public XmppTransportException(string message, bool isTransient, Exception? innerException = null)
        : base(message, innerException) => IsTransient = isTransient;

    /// <summary>Whether trying again later may succeed (a dropped link or an unreachable host, not a refused certificate).</summary>
    public bool IsTransient { get; }
}

/// <summary>
/// A stanza was to be sent while the endpoint is not connected: before <see cref="XmppEndpoint.ConnectAsync"/> completed,
/// after <see cref="XmppEndpoint.DisconnectAsync"/>, or after reconnecting gave up. While the endpoint reconnects on its own,
/// stanzas wait for the new connection instead.
/// </summary>
/// <remarks>
/// <see cref="XmppTransportException.IsTransient"/> is <see langword="false"/>: from this state the endpoint does not connect
/// again by itself, so trying again later fails the same way until the caller connects.
/// </remarks>
public sealed class XmppNotConnectedException : XmppTransportException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="state">The endpoint's state when the request was refused.</param>
    /// <param name="message">What was refused; by default that a stanza cannot be sent in <paramref name="state"/>.</param>
    public XmppNotConnectedException(XmppConnectionState state, string? message = null)
        : base(message ?? $"Cannot send while {state}; call ConnectAsync first.", isTransient: false) => State = state;

    /// <summary>The endpoint's state when the request was refused.</summary>
    public XmppConnectionState State { get; }
}

/// <summary>The TLS handshake failed or the server's certificate was not trusted.</summary>
public sealed class XmppTlsException : XmppTransportException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What happened.</param>
    /// <param name="certificateSha256">The SHA-256 of the server certificate (hex), when one was presented.</param>
    /// <param name="innerException">The cause, if any.</param>
    public XmppTlsException(string message, string? certificateSha256 = null, Exception? innerException = null)
        : base(message, isTransient: false, innerException) => CertificateSha256 = certificateSha256;

    /// <summary>The SHA-256 fingerprint of the certificate the server presented (lower-case hex), to pin it if it is the right one.</summary>
    public string? CertificateSha256 { get; }
}

/// <summary>The peer broke the protocol: malformed XML, a limit exceeded, an unexpected element. The connection is closed.</summary>
public sealed class XmppProtocolException : XmppException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What was wrong.</param>
    /// <param name="streamErrorCondition">The stream error condition that was (or would be) sent, e.g. <c>not-well-formed</c>.</param>
    /// <param name="innerException">The cause, if any.</param>
    public XmppProtocolException(string message, string streamErrorCondition = "not-well-formed", Exception? innerException = null)
        : base(message, innerException) => StreamErrorCondition = streamErrorCondition;

    /// <summary>The RFC 6120 stream error condition for this violation.</summary>
    public string StreamErrorCondition { get; }
}

/// <summary>The peer closed the stream with a stream error (RFC 6120 §4.9).</summary>
public sealed class XmppStreamErrorException : XmppException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="condition">The defined condition, e.g. <c>conflict</c>.</param>
    /// <param name="text">The text the peer gave, if any.</param>
    public XmppStreamErrorException(string condition, string? text)
        : base(text is null ? $"The server closed the stream: {condition}." : $"The server closed the stream: {condition} ({text}).")
    {
        Condition = condition;
        Text = text;
    }

    /// <summary>The stream error condition.</summary>
    public string Condition { get; }

    /// <summary>The peer's text, if any.</summary>
    public string? Text { get; }
}

/// <summary>Authentication failed (SASL, or the component handshake).</summary>
public sealed class XmppAuthenticationException : XmppException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="condition">The SASL failure condition, e.g. <c>not-authorized</c>.</param>
    /// <param name="message">What happened.</param>
    /// <param name="innerException">The cause, if any.</param>
    public XmppAuthenticationException(string condition, string message, Exception? innerException = null)
        : base(message, innerException) => Condition = condition;

    /// <summary>The SASL condition (RFC 6120 §6.5), e.g. <c>not-authorized</c>, or <c>mechanism-too-weak</c> when no acceptable mechanism was offered.</summary>
    public string Condition { get; }
}
