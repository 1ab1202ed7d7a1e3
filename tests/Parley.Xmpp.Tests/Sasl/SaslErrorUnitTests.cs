using System.Security.Cryptography;
using System.Text;
using Parley.Xmpp.Sasl;

namespace Parley.Xmpp.Tests.Sasl;

// What each refusal tells the user: the condition goes to the server's log and the caller's error handling, the message
// to whoever has to find out why a login failed.
public class SaslErrorUnitTests
{
    private const string Nonce = "fyko+d2lbbFgONRv9qkxdawL";
    private const string ServerFirst = "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096";
    private const string ServerFinal = "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=";

    private static SaslCredentials Credentials(bool encrypted = true) => new() { Username = "user", Password = "pencil", IsEncrypted = encrypted };

    private static ScramMechanism Started()
    {
        var scram = new ScramMechanism(HashAlgorithmName.SHA1, Credentials(), null, serverOffersPlus: false, Nonce);
        scram.GetInitialResponse();
        return scram;
    }

    private static void AssertRefused(Action action, string condition, string message)
    {
        var error = Assert.Throws<XmppAuthenticationException>(action);
        Assert.Equal(condition, error.Condition);
        Assert.Equal(message, error.Message);
    }

    [Theory]
    [InlineData("m=x,r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92,i=4096", "malformed-request", "The server requires a SCRAM extension this client does not support.")]
    [InlineData("r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92", "malformed-request", "The SCRAM server-first-message lacks the nonce, salt or iteration count.")]
    [InlineData("r=other,s=QSXCR+Q6sek8bf92,i=4096", "not-authorized", "The server's SCRAM nonce does not extend the client nonce; the exchange may have been tampered with.")]
    [InlineData("r=,s=QSXCR+Q6sek8bf92,i=4096", "not-authorized", "The server's SCRAM nonce does not extend the client nonce; the exchange may have been tampered with.")]
    [InlineData("r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=!!!!,i=4096", "malformed-request", "The SCRAM salt is not valid base64.")]
    [InlineData("r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92,i=0", "malformed-request", "The SCRAM iteration count '0' is not between 1 and 10000000.")]
    [InlineData("r=fyko+d2lbbFgONRv9qkxdawL3rfc,x=QSXCR+Q6sek8bf92,i=4096", "malformed-request", "Expected the SCRAM attribute 's=' in the server's message.")]
    [InlineData("e=other-error", "not-authorized", "The server rejected the SCRAM authentication: other-error.")]
    public void A_refused_server_first_message_says_why(string serverFirst, string condition, string message)
    {
        var scram = Started();
        AssertRefused(() => scram.EvaluateChallenge(Encoding.UTF8.GetBytes(serverFirst)), condition, message);
    }

    [Theory]
    [InlineData("v=!!!!", "malformed-request", "The SCRAM server signature is not valid base64.")]
    [InlineData("v=AAAA", "not-authorized", "The server's SCRAM signature is wrong: it does not know the password, or a man-in-the-middle is present. The connection must not be used.")]
    public void A_refused_server_final_message_says_why(string serverFinal, string condition, string message)
    {
        var scram = Started();
        scram.EvaluateChallenge(Encoding.UTF8.GetBytes(ServerFirst));
        AssertRefused(() => scram.VerifySuccess(Encoding.UTF8.GetBytes(serverFinal)), condition, message);
    }

    [Fact]
    public void Refused_messages_and_calls_out_of_order_say_why()
    {
        var notStarted = new ScramMechanism(HashAlgorithmName.SHA1, Credentials(), null, serverOffersPlus: false, Nonce);
        AssertRefused(() => notStarted.EvaluateChallenge("r=x"u8), "malformed-request", "The server sent a SCRAM challenge when none was expected.");

        AssertRefused(() => Started().VerifySuccess(Encoding.UTF8.GetBytes(ServerFinal)), "malformed-request", "The server reported SCRAM success before the exchange was complete.");
        AssertRefused(() => Started().EvaluateChallenge(new byte[SaslMechanism.MaxPayloadBytes + 1]), "malformed-request", "The SCRAM message is longer than 16384 bytes.");
        AssertRefused(() => Started().EvaluateChallenge([0xFF]), "malformed-request", "The SCRAM message is not valid UTF-8.");

        var scram = Started();
        Assert.Equal("The SCRAM exchange has already started.", Assert.Throws<InvalidOperationException>(() => scram.GetInitialResponse()).Message);
        scram.EvaluateChallenge(Encoding.UTF8.GetBytes(ServerFirst));
        AssertRefused(() => scram.VerifySuccess([]), "not-authorized",
            "The server reported success without proving it knows the password (no SCRAM server signature); this is what a man-in-the-middle does.");

        // That refusal ends the exchange: the right signature sent afterwards is not taken.
        Assert.Throws<XmppAuthenticationException>(() => scram.VerifySuccess(Encoding.UTF8.GetBytes(ServerFinal)));
    }

    [Fact]
    public void Unusable_arguments_say_why()
    {
        Assert.StartsWith("SCRAM with MD5 is not supported.",
            Assert.Throws<ArgumentException>(() => new ScramMechanism(HashAlgorithmName.MD5, Credentials(), null, false)).Message, StringComparison.Ordinal);
        Assert.StartsWith("'tls unique' is not a channel-binding type name.",
            Assert.Throws<ArgumentException>(() => new ScramMechanism(HashAlgorithmName.SHA1, Credentials(), new ChannelBinding("tls unique", [1]), true)).Message, StringComparison.Ordinal);
        Assert.StartsWith("The client nonce must be printable ASCII without ','.",
            Assert.Throws<ArgumentException>(() => new ScramMechanism(HashAlgorithmName.SHA1, Credentials(), null, false, "a,b")).Message, StringComparison.Ordinal);
        Assert.StartsWith("The user name is empty or contains U+0000.",
            Assert.Throws<ArgumentException>(() => new PlainMechanism(new SaslCredentials { Username = "", Password = "x", IsEncrypted = true })).Message, StringComparison.Ordinal);
        Assert.StartsWith("The password is empty or contains U+0000.",
            Assert.Throws<ArgumentException>(() => new PlainMechanism(new SaslCredentials { Username = "x", Password = "", IsEncrypted = true })).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PLAIN_refusals_say_why()
    {
        AssertRefused(() => new PlainMechanism(Credentials(encrypted: false)), "encryption-required", "PLAIN would send the password in the clear: the stream is not encrypted.");

        var plain = new PlainMechanism(Credentials());
        AssertRefused(() => plain.VerifySuccess([]), "malformed-request", "The server reported success before PLAIN sent the credentials.");
        AssertRefused(() => plain.EvaluateChallenge([]), "malformed-request", "The server sent a challenge to PLAIN, which has none.");
        plain.GetInitialResponse();
        Assert.Equal("The PLAIN exchange has already started.", Assert.Throws<InvalidOperationException>(() => plain.GetInitialResponse()).Message);
    }

    [Fact]
    public void The_selector_says_when_PLAIN_was_refused_for_want_of_TLS()
    {
        var error = Assert.Throws<XmppAuthenticationException>(() => SaslSelector.Select(["PLAIN"], Credentials(encrypted: false), false));
        Assert.Equal("mechanism-too-weak", error.Condition);
        Assert.EndsWith(" PLAIN is refused because the stream is not encrypted.", error.Message, StringComparison.Ordinal);
    }
}
