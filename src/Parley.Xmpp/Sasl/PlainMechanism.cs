using System.Text;
using Parley.Xmpp.Core;

namespace Parley.Xmpp.Sasl;

/// <summary>SASL PLAIN (RFC 4616): the password in the clear, so only over TLS unless the caller explicitly allows otherwise.</summary>
internal sealed class PlainMechanism : SaslMechanism
{
    private readonly SaslCredentials _credentials;
    private bool _started;

    /// <summary>Creates the exchange.</summary>
    /// <param name="credentials">The user name and password.</param>
    /// <param name="allowWithoutTls">Whether to run on an unencrypted stream (a loopback test server, say).</param>
    /// <exception cref="ArgumentException">The user name or password is empty or holds U+0000.</exception>
    /// <exception cref="XmppAuthenticationException">The stream is not encrypted and <paramref name="allowWithoutTls"/> is off (<c>encryption-required</c>).</exception>
    public PlainMechanism(SaslCredentials credentials, bool allowWithoutTls = false)
    {
        ValidateCredentials(credentials);
        if (!credentials.IsEncrypted && !allowWithoutTls)
        {
            throw new XmppAuthenticationException("encryption-required", "PLAIN would send the password in the clear: the stream is not encrypted.");
        }

        _credentials = credentials;
    }

    /// <inheritdoc />
    public override string Name => "PLAIN";

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">The exchange has already started.</exception>
    public override byte[] GetInitialResponse()
    {
        if (_started)
        {
            throw new InvalidOperationException("The PLAIN exchange has already started.");
        }

        _started = true;

        // message = [authzid] UTF8NUL authcid UTF8NUL passwd; no authzid.
        return Encoding.UTF8.GetBytes($"\0{_credentials.Username}\0{_credentials.Password}");
    }

    /// <inheritdoc />
    public override byte[] EvaluateChallenge(ReadOnlySpan<byte> challenge) =>
        throw new XmppAuthenticationException("malformed-request", "The server sent a challenge to PLAIN, which has none.");

    /// <inheritdoc />
    /// <remarks>PLAIN defines no additional data; anything the server sends is ignored.</remarks>
    public override void VerifySuccess(ReadOnlySpan<byte> additionalData)
    {
        if (!_started)
        {
            throw new XmppAuthenticationException("malformed-request", "The server reported success before PLAIN sent the credentials.");
        }
    }
}
