using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Parley.Xmpp.Net;

namespace Parley.Xmpp.Tests.Net;

/// <summary>The SRV resolver without a real DNS server: wire format on byte fixtures, ordering, resolv.conf, and a fake responder on loopback.</summary>
public class SrvResolverUnitTests
{
    private const string Name = "_xmpp-client._tcp.example.com";

    private static CancellationToken TestTimeout => new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token;

    // id 0x1234, QR RD RA, 1 question, 2 answers. Answer 1: owner -> question (c00c), target "xmpp" + pointer to
    // "example.com" inside the question (c01e). Answer 2: owner c00c, target = pointer to answer 1's target (c041).
    private static readonly byte[] CompressedAnswer = Convert.FromHexString(
        "1234" + "8180" + "0001" + "0002" + "0000" + "0000"
        + "0c5f786d70702d636c69656e74" + "045f746370" + "076578616d706c65" + "03636f6d" + "00" + "0021" + "0001"
        + "c00c" + "0021" + "0001" + "00000e10" + "000d" + "0005" + "000a" + "1466" + "04786d7070" + "c01e"
        + "c00c" + "0021" + "0001" + "00000e10" + "0008" + "0000" + "0000" + "1467" + "c041");

    private static readonly byte[] EncodedName = Convert.FromHexString(
        "0c5f786d70702d636c69656e74" + "045f746370" + "076578616d706c65" + "03636f6d" + "00");

    [Fact]
    public void Query_is_a_recursive_SRV_question_with_the_given_id()
    {
        var query = DnsMessage.BuildQuery(0xBEEF, DnsMessage.EncodeName(Name));

        Assert.Equal(Convert.FromHexString("beef" + "0100" + "0001" + "0000" + "0000" + "0000"), query[..12]);
        Assert.Equal(EncodedName, query[12..^4]);
        Assert.Equal(Convert.FromHexString("0021" + "0001"), query[^4..]);
        Assert.Equal(EncodedName, DnsMessage.EncodeName(Name + "."));
    }

    [Theory]
    [InlineData("a..b")]
    [InlineData(".")]
    [InlineData("bücher.example")]
    [InlineData("a b.example")]
    public void EncodeName_rejects_names_that_are_not_A_labels(string name) =>
        Assert.Throws<ArgumentException>(() => DnsMessage.EncodeName(name));

    [Fact]
    public void EncodeName_enforces_label_and_name_length()
    {
        Assert.Equal(65, DnsMessage.EncodeName(new string('a', 63)).Length);
        Assert.Throws<ArgumentException>(() => DnsMessage.EncodeName(new string('a', 64)));
        var longest = string.Join('.', Enumerable.Repeat(new string('a', 63), 3)) + "." + new string('a', 61); // 255 bytes on the wire
        Assert.Equal(255, DnsMessage.EncodeName(longest).Length);
        Assert.Throws<ArgumentException>(() => DnsMessage.EncodeName(longest + "a"));
    }

    [Fact]
    public void Parses_an_answer_with_compression_pointers_in_owner_and_target()
    {
        Assert.True(DnsMessage.TryParseResponse(CompressedAnswer, 0x1234, Name, out var response));

        Assert.Equal(0, response.ResponseCode);
        Assert.False(response.IsTruncated);
        Assert.Equal(
            [new SrvRecord("xmpp.example.com", 5222, 5, 10), new SrvRecord("xmpp.example.com", 5223, 0, 0)],
            response.Records);
    }

    [Fact]
    public void Parses_an_answer_captured_from_dnsmasq()
    {
        // dnsmasq 2.90, --srv-host=_xmpp-client._tcp.example.test,xmpp.example.test,5222,0,5 and backup...,5223,10,0; id 0xa55a.
        var captured = Convert.FromHexString(
            "a55a858000010002000000000c5f786d70702d636c69656e74045f746370076578616d706c6504746573740000210001"
            + "c00c0021000100000000001b000a00001467066261636b7570076578616d706c65047465737400"
            + "c00c0021000100000000001900000005146604786d7070076578616d706c65047465737400");

        Assert.True(DnsMessage.TryParseResponse(captured, 0xa55a, "_xmpp-client._tcp.example.test", out var response));

        Assert.Equal(
            [new SrvRecord("backup.example.test", 5223, 10, 0), new SrvRecord("xmpp.example.test", 5222, 0, 5)],
            response.Records);
    }

