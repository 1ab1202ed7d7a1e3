using System.Security.Cryptography;
using System.Text;
using Parley.Xmpp.Sasl;

namespace Parley.Xmpp.Tests.Sasl;

public class ScramMechanismUnitTests
{
    // RFC 5802 §5.
    private const string Sha1ClientNonce = "fyko+d2lbbFgONRv9qkxdawL";
    private const string Sha1ServerFirst = "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096";
    private const string Sha1ClientFinal = "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=";
    private const string Sha1ServerFinal = "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=";

    // RFC 7677 §3.
    private const string Sha256ClientNonce = "rOprNGfwEbeRWgbNEkqO";
    private const string Sha256ServerFirst = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    private const string Sha256ClientFinal = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    private const string Sha256ServerFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

    private static SaslCredentials Credentials(string password = "pencil", IReadOnlyList<ChannelBinding>? bindings = null, string username = "user") =>
        new() { Username = username, Password = password, IsEncrypted = true, ChannelBindings = bindings ?? [] };

    private static ScramMechanism Sha1(string password = "pencil") => new(HashAlgorithmName.SHA1, Credentials(password), null, serverOffersPlus: false, Sha1ClientNonce);

    private static ScramMechanism Sha256() => new(HashAlgorithmName.SHA256, Credentials(), null, serverOffersPlus: false, Sha256ClientNonce);

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    private static string Text(byte[] data) => Encoding.UTF8.GetString(data);

    [Fact]
    public void SCRAM_SHA_1_matches_the_RFC_5802_test_vector()
    {
        var scram = Sha1();

        Assert.Equal("SCRAM-SHA-1", scram.Name);
        Assert.Equal("n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL", Text(scram.GetInitialResponse()));
        Assert.Equal(Sha1ClientFinal, Text(scram.EvaluateChallenge(Utf8(Sha1ServerFirst))));
        scram.VerifySuccess(Utf8(Sha1ServerFinal));
    }

    [Fact]
    public void SCRAM_SHA_256_matches_the_RFC_7677_test_vector()
    {
        var scram = Sha256();

        Assert.Equal("SCRAM-SHA-256", scram.Name);
        Assert.Equal("n,,n=user,r=rOprNGfwEbeRWgbNEkqO", Text(scram.GetInitialResponse()));
        Assert.Equal(Sha256ClientFinal, Text(scram.EvaluateChallenge(Utf8(Sha256ServerFirst))));
        scram.VerifySuccess(Utf8(Sha256ServerFinal));
    }

    [Fact]
    public void The_password_goes_through_SASLprep()
    {
        // SOFT HYPHEN is "commonly mapped to nothing": the proof is the one for "pencil".
        var scram = Sha1("pen\u00ADcil");
        scram.GetInitialResponse();

        Assert.Equal(Sha1ClientFinal, Text(scram.EvaluateChallenge(Utf8(Sha1ServerFirst))));
    }

    [Fact]
    public void A_wrong_password_gives_a_different_proof()
    {
        var scram = Sha1("pencil2");
        scram.GetInitialResponse();

        Assert.NotEqual(Sha1ClientFinal, Text(scram.EvaluateChallenge(Utf8(Sha1ServerFirst))));
    }

    [Fact]
    public void Server_final_message_may_come_as_a_challenge_followed_by_empty_success()
    {
        var scram = Sha256();
        scram.GetInitialResponse();
        scram.EvaluateChallenge(Utf8(Sha256ServerFirst));

        Assert.Empty(scram.EvaluateChallenge(Utf8(Sha256ServerFinal)));
        scram.VerifySuccess([]);
    }

    [Fact]
    public void Server_final_message_may_carry_extensions()
    {
        var scram = Sha256();
        scram.GetInitialResponse();
        scram.EvaluateChallenge(Utf8(Sha256ServerFirst));

        scram.VerifySuccess(Utf8(Sha256ServerFinal + ",x=future"));
    }

