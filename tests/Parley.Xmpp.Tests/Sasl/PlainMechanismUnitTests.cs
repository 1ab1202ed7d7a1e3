using System.Text;
using Parley.Xmpp.Sasl;

namespace Parley.Xmpp.Tests.Sasl;

public class PlainMechanismUnitTests
{
    [Fact]
    public void Sends_authcid_and_password_without_authzid()
    {
        var plain = new PlainMechanism(new SaslCredentials { Username = "juliet", Password = "r0m30myr0m30", IsEncrypted = true });

        Assert.Equal("PLAIN", plain.Name);
        Assert.Equal("\0juliet\0r0m30myr0m30"u8.ToArray(), plain.GetInitialResponse());
        plain.VerifySuccess([]);
    }

    [Fact]
    public void Sends_UTF8()
    {
        var plain = new PlainMechanism(new SaslCredentials { Username = "π", Password = "pässwörd", IsEncrypted = true });

        Assert.Equal(Encoding.UTF8.GetBytes("\0π\0pässwörd"), plain.GetInitialResponse());
    }

    [Fact]
    public void Refuses_an_unencrypted_stream()
    {
        var error = Assert.Throws<XmppAuthenticationException>(() => new PlainMechanism(new SaslCredentials { Username = "juliet", Password = "x" }));

        Assert.Equal("encryption-required", error.Condition);
    }

    [Fact]
    public void Runs_unencrypted_when_explicitly_allowed()
    {
        var plain = new PlainMechanism(new SaslCredentials { Username = "juliet", Password = "x" }, allowWithoutTls: true);

        Assert.Equal("\0juliet\0x"u8.ToArray(), plain.GetInitialResponse());
    }

    [Fact]
    public void Refuses_challenges_and_misuse()
    {
        var plain = new PlainMechanism(new SaslCredentials { Username = "juliet", Password = "x", IsEncrypted = true });
        Assert.Throws<XmppAuthenticationException>(() => plain.VerifySuccess([]));

        plain.GetInitialResponse();
        Assert.Throws<InvalidOperationException>(plain.GetInitialResponse);
        Assert.Throws<XmppAuthenticationException>(() => plain.EvaluateChallenge([]));
    }

    [Theory]
    [InlineData("", "x")]
    [InlineData("juliet", "")]
    [InlineData("jul\0iet", "x")]
    [InlineData("juliet", "x\0y")]
    public void Refuses_empty_or_NUL_credentials(string username, string password)
    {
        Assert.Throws<ArgumentException>(() => new PlainMechanism(new SaslCredentials { Username = username, Password = password, IsEncrypted = true }));
    }
}