    [Fact]
    public void Question_name_is_compared_without_regard_to_case()
    {
        Assert.True(DnsMessage.TryParseResponse(CompressedAnswer, 0x1234, Name.ToUpperInvariant(), out var response));
        Assert.Equal(2, response.Records.Count);
    }

    [Fact]
    public void An_answer_to_another_query_is_not_taken()
    {
        Assert.False(DnsMessage.TryParseResponse(CompressedAnswer, 0x1235, Name, out _));
        Assert.False(DnsMessage.TryParseResponse(CompressedAnswer, 0x1234, "_xmpps-client._tcp.example.com", out _));

        var query = With(CompressedAnswer, 2, 0x01); // QR bit clear: a query, not a response
        Assert.False(DnsMessage.TryParseResponse(query, 0x1234, Name, out _));
        var otherType = With(CompressedAnswer, 44, 0x01); // QTYPE A
        Assert.False(DnsMessage.TryParseResponse(otherType, 0x1234, Name, out _));
        var otherOpcode = With(CompressedAnswer, 2, 0x81 | (2 << 3)); // opcode STATUS
        Assert.False(DnsMessage.TryParseResponse(otherOpcode, 0x1234, Name, out _));
    }

    [Fact]
    public void Every_truncation_of_an_answer_is_a_format_error()
    {
        for (var length = 0; length < CompressedAnswer.Length; length++)
        {
            var prefix = CompressedAnswer[..length];
            Assert.Throws<DnsFormatException>(() => DnsMessage.TryParseResponse(prefix, 0x1234, Name, out _));
        }
    }

    [Fact]
    public void Corrupted_answers_give_a_result_or_a_format_error_and_nothing_else()
    {
        var random = new Random(2782);
        for (var i = 0; i < 20_000; i++)
        {
            var message = (byte[])CompressedAnswer.Clone();
            for (var flips = random.Next(1, 4); flips > 0; flips--)
                message[random.Next(message.Length)] = (byte)random.Next(256);
            if (random.Next(4) == 0)
                message = message[..random.Next(message.Length)];
            try
            {
                if (DnsMessage.TryParseResponse(message, 0x1234, Name, out var response))
                    Assert.All(response.Records, r => Assert.InRange(r.Target.Length, 1, 4 * 255));
            }
            catch (DnsFormatException)
            {
            }
        }
    }

