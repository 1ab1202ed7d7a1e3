using System.Text;
using Parley.Xmpp.Sasl;

namespace Parley.Xmpp.Tests.Sasl;

public class SaslSelectorUnitTests
{
    private static readonly ChannelBinding Unique = new(TlsChannelBinding.TlsUnique, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    private static readonly ChannelBinding EndPoint = new(TlsChannelBinding.TlsServerEndPoint, new byte[32]);

    private static SaslCredentials Tls12(params string[] serverTypes) =>
        new() { Username = "user", Password = "pencil", IsEncrypted = true, ChannelBindings = [Unique, EndPoint], ServerChannelBindingTypes = serverTypes };

    private static SaslCredentials Tls13(params string[] serverTypes) =>
        new() { Username = "user", Password = "pencil", IsEncrypted = true, ChannelBindings = [EndPoint], ServerChannelBindingTypes = serverTypes };

    private static SaslCredentials Plaintext() => new() { Username = "user", Password = "pencil" };

    private static string Gs2Header(SaslMechanism mechanism)
    {
        var first = Encoding.UTF8.GetString(mechanism.GetInitialResponse());
        return first[..(first.IndexOf(",,", StringComparison.Ordinal) + 2)];
    }

    [Theory]
    [InlineData("SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN")]
    [InlineData("SCRAM-SHA-256-PLUS", "SCRAM-SHA-256")]
    [InlineData("SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN")]
    [InlineData("SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN")]
    [InlineData("SCRAM-SHA-1", "PLAIN", "DIGEST-MD5")]
    [InlineData("PLAIN", "X-OAUTH2")]
    public void Picks_the_strongest_offered_mechanism(params string[] offered)
    {
        var mechanism = SaslSelector.Select([.. offered.Reverse()], Tls12(), false);

        Assert.Equal(offered[0], mechanism.Name);
    }

    [Fact]
    public void Without_XEP_0440_PLUS_means_tls_unique()
    {
        var mechanism = SaslSelector.Select(["SCRAM-SHA-1-PLUS", "SCRAM-SHA-1"], Tls12(), false);

        Assert.Equal("SCRAM-SHA-1-PLUS", mechanism.Name);
        Assert.Equal("p=tls-unique,,", Gs2Header(mechanism));
    }

    [Fact]
    public void Uses_a_binding_type_the_server_announced()
    {
        var mechanism = SaslSelector.Select(["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"], Tls12("tls-exporter", "tls-server-end-point"), false);

        Assert.Equal("SCRAM-SHA-256-PLUS", mechanism.Name);
        Assert.Equal("p=tls-server-end-point,,", Gs2Header(mechanism));
    }

    [Fact]
    public void Prefers_the_client_order_among_common_types()
    {
        var mechanism = SaslSelector.Select(["SCRAM-SHA-256-PLUS"], Tls12("tls-server-end-point", "tls-unique"), false);

        Assert.Equal("p=tls-unique,,", Gs2Header(mechanism));
    }

    [Fact]
    public void PLUS_without_a_common_binding_falls_back_with_n()
    {
        // TLS 1.3 against ejabberd 23.01: -PLUS offered, no XEP-0440, and tls-unique is undefined on TLS 1.3.
        var mechanism = SaslSelector.Select(["SCRAM-SHA-1-PLUS", "SCRAM-SHA-1", "PLAIN"], Tls13(), false);

        Assert.Equal("SCRAM-SHA-1", mechanism.Name);
        Assert.Equal("n,,", Gs2Header(mechanism));
    }

    [Fact]
    public void PLUS_with_announced_types_we_cannot_produce_falls_back_with_n()
    {
        var mechanism = SaslSelector.Select(["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"], Tls12("tls-exporter"), false);

        Assert.Equal("SCRAM-SHA-256", mechanism.Name);
        Assert.Equal("n,,", Gs2Header(mechanism));
    }

    [Fact]
    public void No_PLUS_offered_while_we_could_bind_sends_y()
    {
        // TLS 1.3 against Prosody 0.12: it offers no -PLUS; "y" lets it detect a stripping attacker.
        var mechanism = SaslSelector.Select(["SCRAM-SHA-1", "PLAIN"], Tls13(), false);

        Assert.Equal("SCRAM-SHA-1", mechanism.Name);
        Assert.Equal("y,,", Gs2Header(mechanism));
    }

    [Fact]
    public void Without_TLS_SCRAM_sends_n_and_PLUS_is_never_picked()
    {
        var mechanism = SaslSelector.Select(["SCRAM-SHA-256-PLUS", "SCRAM-SHA-1", "PLAIN"], Plaintext(), false);

        Assert.Equal("SCRAM-SHA-1", mechanism.Name);
        Assert.Equal("n,,", Gs2Header(mechanism));
    }

    [Fact]
    public void PLAIN_without_TLS_is_too_weak_unless_allowed()
    {
        var error = Assert.Throws<XmppAuthenticationException>(() => SaslSelector.Select(["PLAIN", "DIGEST-MD5"], Plaintext(), false));
        Assert.Equal("mechanism-too-weak", error.Condition);
        Assert.Contains("DIGEST-MD5, PLAIN", error.Message, StringComparison.Ordinal);
        Assert.Contains("not encrypted", error.Message, StringComparison.Ordinal);

        Assert.Equal("PLAIN", SaslSelector.Select(["PLAIN"], Plaintext(), allowPlainWithoutTls: true).Name);
    }

    [Fact]
    public void Nothing_acceptable_lists_the_offer()
    {
        var error = Assert.Throws<XmppAuthenticationException>(() => SaslSelector.Select(["X-OAUTH2", "ANONYMOUS"], Tls12(), false));
        Assert.Equal("mechanism-too-weak", error.Condition);
        Assert.Contains("ANONYMOUS, X-OAUTH2", error.Message, StringComparison.Ordinal);

        var empty = Assert.Throws<XmppAuthenticationException>(() => SaslSelector.Select([], Tls12(), false));
        Assert.Contains("offered nothing", empty.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Names_are_trimmed_and_case_folded_and_junk_is_ignored()
    {
        var mechanism = SaslSelector.Select([" scram-sha-256 ", "SCRAM-SHA-256-PLUS-BUT-FAR-TOO-LONG", ""], Tls12(), false);

        Assert.Equal("SCRAM-SHA-256", mechanism.Name);
    }

    [Fact]
    public void The_refusal_lists_names_up_to_20_characters_and_mentions_PLAIN_only_when_offered()
    {
        var longest = new string('A', 20);
        var tooLong = new string('B', 21);

        var error = Assert.Throws<XmppAuthenticationException>(() => SaslSelector.Select([longest, tooLong, "  "], Plaintext(), false));
        Assert.Contains($"offered {longest};", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(tooLong, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("PLAIN is refused", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Null_arguments_are_refused()
    {
        Assert.Throws<ArgumentNullException>(() => SaslSelector.Select(null!, Tls12(), false));
        Assert.Throws<ArgumentNullException>(() => SaslSelector.Select(["PLAIN"], null!, false));
        Assert.Throws<ArgumentNullException>(() => new PlainMechanism(null!));
    }
}
