using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Parley.Xmpp.Core;

namespace Parley.Xmpp.Sasl;

/// <summary>
/// SCRAM-SHA-1, SCRAM-SHA-256 (RFC 5802, RFC 7677) and their channel-binding -PLUS variants, client side.
/// </summary>
/// <remarks>
/// The GS2 header follows RFC 5802 §6: <c>p=&lt;type&gt;,,</c> with channel binding; without it, <c>y,,</c>
/// when the client could bind but the server offered no -PLUS mechanism (the server then detects a
/// mechanism-stripping attacker), and <c>n,,</c> when the client cannot bind or the server offered -PLUS
/// but no binding type both sides support (XEP-0440 §3; sending <c>y</c> there makes Prosody abort).
/// Authorization identities are not supported.
/// </remarks>
internal sealed class ScramMechanism : SaslMechanism
{
    /// <summary>The highest iteration count accepted: a hostile server could otherwise make the client burn CPU for minutes.</summary>
    internal const int MaxIterations = 10_000_000;

    private const int ClientNonceBytes = 24;
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly HashAlgorithmName _hash;
    private readonly string _gs2Header;
    private readonly byte[]? _channelBindingData;
    private readonly string _escapedUsername;
    private readonly string _clientNonce;
    private byte[]? _password;
    private string? _clientFirstMessageBare;
    private byte[]? _expectedServerSignature;
    private State _state;