    [Fact]
    public void A_wrong_server_signature_is_refused()
    {
        var scram = Sha1();
        scram.GetInitialResponse();
        scram.EvaluateChallenge(Utf8(Sha1ServerFirst));

        var error = Assert.Throws<XmppAuthenticationException>(() => scram.VerifySuccess(Utf8("v=rmF9pqV8S7suAoZWja4dJRkFsKA=")));
        Assert.Equal("not-authorized", error.Condition);
        Assert.Contains("man-in-the-middle", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_signature_of_another_hash_is_refused()
    {
        // The SHA-256 exchange with the SHA-1 vector's signature.
        var scram = Sha256();
        scram.GetInitialResponse();
        scram.EvaluateChallenge(Utf8(Sha256ServerFirst));

        Assert.Throws<XmppAuthenticationException>(() => scram.VerifySuccess(Utf8(Sha1ServerFinal)));
    }

    [Fact]
    public void Success_without_a_server_signature_is_refused()
    {
        var scram = Sha1();
        scram.GetInitialResponse();
        scram.EvaluateChallenge(Utf8(Sha1ServerFirst));

        var error = Assert.Throws<XmppAuthenticationException>(() => scram.VerifySuccess([]));
        Assert.Equal("not-authorized", error.Condition);
    }

    [Fact]
    public void Success_before_the_proof_was_sent_is_refused()
    {
        var scram = Sha1();
        scram.GetInitialResponse();

        Assert.Throws<XmppAuthenticationException>(() => scram.VerifySuccess(Utf8(Sha1ServerFinal)));
    }

    [Theory]
    [InlineData("v=rmF9pqV8S7suAoZWja4dJRkFsKQ")] // missing padding
    [InlineData("v=r!F9pqV8S7suAoZWja4dJRkFsKQ=")]
    [InlineData("v=")]
    [InlineData("x=rmF9pqV8S7suAoZWja4dJRkFsKQ=")]
    [InlineData("")]
    public void A_malformed_server_final_message_is_refused(string serverFinal)
    {
        var scram = Sha1();
        scram.GetInitialResponse();
        scram.EvaluateChallenge(Utf8(Sha1ServerFirst));

        // As a challenge (an empty challenge is as wrong as any other here).
        Assert.Throws<XmppAuthenticationException>(() => scram.EvaluateChallenge(Utf8(serverFinal)));
    }

    [Theory]
    [InlineData("e=invalid-proof", "invalid-proof")]
    [InlineData("e=channel-bindings-dont-match", "man-in-the-middle")]
    [InlineData("e=server-does-support-channel-binding", "-PLUS")]
    public void A_server_error_is_reported(string serverFinal, string expected)
    {
        var scram = Sha1();
        scram.GetInitialResponse();
        scram.EvaluateChallenge(Utf8(Sha1ServerFirst));

        var error = Assert.Throws<XmppAuthenticationException>(() => scram.VerifySuccess(Utf8(serverFinal)));
        Assert.Equal("not-authorized", error.Condition);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_server_error_instead_of_server_first_is_reported()
    {
        var scram = Sha1();
        scram.GetInitialResponse();

        var error = Assert.Throws<XmppAuthenticationException>(() => scram.EvaluateChallenge(Utf8("e=unknown-user")));
        Assert.Contains("unknown-user", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("r=fyko+d2lbbFgONRv9qkxdawL,s=QSXCR+Q6sek8bf92,i=4096")] // no server part
    [InlineData("r=XXXX+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096")] // not our nonce
    [InlineData("r=fyko+d2lbbFgONRv9qkxdawL3rfc\u00E9,s=QSXCR+Q6sek8bf92,i=4096")] // not printable ASCII
    public void A_nonce_that_does_not_extend_ours_is_refused(string serverFirst)
    {
        var scram = Sha1();
        scram.GetInitialResponse();

        var error = Assert.Throws<XmppAuthenticationException>(() => scram.EvaluateChallenge(Utf8(serverFirst)));
        Assert.Equal("not-authorized", error.Condition);
    }

    [Theory]
    [InlineData("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf9,i=4096")] // bad base64
    [InlineData("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=,i=4096")] // empty salt
    [InlineData("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=0")]
    [InlineData("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=10000001")] // above the cap
    [InlineData("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=-1")]
    [InlineData("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096x")]
    [InlineData("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=99999999999")]
    [InlineData("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92")] // no iteration count
    [InlineData("s=QSXCR+Q6sek8bf92,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,i=4096")] // wrong order
    [InlineData("m=ext,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096")] // mandatory extension
    [InlineData("")]
    public void A_malformed_server_first_message_is_refused(string serverFirst)
    {
        var scram = Sha1();
        scram.GetInitialResponse();

        Assert.Throws<XmppAuthenticationException>(() => scram.EvaluateChallenge(Utf8(serverFirst)));
    }

    [Fact]
    public void Server_first_message_may_carry_extensions()
    {
        var scram = Sha1();
        scram.GetInitialResponse();

        // The extension is part of the AuthMessage, so the proof differs from the vector's; it must not be refused.
        Assert.StartsWith("c=biws,r=", Text(scram.EvaluateChallenge(Utf8(Sha1ServerFirst + ",x=1"))), StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_UTF8_and_oversized_messages_are_refused()
    {
        var scram = Sha1();
        scram.GetInitialResponse();
        Assert.Throws<XmppAuthenticationException>(() => scram.EvaluateChallenge([0x72, 0x3D, 0xFF, 0xFE]));

        var big = Sha1();
        big.GetInitialResponse();
        Assert.Throws<XmppAuthenticationException>(() => big.EvaluateChallenge(new byte[SaslMechanism.MaxPayloadBytes + 1]));
    }

    [Fact]
    public void After_a_failure_the_exchange_stays_failed()
    {
        var scram = Sha1();
        scram.GetInitialResponse();
        Assert.Throws<XmppAuthenticationException>(() => scram.EvaluateChallenge(Utf8("r=bogus,s=QSXCR+Q6sek8bf92,i=4096")));

        Assert.Throws<XmppAuthenticationException>(() => scram.EvaluateChallenge(Utf8(Sha1ServerFirst)));
        Assert.Throws<XmppAuthenticationException>(() => scram.VerifySuccess(Utf8(Sha1ServerFinal)));
    }

    [Fact]
    public void Out_of_order_calls_are_refused()
    {
        var scram = Sha1();
        Assert.Throws<XmppAuthenticationException>(() => scram.EvaluateChallenge(Utf8(Sha1ServerFirst)));

        var twice = Sha1();
        twice.GetInitialResponse();
        Assert.Throws<InvalidOperationException>(twice.GetInitialResponse);

        var done = Sha1();
        done.GetInitialResponse();
        done.EvaluateChallenge(Utf8(Sha1ServerFirst));
        done.VerifySuccess(Utf8(Sha1ServerFinal));
        Assert.Throws<XmppAuthenticationException>(() => done.EvaluateChallenge(Utf8(Sha1ServerFirst)));
    }

    [Fact]
    public void A_server_final_message_repeated_after_success_is_refused()
    {
        var scram = Sha1();
        scram.GetInitialResponse();
        scram.EvaluateChallenge(Utf8(Sha1ServerFirst));
        scram.VerifySuccess(Utf8(Sha1ServerFinal));

        var error = Assert.Throws<XmppAuthenticationException>(() => scram.EvaluateChallenge(Utf8(Sha1ServerFinal)));
        Assert.Equal("malformed-request", error.Condition);
    }

    [Fact]
    public void Success_with_data_before_the_proof_was_sent_is_a_malformed_request()
    {
        var scram = Sha1();
        scram.GetInitialResponse();

        var error = Assert.Throws<XmppAuthenticationException>(() => scram.VerifySuccess(Utf8(Sha1ServerFinal)));
        Assert.Equal("malformed-request", error.Condition);
    }

    [Fact]
    public void A_refused_server_message_ends_the_exchange()
    {
        // A server error instead of server-first: a good server-first afterwards is refused too.
        var first = Sha1();
        first.GetInitialResponse();
        Assert.Throws<XmppAuthenticationException>(() => first.EvaluateChallenge(Utf8("e=other-error")));
        Assert.Throws<XmppAuthenticationException>(() => first.EvaluateChallenge(Utf8(Sha1ServerFirst)));

        // A malformed server-final in <success/>: the right one afterwards does not make it succeed.
        var final = Sha1();
        final.GetInitialResponse();
        final.EvaluateChallenge(Utf8(Sha1ServerFirst));
        Assert.Throws<XmppAuthenticationException>(() => final.VerifySuccess(Utf8("x=1")));
        Assert.Throws<XmppAuthenticationException>(() => final.VerifySuccess(Utf8(Sha1ServerFinal)));
    }

    [Fact]
    public void A_message_of_exactly_the_payload_limit_is_taken_and_one_byte_more_is_refused()
    {
        static string Padded(int length) => Sha1ServerFirst + ",x=" + new string('a', length - Sha1ServerFirst.Length - 3);

        var exact = Sha1();
        exact.GetInitialResponse();
        Assert.StartsWith("c=biws,r=", Text(exact.EvaluateChallenge(Utf8(Padded(SaslMechanism.MaxPayloadBytes)))), StringComparison.Ordinal);

        var over = Sha1();
        over.GetInitialResponse();
        var error = Assert.Throws<XmppAuthenticationException>(() => over.EvaluateChallenge(Utf8(Padded(SaslMechanism.MaxPayloadBytes + 1))));
        Assert.Contains($"longer than {SaslMechanism.MaxPayloadBytes} bytes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_UTF8_in_an_extension_is_refused()
    {
        var scram = Sha1();
        scram.GetInitialResponse();

        var error = Assert.Throws<XmppAuthenticationException>(() => scram.EvaluateChallenge([.. Utf8(Sha1ServerFirst + ",x="), 0xFF]));
        Assert.Contains("not valid UTF-8", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_iteration_count_of_one_is_taken()
    {
        var server = new TestScramServer(HashAlgorithmName.SHA1, "pencil", "QSXCR+Q6sek8bf92", iterations: 1);
        var scram = new ScramMechanism(HashAlgorithmName.SHA1, Credentials(), null, serverOffersPlus: false);

        var serverFirst = server.First(Text(scram.GetInitialResponse()));
        var serverFinal = server.Final(Text(scram.EvaluateChallenge(Utf8(serverFirst))), Utf8("n,,"));
        scram.VerifySuccess(Utf8(serverFinal));
    }

    [Theory]
    [InlineData(64, false)]
    [InlineData(65, true)]
    public void A_server_error_longer_than_64_characters_is_not_repeated(int length, bool unreadable)
    {
        var value = new string('x', length);
        var scram = Sha1();
        scram.GetInitialResponse();

        var message = Assert.Throws<XmppAuthenticationException>(() => scram.EvaluateChallenge(Utf8("e=" + value))).Message;
        Assert.Equal(unreadable, message.Contains("(unreadable)", StringComparison.Ordinal));
        Assert.Equal(!unreadable, message.Contains(value, StringComparison.Ordinal));
    }

    [Fact]
    public void A_server_error_with_control_characters_is_not_repeated()
    {
        var scram = Sha1();
        scram.GetInitialResponse();

        var message = Assert.Throws<XmppAuthenticationException>(() => scram.EvaluateChallenge(Utf8("e=bad\u001B[2Jnews"))).Message;
        Assert.Contains("(unreadable)", message, StringComparison.Ordinal);
        Assert.DoesNotContain("\u001B", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Nonces_may_hold_every_printable_character_but_the_comma()
    {
        var scram = new ScramMechanism(HashAlgorithmName.SHA1, Credentials(), null, false, "!~");

        Assert.EndsWith(",r=!~", Text(scram.GetInitialResponse()), StringComparison.Ordinal);
        Assert.StartsWith("c=biws,r=!~~!", Text(scram.EvaluateChallenge(Utf8("r=!~~!,s=QSXCR+Q6sek8bf92,i=1"))), StringComparison.Ordinal);
    }

    [Fact]
    public void The_user_name_is_a_query_string_and_the_password_a_stored_string()
    {
        // RFC 5802 §2.2 and RFC 4013 §2.5: an unassigned code point (U+0378) may be in the user name, not in the password.
        var scram = new ScramMechanism(HashAlgorithmName.SHA1, Credentials(username: "u\u0378"), null, false, Sha1ClientNonce);
        Assert.Equal($"n,,n=u\u0378,r={Sha1ClientNonce}", Text(scram.GetInitialResponse()));
        Assert.Throws<ArgumentException>(() => new ScramMechanism(HashAlgorithmName.SHA1, Credentials(password: "p\u0378"), null, false));

        var user = Assert.Throws<ArgumentException>(() => new ScramMechanism(HashAlgorithmName.SHA1, Credentials(username: "u\u0080"), null, false));
        Assert.Contains("The user name cannot be used with SCRAM", user.Message, StringComparison.Ordinal);
        var empty = Assert.Throws<ArgumentException>(() => new ScramMechanism(HashAlgorithmName.SHA1, Credentials(password: "\u00AD"), null, false));
        Assert.Contains("it is empty after SASLprep", empty.Message, StringComparison.Ordinal);
        var prohibited = Assert.Throws<ArgumentException>(() => new ScramMechanism(HashAlgorithmName.SHA1, Credentials(password: "bell\u0007"), null, false));
        Assert.Contains("U+0007", prohibited.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Username_commas_and_equals_signs_are_escaped()
    {
        var scram = new ScramMechanism(HashAlgorithmName.SHA256, Credentials(username: "a,b=c"), null, serverOffersPlus: false, "nonce");

        Assert.Equal("n,,n=a=2Cb=3Dc,r=nonce", Text(scram.GetInitialResponse()));
    }

    [Fact]
    public void GS2_flag_is_y_when_we_could_bind_but_the_server_offered_no_PLUS()
    {
        var bindings = new[] { new ChannelBinding(TlsChannelBinding.TlsServerEndPoint, [1, 2, 3]) };

        var y = new ScramMechanism(HashAlgorithmName.SHA1, Credentials(bindings: bindings), null, serverOffersPlus: false, Sha1ClientNonce);
        Assert.StartsWith("y,,n=user,", Text(y.GetInitialResponse()), StringComparison.Ordinal);
        Assert.StartsWith("c=eSws,", Text(y.EvaluateChallenge(Utf8(Sha1ServerFirst))), StringComparison.Ordinal); // base64("y,,")

        var n = new ScramMechanism(HashAlgorithmName.SHA1, Credentials(bindings: bindings), null, serverOffersPlus: true, Sha1ClientNonce);
        Assert.StartsWith("n,,n=user,", Text(n.GetInitialResponse()), StringComparison.Ordinal);

        var none = new ScramMechanism(HashAlgorithmName.SHA1, Credentials(), null, serverOffersPlus: false, Sha1ClientNonce);
        Assert.StartsWith("n,,n=user,", Text(none.GetInitialResponse()), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("SHA1", "SCRAM-SHA-1-PLUS")]
    [InlineData("SHA256", "SCRAM-SHA-256-PLUS")]
    public void PLUS_sends_the_binding_type_and_data_and_a_server_accepts_the_proof(string hashName, string mechanismName)
    {
        var hash = new HashAlgorithmName(hashName);
        byte[] cbData = [0xDE, 0xAD, 0xBE, 0xEF, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07];
        var binding = new ChannelBinding(TlsChannelBinding.TlsUnique, cbData);
        var server = new TestScramServer(hash, "pencil", "c2FsdHNhbHQ=", 4096);
        var scram = new ScramMechanism(hash, Credentials(bindings: [binding]), binding, serverOffersPlus: true);

        Assert.Equal(mechanismName, scram.Name);
        var clientFirst = Text(scram.GetInitialResponse());
        Assert.StartsWith("p=tls-unique,,n=user,r=", clientFirst, StringComparison.Ordinal);

        var serverFirst = server.First(clientFirst);
        var clientFinal = Text(scram.EvaluateChallenge(Utf8(serverFirst)));
        var serverFinal = server.Final(clientFinal, expectedCbind: [.. "p=tls-unique,,"u8, .. cbData]);

        scram.VerifySuccess(Utf8(serverFinal));
    }

    [Fact]
    public void A_server_seeing_other_binding_data_rejects_the_proof()
    {
        var binding = new ChannelBinding(TlsChannelBinding.TlsUnique, [1, 2, 3, 4]);
        var server = new TestScramServer(HashAlgorithmName.SHA256, "pencil", "c2FsdA==", 4096);
        var scram = new ScramMechanism(HashAlgorithmName.SHA256, Credentials(bindings: [binding]), binding, serverOffersPlus: true);
        var serverFirst = server.First(Text(scram.GetInitialResponse()));
        var clientFinal = Text(scram.EvaluateChallenge(Utf8(serverFirst)));

        Assert.Throws<InvalidOperationException>(() => server.Final(clientFinal, expectedCbind: [.. "p=tls-unique,,"u8, 1, 2, 3, 5]));
    }

    [Fact]
    public void Client_nonces_are_random_and_printable()
    {
        var first = Text(new ScramMechanism(HashAlgorithmName.SHA256, Credentials(), null, false).GetInitialResponse());
        var second = Text(new ScramMechanism(HashAlgorithmName.SHA256, Credentials(), null, false).GetInitialResponse());

        var nonce1 = first[(first.IndexOf(",r=", StringComparison.Ordinal) + 3)..];
        var nonce2 = second[(second.IndexOf(",r=", StringComparison.Ordinal) + 3)..];
        Assert.NotEqual(nonce1, nonce2);
        Assert.True(nonce1.Length >= 24);
        Assert.All(nonce1, c => Assert.True(c is >= '!' and <= '~' and not ','));
    }

    [Fact]
    public void Unusable_arguments_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new ScramMechanism(HashAlgorithmName.SHA512, Credentials(), null, false));
        Assert.Throws<ArgumentException>(() => new ScramMechanism(HashAlgorithmName.SHA1, Credentials(password: "bell\u0007"), null, false));
        Assert.Throws<ArgumentException>(() => new ScramMechanism(HashAlgorithmName.SHA1, Credentials(password: "\u00AD"), null, false));
        Assert.Throws<ArgumentException>(() => new ScramMechanism(HashAlgorithmName.SHA1, Credentials(password: ""), null, false));
        Assert.Throws<ArgumentException>(() => new ScramMechanism(HashAlgorithmName.SHA1, Credentials(username: ""), null, false));
        Assert.Throws<ArgumentException>(() => new ScramMechanism(HashAlgorithmName.SHA1, Credentials(), null, false, "has,comma"));
        Assert.Throws<ArgumentException>(() => new ScramMechanism(HashAlgorithmName.SHA1, Credentials(), new ChannelBinding("bad type,", [1]), true));
    }

    /// <summary>The server side of SCRAM (RFC 5802 §3), written from the RFC, to check what the client sends.</summary>
    private sealed class TestScramServer(HashAlgorithmName hash, string password, string saltBase64, int iterations)
    {
        private string? _authPrefix;
        private string? _nonce;

        public string First(string clientFirst)
        {
            var bare = clientFirst[(clientFirst.IndexOf(",,", StringComparison.Ordinal) + 2)..];
            var clientNonce = bare[(bare.IndexOf(",r=", StringComparison.Ordinal) + 3)..];
            _nonce = clientNonce + "3rfcNHYJY1ZVvWVs7j";
            var serverFirst = $"r={_nonce},s={saltBase64},i={iterations}";
            _authPrefix = bare + "," + serverFirst;
            return serverFirst;
        }

        public string Final(string clientFinal, byte[] expectedCbind)
        {
            var proofAt = clientFinal.IndexOf(",p=", StringComparison.Ordinal);
            var withoutProof = clientFinal[..proofAt];
            var proof = Convert.FromBase64String(clientFinal[(proofAt + 3)..]);
            if (withoutProof != $"c={Convert.ToBase64String(expectedCbind)},r={_nonce}")
            {
                throw new InvalidOperationException("channel binding or nonce mismatch");
            }

            var salted = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), Convert.FromBase64String(saltBase64), iterations, hash, hash == HashAlgorithmName.SHA1 ? 20 : 32);
            var storedKey = CryptographicOperations.HashData(hash, CryptographicOperations.HmacData(hash, salted, "Client Key"u8));
            var authMessage = Encoding.UTF8.GetBytes($"{_authPrefix},{withoutProof}");
            var clientSignature = CryptographicOperations.HmacData(hash, storedKey, authMessage);
            var clientKey = proof.Zip(clientSignature, (a, b) => (byte)(a ^ b)).ToArray();
            if (!CryptographicOperations.HashData(hash, clientKey).AsSpan().SequenceEqual(storedKey))
            {
                throw new InvalidOperationException("invalid-proof");
            }

            var serverKey = CryptographicOperations.HmacData(hash, salted, "Server Key"u8);
            return "v=" + Convert.ToBase64String(CryptographicOperations.HmacData(hash, serverKey, authMessage));
        }
    }
}
