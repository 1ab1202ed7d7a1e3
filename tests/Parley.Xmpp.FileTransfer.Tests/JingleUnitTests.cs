using System.Security.Cryptography;
using System.Text;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp.FileTransfer.Tests;

/// <summary>Building and parsing Jingle elements, checked against the examples of XEP-0166, 0234, 0260 and 0261.</summary>
public sealed class JingleUnitTests
{
    // XEP-0234 Example 1 (session-initiate content), shortened to the content element.
    private const string Xep0234Content = """
        <content xmlns='urn:xmpp:jingle:1' creator='initiator' name='a-file-offer' senders='initiator'>
          <description xmlns='urn:xmpp:jingle:apps:file-transfer:5'>
            <file>
              <date>1969-07-21T02:56:15Z</date>
              <desc>This is a test. If this were a real file...</desc>
              <media-type>text/plain</media-type>
              <name>test.txt</name>
              <range/>
              <size>6144</size>
              <hash xmlns='urn:xmpp:hashes:2' algo='sha-1'>w0mcJylzCn+AfvuGdqkty2+KP48=</hash>
            </file>
          </description>
          <transport xmlns='urn:xmpp:jingle:transports:s5b:1' mode='tcp' sid='vj3hs98y'>
            <candidate cid='hft54dqy' host='192.168.4.1' jid='romeo@montague.example/dr4hcr0st3lup4c' port='5086' priority='8257636' type='direct'/>
            <candidate cid='hutr46fe' host='24.24.24.1' jid='romeo@montague.example/dr4hcr0st3lup4c' port='5087' priority='8258636' type='direct'/>
          </transport>
        </content>
        """;

    [Fact]
    public void Parses_the_xep_0234_offer()
    {
        var content = Xml.Parse(Xep0234Content);
        var file = JingleFile.Parse(content.Element("description", FileTransferNamespaces.JingleFileTransfer)!);
        Assert.Equal("test.txt", file.Name);
        Assert.Equal(6144, file.Size);
        Assert.Equal("text/plain", file.MediaType);
        Assert.Equal("This is a test. If this were a real file...", file.Description);
        Assert.Equal(new DateTimeOffset(1969, 7, 21, 2, 56, 15, TimeSpan.Zero), file.Date);
        Assert.Null(file.Sha256); // only a sha-1 is offered; we verify sha-256
        Assert.False(file.HashUsed);

        var transport = S5bTransport.Parse(content.Element("transport", FileTransferNamespaces.JingleS5b)!);
        Assert.Equal("vj3hs98y", transport.Sid);
        Assert.Null(transport.DstAddr);
        Assert.Equal(["hft54dqy", "hutr46fe"], transport.Candidates.Select(c => c.Cid));
        var first = transport.Candidates[0];
        Assert.Equal(("192.168.4.1", 5086, 8257636L, S5bCandidateType.Direct), (first.Host, first.Port, first.Priority, first.Type));
        Assert.Equal(Jid.Parse("romeo@montague.example/dr4hcr0st3lup4c"), first.Jid);
    }

    [Fact]
    public void Candidate_priorities_follow_xep_0260()
    {
        // §2.2: type preference << 16 + local preference; 8257636 in the examples is a direct candidate with local preference 100.
        Assert.Equal(8257636, S5bCandidate.PriorityOf(S5bCandidateType.Direct, 100));
        // The table's preferences (the examples' 7929856 for an assisted candidate is 121 << 16, "only guidelines").
        Assert.Equal(120 << 16, S5bCandidate.PriorityOf(S5bCandidateType.Assisted, 0));
        Assert.Equal(110 << 16, S5bCandidate.PriorityOf(S5bCandidateType.Tunnel, 0));
        Assert.Equal(10 << 16, S5bCandidate.PriorityOf(S5bCandidateType.Proxy, 0));
        Assert.True(S5bCandidate.PriorityOf(S5bCandidateType.Direct, 0) > S5bCandidate.PriorityOf(S5bCandidateType.Proxy, 65535));
    }

    [Fact]
    public void The_dstaddr_of_the_xep_0260_example_is_sha1_of_sid_initiator_responder()
    {
        // XEP-0260 §2.2 Example 1: dstaddr='972b7bf47291ca609517f67f86b5081086052dad' for sid vj3hs98y, Romeo to Juliet.
        var romeo = Jid.Parse("romeo@montague.lit/orchard");
        var juliet = Jid.Parse("juliet@capulet.lit/balcony");
        Assert.Equal("972b7bf47291ca609517f67f86b5081086052dad", Socks5.DestinationAddress("vj3hs98y", romeo, juliet));
        Assert.Equal("1a12fb7bc625e55f3ed5b29a53dbe0e4aa7d80ba", Socks5.DestinationAddress("vj3hs98y", juliet, romeo));
    }