    /// <summary>Creates the exchange.</summary>
    /// <param name="hash">SHA-1 or SHA-256.</param>
    /// <param name="credentials">The user name and password.</param>
    /// <param name="channelBinding">The binding to use (a -PLUS mechanism), or <see langword="null"/>.</param>
    /// <param name="serverOffersPlus">Whether the server offered any -PLUS mechanism; picks <c>y</c> or <c>n</c> without a binding.</param>
    /// <param name="clientNonce">The client nonce; a fresh random one when <see langword="null"/> (tests pass their own).</param>
    /// <exception cref="ArgumentException">The hash is not supported, the nonce is not printable, or the credentials fail SASLprep.</exception>
    public ScramMechanism(HashAlgorithmName hash, SaslCredentials credentials, ChannelBinding? channelBinding, bool serverOffersPlus, string? clientNonce = null)
    {
        ValidateCredentials(credentials);
        if (hash != HashAlgorithmName.SHA1 && hash != HashAlgorithmName.SHA256)
        {
            throw new ArgumentException($"SCRAM with {hash.Name} is not supported.", nameof(hash));
        }

        _hash = hash;
        var baseName = hash == HashAlgorithmName.SHA1 ? "SCRAM-SHA-1" : "SCRAM-SHA-256";
        if (channelBinding is not null)
        {
            if (channelBinding.Type.Length == 0 || !channelBinding.Type.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-'))
            {
                throw new ArgumentException($"'{channelBinding.Type}' is not a channel-binding type name.", nameof(channelBinding));
            }

            Name = baseName + "-PLUS";
            _gs2Header = $"p={channelBinding.Type},,";
            _channelBindingData = channelBinding.Data;
        }
        else
        {
            Name = baseName;
            _gs2Header = credentials.ChannelBindings.Count > 0 && !serverOffersPlus ? "y,," : "n,,";
        }

        if (!SaslPrep.TryPrepare(credentials.Username, storedString: false, out var username, out var error))
        {
            throw new ArgumentException($"The user name cannot be used with SCRAM: {error}.", nameof(credentials));
        }

        if (!SaslPrep.TryPrepare(credentials.Password, storedString: true, out var password, out error) || password.Length == 0)
        {
            throw new ArgumentException($"The password cannot be used with SCRAM: {(password?.Length == 0 ? "it is empty after SASLprep" : error)}.", nameof(credentials));
        }

        _escapedUsername = username.Replace("=", "=3D", StringComparison.Ordinal).Replace(",", "=2C", StringComparison.Ordinal);
        _password = Encoding.UTF8.GetBytes(password);
        if (clientNonce is not null)
        {
            if (clientNonce.Length == 0 || !clientNonce.All(IsPrintable))
            {
                throw new ArgumentException("The client nonce must be printable ASCII without ','.", nameof(clientNonce));
            }

            _clientNonce = clientNonce;
        }
        else
        {
            _clientNonce = Convert.ToBase64String(RandomNumberGenerator.GetBytes(ClientNonceBytes));
        }
    }

    private enum State
    {
        Initial,
        AwaitingServerFirst,
        AwaitingServerFinal,
        Verified,
        Failed,
    }

    /// <inheritdoc />
    public override string Name { get; }

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">The exchange has already started.</exception>
    public override byte[] GetInitialResponse()
    {
        if (_state != State.Initial)
        {
            throw new InvalidOperationException("The SCRAM exchange has already started.");
        }

        _clientFirstMessageBare = $"n={_escapedUsername},r={_clientNonce}";
        _state = State.AwaitingServerFirst;
        return Encoding.UTF8.GetBytes(_gs2Header + _clientFirstMessageBare);
    }

    /// <inheritdoc />
    public override byte[] EvaluateChallenge(ReadOnlySpan<byte> challenge)
    {
        var state = _state;
        if (state is not (State.AwaitingServerFirst or State.AwaitingServerFinal))
        {
            throw Fail("malformed-request", "The server sent a SCRAM challenge when none was expected.");
        }

        var text = Decode(challenge);
        try
        {
            if (state == State.AwaitingServerFirst)
            {
                return AnswerServerFirst(text);
            }

            // RFC 6120 §6.4.6: a server that cannot put data in <success/> sends server-final as a challenge.
            CheckServerFinal(text);
            return [];
        }
        catch (XmppAuthenticationException)
        {
            Abandon();
            throw;
        }
    }

    /// <inheritdoc />
    public override void VerifySuccess(ReadOnlySpan<byte> additionalData)
    {
        if (additionalData.IsEmpty)
        {
            if (_state != State.Verified)
            {
                throw Fail("not-authorized", "The server reported success without proving it knows the password (no SCRAM server signature); "
                    + "this is what a man-in-the-middle does.");
            }

            return;
        }

        if (_state is not (State.AwaitingServerFinal or State.Verified))
        {
            throw Fail("malformed-request", "The server reported SCRAM success before the exchange was complete.");
        }

        var text = Decode(additionalData);
        try
        {
            CheckServerFinal(text);
        }
        catch (XmppAuthenticationException)
        {
            Abandon();
            throw;
        }
    }

    private string Decode(ReadOnlySpan<byte> data)
    {
        if (data.Length > MaxPayloadBytes)
        {
            throw Fail("malformed-request", $"The SCRAM message is longer than {MaxPayloadBytes} bytes.");
        }

        try
        {
            return StrictUtf8.GetString(data);
        }
        catch (DecoderFallbackException e)
        {
            throw Fail("malformed-request", "The SCRAM message is not valid UTF-8.", e);
        }
    }

    private byte[] AnswerServerFirst(string serverFirst)
    {
        // server-first-message = [reserved-mext ","] nonce "," salt "," iteration-count ["," extensions]
        var attributes = serverFirst.Split(',');
        ThrowIfServerError(attributes[0]);
        if (attributes[0].StartsWith("m=", StringComparison.Ordinal))
        {
            throw Fail("malformed-request", "The server requires a SCRAM extension this client does not support.");
        }

        if (attributes.Length < 3)
        {
            throw Fail("malformed-request", "The SCRAM server-first-message lacks the nonce, salt or iteration count.");
        }

        var nonce = Attribute(attributes[0], 'r');
        if (nonce.Length <= _clientNonce.Length || !nonce.StartsWith(_clientNonce, StringComparison.Ordinal) || !nonce.All(IsPrintable))
        {
            throw Fail("not-authorized", "The server's SCRAM nonce does not extend the client nonce; the exchange may have been tampered with.");
        }

        var salt = DecodeBase64(Attribute(attributes[1], 's'), "salt");
        if (salt.Length == 0)
        {
            throw Fail("malformed-request", "The server sent an empty SCRAM salt.");
        }

        var iterationText = Attribute(attributes[2], 'i');
        if (!int.TryParse(iterationText, NumberStyles.None, CultureInfo.InvariantCulture, out var iterations) || iterations < 1 || iterations > MaxIterations)
        {
            throw Fail("malformed-request", $"The SCRAM iteration count '{iterationText}' is not between 1 and {MaxIterations}.");
        }

        var hashLength = _hash == HashAlgorithmName.SHA1 ? SHA1.HashSizeInBytes : SHA256.HashSizeInBytes;
        var saltedPassword = Rfc2898DeriveBytes.Pbkdf2(_password!, salt, iterations, _hash, hashLength);
        var clientKey = CryptographicOperations.HmacData(_hash, saltedPassword, "Client Key"u8);
        var storedKey = CryptographicOperations.HashData(_hash, clientKey);
        var serverKey = CryptographicOperations.HmacData(_hash, saltedPassword, "Server Key"u8);

        var gs2 = Encoding.ASCII.GetBytes(_gs2Header);
        var channelBinding = _channelBindingData is null ? gs2 : [.. gs2, .. _channelBindingData];
        var clientFinalWithoutProof = $"c={Convert.ToBase64String(channelBinding)},r={nonce}";
        var authMessage = Encoding.UTF8.GetBytes($"{_clientFirstMessageBare},{serverFirst},{clientFinalWithoutProof}");

        var proof = CryptographicOperations.HmacData(_hash, storedKey, authMessage);
        for (var i = 0; i < proof.Length; i++)
        {
            proof[i] ^= clientKey[i];
        }

        _expectedServerSignature = CryptographicOperations.HmacData(_hash, serverKey, authMessage);
        CryptographicOperations.ZeroMemory(saltedPassword);
        CryptographicOperations.ZeroMemory(clientKey);
        CryptographicOperations.ZeroMemory(storedKey);
        CryptographicOperations.ZeroMemory(serverKey);
        CryptographicOperations.ZeroMemory(_password);
        _password = null;
        _state = State.AwaitingServerFinal;

        var response = Encoding.UTF8.GetBytes($"{clientFinalWithoutProof},p={Convert.ToBase64String(proof)}");
        CryptographicOperations.ZeroMemory(proof);
        return response;
    }

    private void CheckServerFinal(string serverFinal)
    {
        // server-final-message = (server-error / verifier) ["," extensions]
        var first = serverFinal.Split(',', 2)[0];
        ThrowIfServerError(first);
        var signature = DecodeBase64(Attribute(first, 'v'), "server signature");
        if (!CryptographicOperations.FixedTimeEquals(signature, _expectedServerSignature))
        {
            throw Fail("not-authorized", "The server's SCRAM signature is wrong: it does not know the password, "
                + "or a man-in-the-middle is present. The connection must not be used.");
        }

        _state = State.Verified;
    }

    private static void ThrowIfServerError(string attribute)
    {
        if (!attribute.StartsWith("e=", StringComparison.Ordinal))
        {
            return;
        }

        var value = attribute[2..];
        if (value.Length > 64 || !value.All(IsPrintable))
        {
            value = "(unreadable)";
        }

        var hint = value switch
        {
            "server-does-support-channel-binding" => " The server supports channel binding although it was not offered: a man-in-the-middle may have removed the -PLUS mechanisms.",
            "channel-bindings-dont-match" => " The TLS channel the server sees is not ours: a man-in-the-middle may be present.",
            _ => string.Empty,
        };
        throw new XmppAuthenticationException("not-authorized", $"The server rejected the SCRAM authentication: {value}.{hint}");
    }

    private static string Attribute(string attribute, char name)
    {
        if (attribute.Length < 2 || attribute[0] != name || attribute[1] != '=')
        {
            throw new XmppAuthenticationException("malformed-request", $"Expected the SCRAM attribute '{name}=' in the server's message.");
        }

        return attribute[2..];
    }

    private static byte[] DecodeBase64(string value, string what)
    {
        var buffer = new byte[(value.Length * 3 / 4) + 3];
        if (value.Length == 0 || !Convert.TryFromBase64String(value, buffer, out var written))
        {
            throw new XmppAuthenticationException("malformed-request", $"The SCRAM {what} is not valid base64.");
        }

        return buffer[..written];
    }

    // printable = %x21-2B / %x2D-7E ; any printable ASCII except ","
    private static bool IsPrintable(char c) => c is >= '!' and <= '~' and not ',';

    private XmppAuthenticationException Fail(string condition, string message, Exception? inner = null)
    {
        Abandon();
        return new XmppAuthenticationException(condition, message, inner);
    }

    private void Abandon()
    {
        _state = State.Failed;
        if (_password is not null)
        {
            CryptographicOperations.ZeroMemory(_password);
            _password = null;
        }
    }
}
