namespace Parley.Xmpp.Sasl;

/// <summary>TLS channel-binding data for SCRAM-*-PLUS (RFC 5929 / RFC 9266).</summary>
/// <param name="Type">The binding type name: <c>tls-exporter</c>, <c>tls-unique</c> or <c>tls-server-end-point</c>.</param>
/// <param name="Data">The binding bytes.</param>
internal sealed record ChannelBinding(string Type, byte[] Data);

/// <summary>What a mechanism needs to authenticate.</summary>
internal sealed class SaslCredentials
{
    public required string Username { get; init; }

    public required string Password { get; init; }

    /// <summary>Whether the stream is encrypted (PLAIN is refused otherwise).</summary>
    public bool IsEncrypted { get; init; }

    /// <summary>Lets PLAIN run on an unencrypted stream (a loopback test server, say). Off by default.</summary>
    public bool AllowPlainWithoutTls { get; init; }

    /// <summary>Channel bindings the TLS layer can provide, best first; empty without TLS.</summary>
    public IReadOnlyList<ChannelBinding> ChannelBindings { get; init; } = [];

    /// <summary>Binding types the server announced (XEP-0440); empty when it announced none.</summary>
    public IReadOnlyCollection<string> ServerChannelBindingTypes { get; init; } = [];
}

/// <summary>One SASL exchange (RFC 4422). Instances are single-use.</summary>
internal abstract class SaslMechanism
{
    // Far more than any mechanism here sends or receives; a bigger payload is an attack or a bug.
    internal const int MaxPayloadBytes = 16 * 1024;

    /// <summary>The mechanism name as offered, e.g. <c>SCRAM-SHA-256-PLUS</c>.</summary>
    public abstract string Name { get; }

    /// <summary>The initial response sent with &lt;auth/&gt;.</summary>
    public abstract byte[] GetInitialResponse();

    /// <summary>Answers a server challenge. Throws <see cref="XmppAuthenticationException"/> when the challenge is invalid.</summary>
    public abstract byte[] EvaluateChallenge(ReadOnlySpan<byte> challenge);

    /// <summary>Checks the additional data of &lt;success/&gt; (SCRAM's server signature). Throws <see cref="XmppAuthenticationException"/> if the server cannot prove it knows the password.</summary>
    public abstract void VerifySuccess(ReadOnlySpan<byte> additionalData);

    /// <summary>Decodes the base64 text of &lt;challenge/&gt; or &lt;success/&gt; (RFC 6120 §6.4.2: empty or <c>=</c> means no data).</summary>
    /// <exception cref="XmppAuthenticationException">The text is not base64 (<c>incorrect-encoding</c>) or is too long.</exception>
    public static byte[] DecodePayload(string? text)
    {
        if (string.IsNullOrEmpty(text) || text == "=")
        {
            return [];
        }

        if (text.Length > ((MaxPayloadBytes + 2) / 3 * 4) + 256)
        {
            throw new XmppAuthenticationException("malformed-request", $"The server's SASL data is longer than {MaxPayloadBytes} bytes.");
        }

        try
        {
            // Convert tolerates the white space XML pretty-printing may add.
            return Convert.FromBase64String(text);
        }
        catch (FormatException e)
        {
            throw new XmppAuthenticationException("incorrect-encoding", "The server's SASL data is not valid base64.", e);
        }
    }

    /// <summary>Encodes a response as the text of &lt;auth/&gt; or &lt;response/&gt; (<c>=</c> for an empty one).</summary>
    public static string EncodePayload(ReadOnlySpan<byte> data) => data.IsEmpty ? "=" : Convert.ToBase64String(data);

    /// <summary>Checks the parts every mechanism needs.</summary>
    /// <exception cref="ArgumentException">The user name or password is empty or holds U+0000.</exception>
    protected static void ValidateCredentials(SaslCredentials credentials)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        if (string.IsNullOrEmpty(credentials.Username) || credentials.Username.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException("The user name is empty or contains U+0000.", nameof(credentials));
        }

        if (string.IsNullOrEmpty(credentials.Password) || credentials.Password.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException("The password is empty or contains U+0000.", nameof(credentials));
        }
    }
}
