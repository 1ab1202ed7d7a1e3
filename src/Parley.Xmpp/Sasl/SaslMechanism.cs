using Parley.Xmpp.Core;

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