    [Theory]
    [InlineData("<candidate xmlns='urn:xmpp:jingle:transports:s5b:1' host='1.2.3.4' jid='a@b/c' port='1' priority='1'/>")] // no cid
    [InlineData("<candidate xmlns='urn:xmpp:jingle:transports:s5b:1' cid='x' host='1.2.3.4' port='1' priority='1'/>")] // no jid
    [InlineData("<candidate xmlns='urn:xmpp:jingle:transports:s5b:1' cid='x' host='1.2.3.4' jid='a@b/c' port='1'/>")] // no priority
    [InlineData("<candidate xmlns='urn:xmpp:jingle:transports:s5b:1' cid='x' host='1.2.3.4' jid='a@b/c' port='70000' priority='1'/>")]
    [InlineData("<candidate xmlns='urn:xmpp:jingle:transports:s5b:1' cid='x' host='1.2.3.4' jid='a@b/c' port='1' priority='1' type='ice'/>")]
    public void Unusable_candidates_are_skipped(string xml) => Assert.Null(S5bCandidate.TryParse(Xml.Parse(xml)));

    [Fact]
    public void A_candidate_without_port_or_type_is_direct_on_1080()
    {
        var candidate = S5bCandidate.TryParse(Xml.Parse("<candidate xmlns='urn:xmpp:jingle:transports:s5b:1' cid='x' host='h' jid='a@b/c' priority='5'/>"))!;
        Assert.Equal((1080, S5bCandidateType.Direct), (candidate.Port, candidate.Type));
    }

    [Fact]
    public void Builds_an_offer_with_everything_dino_0_4_2_requires()
    {
        // Dino's parsers need: file size (it finds the end of the file by it), candidate cid/host/jid/port/priority>0,
        // transport sid; XEP-0260 wants dstaddr (we may offer a proxy) and mode='tcp' from the initiator only.
        var sha = Convert.ToHexStringLower(SHA256.HashData("x"u8));
        var file = new JingleFile("a.bin", 42, null, null, null, sha, false);
        var self = Jid.Parse("me@example.org/parley");
        var candidate = new S5bCandidate("c1", "127.0.0.1", 7777, self, S5bCandidate.PriorityOf(S5bCandidateType.Direct, 65535), S5bCandidateType.Direct);
        var jingle = JingleElement.Create(JingleActions.SessionInitiate, "s1", initiator: self);
        var content = JingleElement.AddContent(jingle, JingleElement.ContentName);
        content.Add(file.ToDescription());
        content.Add(new S5bTransport("t1", "d1", [candidate]).ToElement(initiator: true));

        Assert.Equal(("session-initiate", "me@example.org/parley", "s1"), (jingle.GetAttribute("action"), jingle.GetAttribute("initiator"), jingle.GetAttribute("sid")));
        Assert.Equal(("initiator", "a-file-offer", "initiator"), (content.GetAttribute("creator"), content.GetAttribute("name"), content.GetAttribute("senders")));
        var fileElement = content.Element("description", FileTransferNamespaces.JingleFileTransfer)!.Element("file")!;
        Assert.Equal("42", fileElement.ElementText("size"));
        Assert.Equal("a.bin", fileElement.ElementText("name"));
        Assert.Equal("application/octet-stream", fileElement.ElementText("media-type"));
        Assert.Equal("sha-256", fileElement.Element("hash", FileTransferNamespaces.Hashes)!.GetAttribute("algo"));
        Assert.Equal(sha, JingleFile.ParseSha256(fileElement));
        var transport = content.Element("transport", FileTransferNamespaces.JingleS5b)!;
        Assert.Equal(("t1", "d1", "tcp"), (transport.GetAttribute("sid"), transport.GetAttribute("dstaddr"), transport.GetAttribute("mode")));
        var c = transport.Element("candidate")!;
        Assert.Equal(["c1", "127.0.0.1", "me@example.org/parley", "7777", "8323071", "direct"],
            new[] { "cid", "host", "jid", "port", "priority", "type" }.Select(c.GetAttribute));
        Assert.Null(new S5bTransport("t1", "d1", []).ToElement(initiator: false).GetAttribute("mode"));

        // Round trip through our own parser (the default media type is written out).
        Assert.Equal(file with { MediaType = "application/octet-stream" }, JingleFile.Parse(content.Element("description", FileTransferNamespaces.JingleFileTransfer)!));
    }

    [Fact]
    public void Without_a_hash_the_offer_carries_hash_used()
    {
        var file = new JingleFile("a.bin", 1, "text/plain", null, null, null, true).ToFile();
        var used = file.Element("hash-used", FileTransferNamespaces.Hashes)!;
        Assert.Equal("sha-256", used.GetAttribute("algo"));
        Assert.Null(file.Element("hash", FileTransferNamespaces.Hashes));
        Assert.True(JingleFile.Parse(new XmppElement("description", FileTransferNamespaces.JingleFileTransfer) { }.Add(file).Parent!).HashUsed);
    }