    [Fact]
    public void A_pointer_to_itself_is_a_format_error()
    {
        byte[] message = [.. new byte[12], 0xC0, 12];
        var offset = 12;
        var error = Assert.Throws<DnsFormatException>(() => DnsMessage.ReadName(message, ref offset));
        Assert.Contains("backwards", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Pointers_that_refer_to_each_other_are_a_format_error()
    {
        // At 12: "a" then a pointer to 18; at 18: "b" then a pointer back to 12 — an endless name without the check.
        byte[] message = [.. new byte[12], 1, (byte)'a', 0xC0, 18, 0, 0, 1, (byte)'b', 0xC0, 12];
        var offset = 12;
        Assert.Contains("backwards", Assert.Throws<DnsFormatException>(() => DnsMessage.ReadName(message, ref offset)).Message, StringComparison.Ordinal);
        offset = 18;
        Assert.Contains("backwards", Assert.Throws<DnsFormatException>(() => DnsMessage.ReadName(message, ref offset)).Message, StringComparison.Ordinal);

        // Two bare pointers to each other: no label, so no length limit would ever stop it.
        byte[] bare = [.. new byte[12], 0xC0, 14, 0xC0, 12];
        offset = 14;
        Assert.Contains("backwards", Assert.Throws<DnsFormatException>(() => DnsMessage.ReadName(bare, ref offset)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_name_longer_than_255_bytes_through_pointers_is_a_format_error()
    {
        // Five 63-byte labels, each followed by a pointer to the one before: every pointer is backwards, the name is 321 bytes.
        var message = new List<byte>(new byte[12]);
        var previous = -1;
        for (var i = 0; i < 5; i++)
        {
            var start = message.Count;
            message.Add(63);
            message.AddRange(Enumerable.Repeat((byte)'x', 63));
            message.AddRange(previous < 0 ? [0] : [(byte)(0xC0 | (previous >> 8)), (byte)previous]);
            previous = start;
        }
        var offset = previous;
        Assert.Throws<DnsFormatException>(() => DnsMessage.ReadName(message.ToArray(), ref offset));
        offset = 12 + 64 + 1; // the second name: 2 labels, fine
        Assert.Equal(127, DnsMessage.ReadName(message.ToArray(), ref offset).Length);
    }

    [Theory]
    [InlineData(0x40)]
    [InlineData(0x80)]
    public void Reserved_label_types_are_a_format_error(byte type)
    {
        byte[] message = [.. new byte[12], type, 0];
        var offset = 12;
        Assert.Throws<DnsFormatException>(() => DnsMessage.ReadName(message, ref offset));
    }

    [Fact]
    public void Unprintable_bytes_dots_and_backslashes_in_labels_are_escaped()
    {
        byte[] message = [.. new byte[12], 5, (byte)'a', (byte)'.', 0, (byte)'\\', 0xE9, 3, (byte)'c', (byte)'o', (byte)'m', 0];
        var offset = 12;
        Assert.Equal(@"a\046\000\092\233.com", DnsMessage.ReadName(message, ref offset));
        Assert.Equal(message.Length, offset);
    }

    [Fact]
    public void Record_data_length_must_match_the_SRV_target()
    {
        var longer = With(CompressedAnswer, 58, 0x0E); // answer 1 claims 14 bytes of RDATA, its target ends after 13
        Assert.Throws<DnsFormatException>(() => DnsMessage.TryParseResponse(longer, 0x1234, Name, out _));
        var shorter = With(CompressedAnswer, 58, 0x0C);
        Assert.Throws<DnsFormatException>(() => DnsMessage.TryParseResponse(shorter, 0x1234, Name, out _));
    }

    [Fact]
    public void Too_many_answer_records_are_a_format_error()
    {
        var message = With(CompressedAnswer, 6, 0x01); // ANCOUNT 0x0102 = 258
        var error = Assert.Throws<DnsFormatException>(() => DnsMessage.TryParseResponse(message, 0x1234, Name, out _));
        Assert.Contains("256", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Response_codes_and_the_truncation_bit_are_reported()
    {
        var nxdomain = Response(Name, 0x8183, []);
        Assert.True(DnsMessage.TryParseResponse(nxdomain, 0x1234, Name, out var response));
        Assert.Equal((3, false, 0), (response.ResponseCode, response.IsTruncated, response.Records.Count));

        byte[] servfailWithoutQuestion = Convert.FromHexString("1234" + "8182" + "0000" + "0000" + "0000" + "0000");
        Assert.True(DnsMessage.TryParseResponse(servfailWithoutQuestion, 0x1234, Name, out response));
        Assert.Equal(2, response.ResponseCode);

        var truncated = Response(Name, 0x8380, [Srv(Name, 0, 0, 5222, "xmpp.example.com")], answerCountOverride: 9);
        Assert.True(DnsMessage.TryParseResponse(truncated, 0x1234, Name, out response));
        Assert.True(response.IsTruncated);
        Assert.Empty(response.Records);
    }

    [Fact]
    public void A_CNAME_chain_is_followed_and_unrelated_records_are_ignored()
    {
        var message = Response(Name, 0x8180,
        [
            Srv("_xmpp-client._tcp.attacker.example", 0, 0, 5222, "evil.example"),
            Record(Name, 5, Encode("alias.example.net")),
            Record("alias.example.net", 5, Encode("srv.example.org")),
            Srv("srv.example.org", 1, 2, 5269, "xmpp.example.org"),
            Record("srv.example.org", 16, [3, (byte)'t', (byte)'x', (byte)'t']),
        ]);

        Assert.True(DnsMessage.TryParseResponse(message, 0x1234, Name, out var response));
        Assert.Equal([new SrvRecord("xmpp.example.org", 5269, 1, 2)], response.Records);
    }

    [Fact]
    public void Order_is_by_priority_then_weighted_random()
    {
        SrvRecord[] records = [new("c", 1, 20, 0), new("a", 1, 10, 5), new("b", 1, 10, 5), new("d", 1, 30, 100)];
        var firsts = new Dictionary<string, int> { ["a"] = 0, ["b"] = 0 };
        var random = new Random(1);
        for (var i = 0; i < 2000; i++)
        {
            var ordered = SrvResolver.Order(records, random);
            Assert.Equal([10, 10, 20, 30], ordered.Select(r => r.Priority));
            firsts[ordered[0].Target]++;
        }
        Assert.InRange(firsts["a"], 900, 1100);
    }

    [Fact]
    public void Weights_set_the_chance_of_being_tried_first()
    {
        SrvRecord[] records = [new("zero", 1, 0, 0), new("one", 1, 0, 10), new("three", 1, 0, 30), new("six", 1, 0, 60)];
        var firsts = records.ToDictionary(r => r.Target, _ => 0);
        var random = new Random(2);
        const int Trials = 20_000;
        for (var i = 0; i < Trials; i++)
            firsts[SrvResolver.Order(records, random)[0].Target]++;

        // Out of 0..100 inclusive: "zero" only for 0, then 10, 30 and 60 numbers each.
        Assert.InRange(firsts["zero"], Trials / 101 / 2, Trials / 101 * 2);
        Assert.InRange(firsts["one"], Trials * 10 / 101 * 9 / 10, Trials * 10 / 101 * 11 / 10);
        Assert.InRange(firsts["three"], Trials * 30 / 101 * 19 / 20, Trials * 30 / 101 * 21 / 20);
        Assert.InRange(firsts["six"], Trials * 60 / 101 * 19 / 20, Trials * 60 / 101 * 21 / 20);
    }

    [Fact]
    public void Zero_weights_alone_are_ordered_at_random()
    {
        SrvRecord[] records = [new("a", 1, 0, 0), new("b", 1, 0, 0)];
        var random = new Random(3);
        var aFirst = Enumerable.Range(0, 1000).Count(_ => SrvResolver.Order(records, random)[0].Target == "a");
        Assert.InRange(aFirst, 400, 600);
    }

    [Fact]
    public void ResolvConf_name_servers_and_options_are_read_within_bounds()
    {
        var resolver = SrvResolver.ParseResolvConf("""
            # comment
            ; another
            search example.com
            nameserver 192.0.2.1
            nameserver	2001:db8::53
            nameserver not-an-address
            nameserver fe80::1%1
            nameserver 192.0.2.4
            options ndots:2 timeout:0 attempts:9 rotate
            """);

        Assert.Equal(
            [new IPEndPoint(IPAddress.Parse("192.0.2.1"), 53), new IPEndPoint(IPAddress.Parse("2001:db8::53"), 53), new IPEndPoint(IPAddress.Parse("fe80::1%1"), 53)],
            resolver.Servers);
        Assert.Equal(TimeSpan.FromSeconds(1), resolver.Timeout);
        Assert.Equal(5, resolver.Attempts);

        resolver = SrvResolver.ParseResolvConf("options timeout:99 attempts:3\r\n");
        Assert.Equal([new IPEndPoint(IPAddress.Loopback, 53)], resolver.Servers);
        Assert.Equal((TimeSpan.FromSeconds(30), 3), (resolver.Timeout, resolver.Attempts));

        resolver = SrvResolver.ParseResolvConf("options timeout:x\n");
        Assert.Equal((TimeSpan.FromSeconds(5), 2), (resolver.Timeout, resolver.Attempts));
    }

    [Fact]
    public void System_configuration_is_read()
    {
        var resolver = SrvResolver.FromSystemConfiguration();
        Assert.NotEmpty(resolver.Servers);
        Assert.All(resolver.Servers, s => Assert.Equal(53, s.Port));
    }

    // ---- End to end against a fake responder on loopback ----

    [Fact]
    public async Task Resolves_over_UDP_with_an_IDN_domain_in_A_label_form()
    {
        await using var server = new FakeDnsServer(IPAddress.Loopback, q => [Answer(q, 0x8180,
            Srv(q.Name, 10, 0, 5222, "backup.xn--bcher-kva.example"),
            Srv(q.Name, 0, 1, 5223, "b.xn--bcher-kva.example"),
            Srv(q.Name, 0, 0, 5224, "a.xn--bcher-kva.example"))]);
        var resolver = new SrvResolver([server.EndPoint], TimeSpan.FromSeconds(5), random: new Random(4));

        var result = await resolver.ResolveAsync("_xmpp-client._tcp", "Bücher.example.", TestTimeout);

        Assert.Equal("_xmpp-client._tcp.xn--bcher-kva.example", Assert.Single(server.Queries).Name);
        Assert.False(Assert.Single(server.Queries).OverTcp);
        Assert.False(result.IsServiceUnavailable);
        Assert.Equal(["a.xn--bcher-kva.example", "b.xn--bcher-kva.example", "backup.xn--bcher-kva.example"], result.Select(r => r.Target).Order());
        Assert.Equal("backup.xn--bcher-kva.example", result[2].Target);
        Assert.Equal(5222, result[2].Port);
    }

    [Fact]
    public async Task A_truncated_UDP_answer_is_asked_again_over_TCP()
    {
        await using var server = new FakeDnsServer(IPAddress.Loopback, q => q.OverTcp
            ? [Answer(q, 0x8180, Srv(q.Name, 0, 0, 5269, "tcp.example.com"))]
            : [Answer(q, 0x8380, Srv(q.Name, 0, 0, 1, "partial.example.com"))]);
        var resolver = new SrvResolver([server.EndPoint], TimeSpan.FromSeconds(5));

        var result = await resolver.ResolveAsync("_xmpps-client._tcp", "example.com", TestTimeout);

        Assert.Equal([new SrvRecord("tcp.example.com", 5269, 0, 0)], result);
        Assert.Equal([false, true], server.Queries.Select(q => q.OverTcp));
        Assert.NotEqual(server.Queries.First().Id, server.Queries.Last().Id);
    }

    [Fact]
    public async Task Forged_answers_are_ignored_while_waiting_for_the_real_one()
    {
        await using var server = new FakeDnsServer(IPAddress.Loopback, q =>
        [
            new Reply(Answer(q, 0x8180, Srv(q.Name, 0, 0, 1, "forged-port.example.com")), FromOtherPort: true),
            Answer(q with { Id = (ushort)(q.Id + 1) }, 0x8180, Srv(q.Name, 0, 0, 1, "wrong-id.example.com")),
            Answer(q with { Name = "_xmpp-client._tcp.other.example" }, 0x8180, Srv("_xmpp-client._tcp.other.example", 0, 0, 1, "wrong-question.example.com")),
            Answer(q, 0x8180, Srv(q.Name, 0, 0, 5222, "real.example.com")),
        ]);
        var resolver = new SrvResolver([server.EndPoint], TimeSpan.FromSeconds(5));

        var result = await resolver.ResolveAsync("_xmpp-client._tcp", "example.com", TestTimeout);

        Assert.Equal("real.example.com", Assert.Single(result).Target);
    }

    [Fact]
    public async Task Each_query_uses_a_fresh_source_port_and_id()
    {
        await using var server = new FakeDnsServer(IPAddress.Loopback, q => [Answer(q, 0x8183)]);
        var resolver = new SrvResolver([server.EndPoint], TimeSpan.FromSeconds(5));

        for (var i = 0; i < 8; i++)
            Assert.Empty(await resolver.ResolveAsync("_xmpp-client._tcp", "example.com", TestTimeout));

        Assert.True(server.Queries.Select(q => q.Source.Port).Distinct().Count() >= 7);
        Assert.True(server.Queries.Select(q => q.Id).Distinct().Count() >= 7);
    }

    [Fact]
    public async Task NXDOMAIN_no_records_and_the_dot_target_are_told_apart()
    {
        await using var server = new FakeDnsServer(IPAddress.Loopback, q => q.Name switch
        {
            "_xmpp-client._tcp.nx.example" => [Answer(q, 0x8183)],
            "_xmpp-client._tcp.empty.example" => [Answer(q, 0x8180)],
            "_xmpp-client._tcp.mixed.example" => [Answer(q, 0x8180, Srv(q.Name, 0, 0, 0, "."), Srv(q.Name, 1, 0, 5222, "x.example"))],
            _ => [Answer(q, 0x8180, Srv(q.Name, 0, 0, 0, "."))],
        });
        var resolver = new SrvResolver([server.EndPoint], TimeSpan.FromSeconds(5));
        var token = TestTimeout;

        var nx = await resolver.ResolveAsync("_xmpp-client._tcp", "nx.example", token);
        var empty = await resolver.ResolveAsync("_xmpp-client._tcp", "empty.example", token);
        var mixed = await resolver.ResolveAsync("_xmpp-client._tcp", "mixed.example", token);
        var unavailable = await resolver.ResolveAsync("_xmpp-client._tcp", "dot.example", token);

        Assert.Equal((0, false), (nx.Count, nx.IsServiceUnavailable));
        Assert.Equal((0, false), (empty.Count, empty.IsServiceUnavailable));
        Assert.Equal("x.example", Assert.Single(mixed).Target);
        Assert.Equal((0, true), (unavailable.Count, unavailable.IsServiceUnavailable));
    }

    [Fact]
    public async Task A_silent_server_times_out_and_the_next_one_answers()
    {
        using var silent = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        silent.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        await using var server = new FakeDnsServer(IPAddress.Loopback, q => [Answer(q, 0x8180, Srv(q.Name, 0, 0, 5222, "second.example.com"))]);
        var resolver = new SrvResolver([(IPEndPoint)silent.LocalEndPoint!, server.EndPoint], TimeSpan.FromMilliseconds(300));

        var stopwatch = Stopwatch.StartNew();
        var result = await resolver.ResolveAsync("_xmpp-client._tcp", "example.com", TestTimeout);

        Assert.Equal("second.example.com", Assert.Single(result).Target);
        Assert.InRange(stopwatch.Elapsed, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(5));
        Assert.True(silent.Available > 0, "the silent server received the query");
    }

    [Fact]
    public async Task A_malformed_answer_or_a_refused_port_moves_on_to_the_next_server()
    {
        await using var broken = new FakeDnsServer(IPAddress.Loopback, q => [Answer(q, 0x8180, Srv(q.Name, 0, 0, 5222, "x.example"))[..^3]]);
        var closedPort = ClosedUdpPort();
        await using var good = new FakeDnsServer(IPAddress.Loopback, q => [Answer(q, 0x8180, Srv(q.Name, 0, 0, 5222, "good.example.com"))]);
        var resolver = new SrvResolver([broken.EndPoint, closedPort, good.EndPoint], TimeSpan.FromSeconds(5));

        var stopwatch = Stopwatch.StartNew();
        var result = await resolver.ResolveAsync("_xmpp-client._tcp", "example.com", TestTimeout);

        Assert.Equal("good.example.com", Assert.Single(result).Target);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(4), "neither the malformed answer nor the ICMP refusal waited for the timeout");
    }

    [Fact]
    public async Task When_every_server_fails_every_attempt_a_transient_transport_exception_is_thrown()
    {
        await using var first = new FakeDnsServer(IPAddress.Loopback, q => [Answer(q, 0x8182)]);
        await using var second = new FakeDnsServer(IPAddress.Loopback, q => [Answer(q, 0x8185)]);
        var resolver = new SrvResolver([first.EndPoint, second.EndPoint], TimeSpan.FromSeconds(5), attempts: 2);

        var error = await Assert.ThrowsAsync<XmppTransportException>(
            () => resolver.ResolveAsync("_xmpp-client._tcp", "example.com", TestTimeout));

        Assert.True(error.IsTransient);
        Assert.Contains("response code 5", error.Message, StringComparison.Ordinal);
        Assert.Equal(2, first.Queries.Count);
        Assert.Equal(2, second.Queries.Count);
    }

    [Fact]
    public async Task When_no_server_answers_in_time_the_transport_exception_carries_the_timeout()
    {
        using var silent = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        silent.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var resolver = new SrvResolver([(IPEndPoint)silent.LocalEndPoint!], TimeSpan.FromMilliseconds(200), attempts: 2);

        var error = await Assert.ThrowsAsync<XmppTransportException>(() => resolver.ResolveAsync("_xmpp-client._tcp", "example.com", TestTimeout));

        Assert.True(error.IsTransient);
        Assert.IsType<TimeoutException>(error.InnerException);
        Assert.Contains("_xmpp-client._tcp.example.com", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancellation_stops_the_wait_for_an_answer()
    {
        using var silent = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        silent.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var resolver = new SrvResolver([(IPEndPoint)silent.LocalEndPoint!], TimeSpan.FromSeconds(20), attempts: 5);
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(TestTimeout);
        cancellation.CancelAfter(200);

        var stopwatch = Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => resolver.ResolveAsync("_xmpp-client._tcp", "example.com", cancellation.Token));
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Resolves_over_IPv6()
    {
        await using var server = new FakeDnsServer(IPAddress.IPv6Loopback, q => q.OverTcp
            ? [Answer(q, 0x8180, Srv(q.Name, 0, 0, 5222, "v6.example.com"))]
            : [Answer(q, 0x8380)]);
        var resolver = new SrvResolver([server.EndPoint], TimeSpan.FromSeconds(5));

        var result = await resolver.ResolveAsync("_xmpp-client._tcp", "example.com", TestTimeout);

        Assert.Equal("v6.example.com", Assert.Single(result).Target);
        Assert.Equal(2, server.Queries.Count);
    }

    [Theory]
    [InlineData("xmpp-client._tcp", "example.com")]
    [InlineData("_xmpp-client._tcp", "exa mple.com")]
    [InlineData("_xmpp-client._tcp", "a..example")]
    [InlineData("_xmpp-client._tcp", "")]
    public async Task Invalid_names_are_argument_errors(string service, string domain)
    {
        var resolver = new SrvResolver([new IPEndPoint(IPAddress.Loopback, 9)], TimeSpan.FromSeconds(1));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => resolver.ResolveAsync(service, domain, TestTimeout));
    }

    // ---- Helpers: a test-side encoder, independent of DnsMessage ----

    private static byte[] With(byte[] message, int index, byte value)
    {
        var copy = (byte[])message.Clone();
        copy[index] = value;
        return copy;
    }

    private static byte[] Encode(string name)
    {
        if (name == ".")
            return [0];
        var bytes = new List<byte>();
        foreach (var label in name.Split('.'))
        {
            bytes.Add((byte)label.Length);
            bytes.AddRange(label.Select(c => (byte)c));
        }
        bytes.Add(0);
        return [.. bytes];
    }

    private static byte[] Record(string owner, ushort type, byte[] data)
    {
        var fixedPart = new byte[10];
        BinaryPrimitives.WriteUInt16BigEndian(fixedPart, type);
        BinaryPrimitives.WriteUInt16BigEndian(fixedPart.AsSpan(2), 1);
        BinaryPrimitives.WriteUInt32BigEndian(fixedPart.AsSpan(4), 300);
        BinaryPrimitives.WriteUInt16BigEndian(fixedPart.AsSpan(8), (ushort)data.Length);
        return [.. Encode(owner), .. fixedPart, .. data];
    }

    private static byte[] Srv(string owner, ushort priority, ushort weight, ushort port, string target)
    {
        var data = new byte[6];
        BinaryPrimitives.WriteUInt16BigEndian(data, priority);
        BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(2), weight);
        BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(4), port);
        return Record(owner, 33, [.. data, .. Encode(target)]);
    }

    private static byte[] Response(string question, ushort flags, byte[][] answers, ushort id = 0x1234, int? answerCountOverride = null)
    {
        var header = new byte[12];
        BinaryPrimitives.WriteUInt16BigEndian(header, id);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(2), flags);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(4), 1);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(6), (ushort)(answerCountOverride ?? answers.Length));
        return [.. header, .. Encode(question), 0, 33, 0, 1, .. answers.SelectMany(a => a)];
    }

    private static byte[] Answer(DnsQuery query, ushort flags, params byte[][] answers) =>
        Response(query.Name, flags, answers, query.Id);

    private static IPEndPoint ClosedUdpPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return (IPEndPoint)socket.LocalEndPoint!;
    }

    internal sealed record DnsQuery(ushort Id, string Name, bool OverTcp, IPEndPoint Source);

    internal sealed record Reply(byte[] Message, bool FromOtherPort = false)
    {
        public static implicit operator Reply(byte[] message) => new(message);
    }

    /// <summary>
    /// A scripted DNS responder on one UDP and one TCP socket with the same loopback port. It decodes only
    /// uncompressed single-question queries (what the resolver sends) and answers with what the script returns.
    /// </summary>
    internal sealed class FakeDnsServer : IAsyncDisposable
    {
        private readonly Socket _udp;
        private readonly Socket _udpOther;
        private readonly TcpListener _tcp;
        private readonly Func<DnsQuery, IReadOnlyList<Reply>> _script;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _udpLoop;
        private readonly Task _tcpLoop;
        private readonly ConcurrentQueue<DnsQuery> _queries = new();

        public FakeDnsServer(IPAddress address, Func<DnsQuery, IReadOnlyList<Reply>> script)
        {
            _script = script;
            (_udp, _tcp) = BindSamePort(address);
            _udpOther = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            _udpOther.Bind(new IPEndPoint(address, 0));
            EndPoint = (IPEndPoint)_udp.LocalEndPoint!;
            _udpLoop = ServeUdpAsync(_stop.Token);
            _tcpLoop = ServeTcpAsync(_stop.Token);
        }

        public IPEndPoint EndPoint { get; }

        public IReadOnlyCollection<DnsQuery> Queries => _queries;

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _udp.Dispose();
            _udpOther.Dispose();
            _tcp.Stop();
            await Task.WhenAll(_udpLoop, _tcpLoop).ContinueWith(_ => { }, TaskScheduler.Default);
            _stop.Dispose();
        }

        private static (Socket, TcpListener) BindSamePort(IPAddress address)
        {
            for (var tries = 0; ; tries++)
            {
                var udp = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
                udp.Bind(new IPEndPoint(address, 0));
                var tcp = new TcpListener(address, ((IPEndPoint)udp.LocalEndPoint!).Port);
                try
                {
                    tcp.Start();
                    return (udp, tcp);
                }
                catch (SocketException) when (tries < 20)
                {
                    udp.Dispose();
                }
            }
        }

        private DnsQuery Decode(ReadOnlySpan<byte> query, bool overTcp, IPEndPoint source)
        {
            var labels = new List<string>();
            var offset = 12;
            while (query[offset] != 0)
            {
                labels.Add(System.Text.Encoding.ASCII.GetString(query.Slice(offset + 1, query[offset])));
                offset += 1 + query[offset];
            }
            Assert.Equal(query.Length, offset + 5);
            Assert.Equal([0, 33, 0, 1], query[(offset + 1)..].ToArray());
            Assert.Equal(0x0100, BinaryPrimitives.ReadUInt16BigEndian(query[2..]));
            var decoded = new DnsQuery(BinaryPrimitives.ReadUInt16BigEndian(query), string.Join('.', labels), overTcp, source);
            _queries.Enqueue(decoded);
            return decoded;
        }

        private async Task ServeUdpAsync(CancellationToken cancellationToken)
        {
            var buffer = new byte[512];
            while (!cancellationToken.IsCancellationRequested)
            {
                var received = await _udp.ReceiveFromAsync(buffer, new IPEndPoint(EndPoint.Address, 0), cancellationToken);
                var source = (IPEndPoint)received.RemoteEndPoint;
                foreach (var reply in _script(Decode(buffer.AsSpan(0, received.ReceivedBytes), false, source)))
                    await (reply.FromOtherPort ? _udpOther : _udp).SendToAsync(reply.Message, source, cancellationToken);
            }
        }

        private async Task ServeTcpAsync(CancellationToken cancellationToken)
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                using var client = await _tcp.AcceptTcpClientAsync(cancellationToken);
                var stream = client.GetStream();
                var length = new byte[2];
                await stream.ReadExactlyAsync(length, cancellationToken);
                var query = new byte[BinaryPrimitives.ReadUInt16BigEndian(length)];
                await stream.ReadExactlyAsync(query, cancellationToken);
                var reply = _script(Decode(query, true, (IPEndPoint)client.Client.RemoteEndPoint!))[0].Message;
                BinaryPrimitives.WriteUInt16BigEndian(length, (ushort)reply.Length);
                await stream.WriteAsync(length, cancellationToken);
                await stream.WriteAsync(reply, cancellationToken);
            }
        }
    }
}
