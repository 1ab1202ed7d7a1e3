using System.Security.Cryptography;
using System.Text;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp.FileTransfer.Tests;

public sealed class Socks5UnitTests
{
    [Fact]
    public void Destination_address_is_the_sha1_of_sid_requester_and_target_in_lower_case_hex()
    {
        // XEP-0065 §5.3.2, computed independently here from the concatenated strings.
        var requester = Jid.Parse("requester@example.com/foo");
        var target = Jid.Parse("target@example.org/bar");
        var expected = Convert.ToHexString(SHA1.HashData(Encoding.UTF8.GetBytes("vxf9n471bn46" + "requester@example.com/foo" + "target@example.org/bar"))).ToLowerInvariant();
        var address = Socks5.DestinationAddress("vxf9n471bn46", requester, target);
        Assert.Equal(expected, address);
        Assert.Equal(40, address.Length);
        Assert.Matches("^[0-9a-f]{40}$", address);
        Assert.NotEqual(address, Socks5.DestinationAddress("vxf9n471bn46", target, requester));
    }
}

public sealed class IbbSequenceUnitTests
{
    [Fact]
    public void Sequence_wraps_from_65535_to_0()
    {
        var sequence = IbbSequence.StartingAt(65534);
        Assert.Equal(65534, sequence.Take());
        Assert.Equal(65535, sequence.Take());
        Assert.Equal(0, sequence.Take());
        Assert.Equal(1, sequence.Take());
    }

    [Fact]
    public void Receiver_accepts_only_the_next_number_and_wraps()
    {
        var sequence = IbbSequence.StartingAt(65535);
        Assert.False(sequence.TryAccept("0"));
        Assert.True(sequence.TryAccept("65535"));
        Assert.True(sequence.TryAccept("0"));
        Assert.False(sequence.TryAccept("0"));
        Assert.False(sequence.TryAccept("2"));
        Assert.True(sequence.TryAccept("1"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("-1")]
    [InlineData("+0")]
    [InlineData(" 0")]
    [InlineData("65536")]
    [InlineData("0x0")]
    public void Receiver_rejects_malformed_numbers(string? value)
    {
        var sequence = default(IbbSequence);
        Assert.False(sequence.TryAccept(value));
        Assert.Equal(0, sequence.Next);
    }
}

public sealed class FileNamesUnitTests
{
    [Theory]
    [InlineData("report.pdf", "report.pdf")]
    [InlineData("../../etc/passwd", "passwd")]
    [InlineData("..\\..\\Windows\\win.ini", "win.ini")]
    [InlineData("/absolute/path/x.txt", "x.txt")]
    [InlineData(".bashrc", "bashrc")]
    [InlineData("...hidden", "hidden")]
    [InlineData("..", "file")]
    [InlineData("", "file")]
    [InlineData("dir/", "file")]
    [InlineData("a\u0000b\u001fc.txt", "a_b_c.txt")]
    [InlineData("what?<>|*:\".txt", "what_______.txt")]
    [InlineData("trailing. . ", "trailing")]
    [InlineData("CON", "_CON")]
    [InlineData("nul.txt", "_nul.txt")]
    [InlineData("r\u202egnp.exe", "r_gnp.exe")]
    [InlineData("Grüße 📄.pdf", "Grüße 📄.pdf")]
    public void Sanitizes_names_from_peers(string name, string expected) => Assert.Equal(expected, FileNames.Sanitize(name));

    [Fact]
    public void Long_names_are_cut_keeping_the_extension()
    {
        var sanitized = FileNames.Sanitize(new string('x', 5000) + ".tar.gz");
        Assert.Equal(FileNames.MaxLength, sanitized.Length);
        Assert.EndsWith("x.gz", sanitized, StringComparison.Ordinal);
    }

    [Fact]
    public void A_cut_never_splits_a_surrogate_pair()
    {
        var sanitized = FileNames.Sanitize(new string('a', FileNames.MaxLength - 5) + string.Concat(Enumerable.Repeat("📄", 50)) + ".pdf");
        Assert.True(sanitized.Length <= FileNames.MaxLength);
        Assert.EndsWith(".pdf", sanitized, StringComparison.Ordinal);
        Assert.False(char.IsHighSurrogate(sanitized[^5]));
        // A lone surrogate would not survive a UTF-8 round trip.
        Assert.Equal(sanitized, Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(sanitized)));
    }
}

public sealed class SiOfferUnitTests
{
    private static XmppElement Parse(string xml) => Xml.Parse(xml);