    [Theory]
    [InlineData("<hash-used xmlns='urn:xmpp:hashes:2' algo='sha-256'/>", true)]
    [InlineData("<hash-used xmlns='urn:xmpp:hashes:2'><hash algo='sha-256'/></hash-used>", true)]
    [InlineData("<hash-used xmlns='urn:xmpp:hashes:2' algo='sha-1'/>", false)]
    [InlineData("", false)]
    public void Hash_used_for_sha256_means_a_checksum_follows(string announcement, bool follows)
    {
        var description = Xml.Parse($"<description xmlns='urn:xmpp:jingle:apps:file-transfer:5'><file><name>a</name><size>3</size>{announcement}</file></description>");
        var file = JingleFile.Parse(description);
        Assert.Equal(follows, file.HashUsed);
        Assert.Null(file.Sha256);
    }

    [Fact]
    public void Parses_the_xep_0261_transport_and_builds_the_same()
    {
        var transport = IbbTransport.Parse(Xml.Parse("<transport xmlns='urn:xmpp:jingle:transports:ibb:1' block-size='4096' sid='ch3d9s71'/>"));
        Assert.Equal(new IbbTransport("ch3d9s71", 4096), transport);
        var built = transport.ToElement();
        Assert.Equal(FileTransferNamespaces.JingleIbb, built.Namespace);
        Assert.Equal(("4096", "ch3d9s71"), (built.GetAttribute("block-size"), built.GetAttribute("sid")));
        Assert.Throws<XmppStanzaException>(() => IbbTransport.Parse(Xml.Parse("<transport xmlns='urn:xmpp:jingle:transports:ibb:1' block-size='70000' sid='a'/>")));
        Assert.Throws<XmppStanzaException>(() => IbbTransport.Parse(Xml.Parse("<transport xmlns='urn:xmpp:jingle:transports:ibb:1' block-size='4096' sid='a' stanza='message'/>")));
        Assert.Throws<XmppStanzaException>(() => IbbTransport.Parse(Xml.Parse("<transport xmlns='urn:xmpp:jingle:transports:ibb:1' block-size='4096'/>")));
    }

    [Fact]
    public void Reasons_round_trip_and_unknown_ones_are_general_errors()
    {
        // XEP-0166 Example: <reason><success/><text>Sorry, gotta go!</text></reason>
        var reason = JingleReason.Parse(Xml.Parse("<reason xmlns='urn:xmpp:jingle:1'><success/><text>Sorry, gotta go!</text></reason>"));
        Assert.Equal(new JingleReason("success", "Sorry, gotta go!"), reason);
        Assert.True(reason.IsSuccess);
        Assert.Equal(new JingleReason("decline", "no"), JingleReason.Parse(new JingleReason("decline", "no").ToElement()));
        Assert.Equal("general-error", JingleReason.Parse(Xml.Parse("<reason xmlns='urn:xmpp:jingle:1'><nonsense/></reason>")).Condition);
        Assert.Equal("general-error", JingleReason.Parse(null).Condition);
        var terminate = JingleElement.Terminate("s", new JingleReason("cancel"));
        Assert.Equal("session-terminate", terminate.GetAttribute("action"));
        Assert.NotNull(terminate.Element("reason")!.Element("cancel"));
    }

    [Fact]
    public void Transport_info_payloads_match_xep_0260()
    {
        var used = S5bTransport.Info("vj3hs98y", "candidate-used", "hr65dqyd");
        Assert.Equal((FileTransferNamespaces.JingleS5b, "vj3hs98y"), (used.Namespace, used.GetAttribute("sid")));
        Assert.Equal("hr65dqyd", used.Element("candidate-used")!.GetAttribute("cid"));
        Assert.NotNull(S5bTransport.Info("vj3hs98y", "candidate-error").Element("candidate-error"));
        Assert.Equal("xmdh4b7i", S5bTransport.Info("vj3hs98y", "activated", "xmdh4b7i").Element("activated")!.GetAttribute("cid"));
    }

    [Fact]
    public void The_checksum_of_xep_0234_parses_and_a_malformed_sha256_is_a_bad_request()
    {
        var sha = SHA256.HashData(Encoding.UTF8.GetBytes("file"));
        var checksum = Xml.Parse($"<file xmlns='urn:xmpp:jingle:apps:file-transfer:5'><hash xmlns='urn:xmpp:hashes:2' algo='sha-256'>{Convert.ToBase64String(sha)}</hash></file>");
        Assert.Equal(Convert.ToHexStringLower(sha), JingleFile.ParseSha256(checksum));
        var error = Assert.Throws<XmppStanzaException>(() => JingleFile.ParseSha256(Xml.Parse("<file xmlns='urn:xmpp:jingle:apps:file-transfer:5'><hash xmlns='urn:xmpp:hashes:2' algo='sha-256'>AAAA</hash></file>")));
        Assert.Equal("bad-request", error.Condition);
    }

    [Fact]
    public void An_offer_without_size_is_refused()
    {
        var error = Assert.Throws<XmppStanzaException>(() => JingleFile.Parse(Xml.Parse("<description xmlns='urn:xmpp:jingle:apps:file-transfer:5'><file><name>a</name></file></description>")));
        Assert.Equal("bad-request", error.Condition);
    }
}