    [Fact]
    public void An_offer_round_trips_with_both_methods_and_the_sha256()
    {
        var sha = Convert.ToHexStringLower(SHA256.HashData("hello"u8));
        var offer = new SiFileOffer("sid1", "a b.txt", 5, "greeting", "text/plain", sha, [FileTransferMethod.Socks5Bytestreams, FileTransferMethod.InBandBytestreams]);
        var element = offer.ToElement();
        var xml = element.ToString();
        Assert.Contains("<option><value>http://jabber.org/protocol/bytestreams</value></option>", xml, StringComparison.Ordinal);
        Assert.Contains("algo=\"sha-256\"", xml.Replace('\'', '"'), StringComparison.Ordinal);
        var parsed = SiFileOffer.Parse(element);
        Assert.Equal(offer.Sid, parsed.Sid);
        Assert.Equal(offer.Name, parsed.Name);
        Assert.Equal(5, parsed.Size);
        Assert.Equal("greeting", parsed.Description);
        Assert.Equal(sha, parsed.Sha256);
        Assert.Equal(offer.Methods, parsed.Methods);
    }

    [Fact]
    public void Parses_a_libpurple_style_offer_and_ignores_unknown_methods()
    {
        var si = Parse("""
            <si xmlns='http://jabber.org/protocol/si' id='purple1234' profile='http://jabber.org/protocol/si/profile/file-transfer'>
              <file xmlns='http://jabber.org/protocol/si/profile/file-transfer' name='notes.txt' size='1022'/>
              <feature xmlns='http://jabber.org/protocol/feature-neg'>
                <x xmlns='jabber:x:data' type='form'>
                  <field var='stream-method' type='list-single'>
                    <option><value>urn:example:unknown</value></option>
                    <option><value>http://jabber.org/protocol/ibb</value></option>
                    <option><value>http://jabber.org/protocol/bytestreams</value></option>
                  </field>
                </x>
              </feature>
            </si>
            """);
        var offer = SiFileOffer.Parse(si);
        Assert.Equal("purple1234", offer.Sid);
        Assert.Equal(1022, offer.Size);
        Assert.Null(offer.Sha256);
        Assert.Equal([FileTransferMethod.InBandBytestreams, FileTransferMethod.Socks5Bytestreams], offer.Methods);
    }

    [Theory]
    [InlineData("<si xmlns='http://jabber.org/protocol/si' profile='http://jabber.org/protocol/si/profile/file-transfer'><file xmlns='http://jabber.org/protocol/si/profile/file-transfer' name='a' size='1'/></si>")]
    [InlineData("<si xmlns='http://jabber.org/protocol/si' id='s' profile='http://jabber.org/protocol/si/profile/file-transfer'><file xmlns='http://jabber.org/protocol/si/profile/file-transfer' name='a' size='-1'/></si>")]
    [InlineData("<si xmlns='http://jabber.org/protocol/si' id='s' profile='http://jabber.org/protocol/si/profile/file-transfer'><file xmlns='http://jabber.org/protocol/si/profile/file-transfer' size='1'/></si>")]
    [InlineData("<si xmlns='http://jabber.org/protocol/si' id='s' profile='urn:other'><file xmlns='http://jabber.org/protocol/si/profile/file-transfer' name='a' size='1'/></si>")]
    [InlineData("<si xmlns='http://jabber.org/protocol/si' id='s' profile='http://jabber.org/protocol/si/profile/file-transfer'><file xmlns='http://jabber.org/protocol/si/profile/file-transfer' name='a' size='99999999999999999999'/></si>")]
    [InlineData("<si xmlns='http://jabber.org/protocol/si' id='s' profile='http://jabber.org/protocol/si/profile/file-transfer'><file xmlns='http://jabber.org/protocol/si/profile/file-transfer' name='a' size='1'><hash xmlns='urn:xmpp:hashes:2' algo='sha-256'>AAAA</hash></file></si>")]
    public void Malformed_offers_are_bad_requests(string xml)
    {
        var error = Assert.Throws<XmppStanzaException>(() => SiFileOffer.Parse(Parse(xml)));
        Assert.Equal("bad-request", error.Condition);
    }

    [Fact]
    public void The_answer_names_the_chosen_method()
    {
        var answer = SiFileOffer.Answer(FileTransferMethod.InBandBytestreams);
        Assert.Contains("<value>http://jabber.org/protocol/ibb</value>", answer.ToString(), StringComparison.Ordinal);
        Assert.Equal(FileTransferMethod.InBandBytestreams, SiFileOffer.ParseAnswer(answer));
        Assert.Null(SiFileOffer.ParseAnswer(Parse("<si xmlns='http://jabber.org/protocol/si'/>")));
        Assert.Null(SiFileOffer.ParseAnswer(Parse("<si xmlns='http://jabber.org/protocol/si'><feature xmlns='http://jabber.org/protocol/feature-neg'><x xmlns='jabber:x:data' type='submit'><field var='stream-method'><value>urn:x</value></field></x></feature></si>")));
    }

    [Fact]
    public void Options_are_validated()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new FileTransferManager(new FileTransferOptions { IbbBlockSize = 70000 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new FileTransferManager(new FileTransferOptions { IbbWindow = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new FileTransferManager(new FileTransferOptions { Socks5PortMin = 10, Socks5PortMax = 5 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new FileTransferManager(new FileTransferOptions { IbbCloseTimeout = TimeSpan.Zero }));
    }
}
