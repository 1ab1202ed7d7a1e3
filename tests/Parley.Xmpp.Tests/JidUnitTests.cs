namespace Parley.Xmpp.Tests;

public class JidUnitTests
{
    // RFC 7622 §3.5, Table 1 ("a sample of legal JIDs"), with the parts each one normalizes to.
    [Theory]
    [InlineData("juliet@example.com", "juliet", "example.com", null)]
    [InlineData("juliet@example.com/foo", "juliet", "example.com", "foo")]
    [InlineData("juliet@example.com/foo bar", "juliet", "example.com", "foo bar")]
    [InlineData("juliet@example.com/foo@bar", "juliet", "example.com", "foo@bar")]
    [InlineData("foo\\20bar@example.com", "foo\\20bar", "example.com", null)]
    [InlineData("fussball@example.com", "fussball", "example.com", null)]
    [InlineData("fußball@example.com", "fußball", "example.com", null)]
    [InlineData("π@example.com", "π", "example.com", null)]
    [InlineData("Σ@example.com/foo", "σ", "example.com", "foo")]
    [InlineData("σ@example.com/foo", "σ", "example.com", "foo")]
    [InlineData("ς@example.com/foo", "ς", "example.com", "foo")]
    [InlineData("king@example.com/♚", "king", "example.com", "♚")]
    [InlineData("example.com", null, "example.com", null)]
    [InlineData("example.com/foobar", null, "example.com", "foobar")]
    [InlineData("a.example.com/b@example.net", null, "a.example.com", "b@example.net")]
    public void Parse_accepts_the_RFC_7622_examples(string text, string? local, string domain, string? resource)
    {
        var jid = Jid.Parse(text);

        Assert.Equal(local, jid.Local);
        Assert.Equal(domain, jid.Domain);
        Assert.Equal(resource, jid.Resource);
    }

    // RFC 7622 §3.5, Table 2 ("a sample of strings that violate one or more rules").
    [Theory]
    [InlineData("\"juliet\"@example.com")] // quotation marks in the localpart
    [InlineData("foo bar@example.com")] // space in the localpart
    [InlineData("@example.com/")] // empty localpart and resourcepart
    [InlineData("henryⅣ@example.com")] // ROMAN NUMERAL FOUR is a compatibility character, not allowed in IdentifierClass
    [InlineData("♚@example.com")] // a symbol in the localpart
    [InlineData("juliet@")] // empty domainpart
    [InlineData("/foobar")] // empty domainpart
    public void Parse_rejects_the_RFC_7622_counter_examples(string text)
    {
        Assert.False(Jid.TryParse(text, out _));
        Assert.Throws<FormatException>(() => Jid.Parse(text));
    }

    [Fact]
    public void Parse_rejects_noncharacters_and_unpaired_surrogates_with_a_FormatException()
    {
        // Built in code: test data attributes would carry the unpaired surrogates as U+FFFD.
        string[] texts =
        [
            "ju\uFFFEliet@example.com", // a noncharacter: .NET's normalization throws ArgumentException on U+FFFE
            "juliet@example.com/ba\uFFFEl",
            "juliet@example.com/ba\uFDD0l",
            "ju\uD800liet@example.com", // unpaired surrogates are refused, never read as U+FFFD
            "juliet@example.com/ba\uDC00l",
            "juliet@example.com/bal\uD83D",
        ];
        foreach (var text in texts)
        {
            Assert.False(Jid.TryParse(text, out _), text);
            Assert.Throws<FormatException>(() => Jid.Parse(text));
        }

        Assert.Throws<FormatException>(() => Jid.Create("ju\uFFFEliet", "example.com"));
        Assert.Throws<FormatException>(() => Jid.Create("juliet", "example.com", "r\uD800"));
    }

    [Fact]
    public void Parse_rejects_an_empty_resource()
    {
        var error = Assert.Throws<FormatException>(() => Jid.Parse("juliet@example.com/"));
        Assert.Contains("resourcepart", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("juliet@example.com@example.net")] // '@' in the domainpart
    [InlineData("ju:liet@example.com")]
    [InlineData("ju<liet@example.com")]
    [InlineData("ju>liet@example.com")]
    [InlineData("ju&liet@example.com")]
    [InlineData("ju'liet@example.com")]
    [InlineData("juliet\u00A0x@example.com")] // no-break space
    [InlineData("ju\u0007liet@example.com")] // control
    [InlineData("ju\u200Bliet@example.com")] // ZERO WIDTH SPACE: default-ignorable
    [InlineData("ju\uE000liet@example.com")] // private use
    [InlineData("ju\uFF20liet@example.com")] // FULLWIDTH COMMERCIAL AT maps to '@'
    [InlineData("\u1100x@example.com")] // a lone conjoining jamo (old Hangul jamo are disallowed)
    [InlineData("a\u200Db@example.com")] // ZERO WIDTH JOINER outside a virama context
    [InlineData("a\u00B7b@example.com")] // MIDDLE DOT outside "l·l"
    public void Parse_rejects_localparts_with_forbidden_characters(string text)
    {
        Assert.False(Jid.TryParse(text, out _));
    }

    [Theory]
    [InlineData("\u1100\u1161x@example.com", "\uAC00x")] // L+V jamo compose to a syllable under NFC
    [InlineData("l\u00B7l@example.com", "l\u00B7l")] // Catalan "ela geminada"
    [InlineData("\u0915\u094D\u200D\u0937@example.com", "\u0915\u094D\u200D\u0937")] // ZWJ after a virama
    [InlineData("\u05D0\u05F3@example.com", "\u05D0\u05F3")] // GERESH after a Hebrew letter
    [InlineData("back\\slash!#$%@example.com", "back\\slash!#$%")] // ASCII punctuation other than the eight is fine
    public void Parse_accepts_contextual_and_ASCII_characters_where_allowed(string text, string local)
    {
        Assert.Equal(local, Jid.Parse(text).Local);
    }

    [Fact]
    public void Parse_keeps_spaces_in_the_resource()
    {
        Assert.Equal(" foo ", Jid.Parse("juliet@example.com/ foo ").Resource);
    }

    [Theory]
    [InlineData("JULIET@Example.COM/Balcony", "juliet", "example.com", "Balcony")]
    [InlineData("ＪＵＬＩＥＴ@example.com", "juliet", "example.com", null)] // full-width letters are width-mapped
    [InlineData("juliet@example.com./x", "juliet", "example.com", "x")] // trailing dot stripped
    [InlineData("juliet@EXAMPLE.com.", "juliet", "example.com", null)]
    [InlineData("juliet@xn--bcher-kva.example", "juliet", "bücher.example", null)] // A-label to U-label
    [InlineData("juliet@XN--BCHER-KVA.example", "juliet", "bücher.example", null)]
    [InlineData("juliet@BÜCHER.example", "juliet", "bücher.example", null)]
    [InlineData("juliet@ｅｘａｍｐｌｅ.com", "juliet", "example.com", null)]
    [InlineData("juliet@example\u3002com", "juliet", "example.com", null)] // IDEOGRAPHIC FULL STOP is a label separator
    [InlineData("juliet@faß.de", "juliet", "faß.de", null)] // IDNA2008 keeps ß
    [InlineData("e\u0301@example.com/e\u0301", "\u00E9", "example.com", "\u00E9")] // NFC in localpart and resourcepart
    [InlineData("x@example.com/a\u2003b", "x", "example.com", "a b")] // OpaqueString maps non-ASCII spaces
    [InlineData("x@example.com/Ⅳ", "x", "example.com", "Ⅳ")] // compatibility characters are fine in a resource
    public void Parse_normalizes(string text, string? local, string domain, string? resource)
    {
        var jid = Jid.Parse(text);

        Assert.Equal(local, jid.Local);
        Assert.Equal(domain, jid.Domain);
        Assert.Equal(resource, jid.Resource);
    }

    [Theory]
    [InlineData("juliet@127.0.0.1", "127.0.0.1")]
    [InlineData("juliet@[::1]", "[::1]")]
    [InlineData("juliet@[0:0:0:0:0:0:0:1]/r", "[::1]")]
    [InlineData("[2001:DB8::0001]", "[2001:db8::1]")]
    public void Parse_accepts_IP_literals(string text, string domain)
    {
        Assert.Equal(domain, Jid.Parse(text).Domain);
    }

    [Theory]
    [InlineData("juliet@::1")] // IPv6 without brackets
    [InlineData("juliet@[::1")]
    [InlineData("juliet@[1.2.3.4]")]
    [InlineData("juliet@[fe80::1%eth0]")] // zone ids are not part of RFC 3986 IP-literals
    [InlineData("juliet@256.1.1.1")]
    [InlineData("juliet@01.2.3.4")]
    [InlineData("juliet@1.2.3")]
    [InlineData("juliet@example..com")]
    [InlineData("juliet@.example.com")]
    [InlineData("juliet@example.com..")]
    [InlineData("juliet@.")]
    [InlineData("juliet@-example.com")]
    [InlineData("juliet@example-.com")]
    [InlineData("juliet@ex_ample.com")]
    [InlineData("juliet@ex ample.com")]
    [InlineData("juliet@ab--cd.example")] // reserved LDH label that is not an A-label
    [InlineData("juliet@xn--zz.example")] // invalid Punycode
    [InlineData("juliet@♚.example")] // symbols are not IDNA2008 PVALID even though UTS #46 accepts them
    [InlineData("juliet@xn--ls8h.example")] // the same as an A-label (U+1F4A9)
    public void Parse_rejects_invalid_domainparts(string text)
    {
        Assert.False(Jid.TryParse(text, out _));
    }

    [Fact]
    public void Parse_enforces_label_and_domain_name_length()
    {
        var label63 = new string('a', 63);
        Assert.True(Jid.TryParse($"{label63}.example", out _));
        Assert.False(Jid.TryParse($"{label63}a.example", out _));

        var name253 = string.Join('.', Enumerable.Repeat(label63, 4))[..253];
        Assert.True(Jid.TryParse(name253, out _));
        Assert.False(Jid.TryParse(name253 + "a", out _));
    }

    [Fact]
    public void Parse_enforces_1023_bytes_per_part()
    {
        var ascii = new string('a', 1023);
        Assert.Equal(ascii, Jid.Parse($"{ascii}@example.com/{ascii}").Local);
        Assert.False(Jid.TryParse($"{ascii}a@example.com", out _));
        Assert.False(Jid.TryParse($"x@example.com/{ascii}a", out _));

        // 511 two-byte characters are 1022 bytes; one more crosses the limit.
        var greek = new string('π', 511);
        Assert.True(Jid.TryParse($"{greek}@example.com/{greek}", out _));
        Assert.False(Jid.TryParse($"{greek}π@example.com", out _));
        Assert.False(Jid.TryParse($"x@example.com/{greek}π", out _));

        // Far too long input is refused without normalizing it.
        Assert.False(Jid.TryParse(new string('a', 100_000), out _));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("@")]
    [InlineData("/")]
    [InlineData("@/")]
    public void TryParse_rejects_degenerate_input(string? text)
    {
        Assert.False(Jid.TryParse(text, out var jid));
        Assert.Null(jid);
    }

    [Fact]
    public void Parse_of_canonical_text_returns_the_same_string_from_ToString()
    {
        const string text = "juliet@example.com/balcony";
        var jid = Jid.Parse(text);

        Assert.Same(text, jid.ToString());
        Assert.Equal("juliet@example.com/balcony", Jid.Parse("Juliet@Example.com./balcony").ToString());
    }

    [Fact]
    public void Create_validates_each_part()
    {
        var jid = Jid.Create("Juliet", "Example.com", "Balcony");
        Assert.Equal("juliet@example.com/Balcony", jid.ToString());

        Assert.Throws<FormatException>(() => Jid.Create("a@b", "example.com"));
        Assert.Throws<FormatException>(() => Jid.Create("", "example.com"));
        Assert.Throws<FormatException>(() => Jid.Create("a", "example.com/x"));
        Assert.Throws<FormatException>(() => Jid.Create("a", "example.com", ""));
        Assert.Throws<ArgumentNullException>(() => Jid.Create("a", null!));
    }

    [Fact]
    public void Bare_and_WithResource()
    {
        var full = Jid.Parse("juliet@example.com/balcony");

        Assert.False(full.IsBare);
        Assert.True(full.Bare.IsBare);
        Assert.Equal("juliet@example.com", full.Bare.ToString());
        Assert.Same(full.Bare, full.Bare);
        Assert.Equal("juliet@example.com/chamber", full.WithResource("chamber").ToString());
        Assert.Equal(full.Bare, full.WithResource(null));
        Assert.Equal("a b", full.WithResource("a\u00A0b").Resource);
        Assert.Throws<FormatException>(() => full.WithResource(""));
        Assert.Throws<FormatException>(() => full.WithResource("a\u0000b"));
    }

    [Fact]
    public void Equality_uses_the_normalized_form()
    {
        var a = Jid.Parse("JULIET@EXAMPLE.COM./Balcony");
        var b = Jid.Parse("juliet@example.com/Balcony");
        var c = Jid.Parse("juliet@example.com/balcony");

        Assert.Equal(a, b);
        Assert.True(a == b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(b, c); // resources are case-sensitive
        Assert.True(b != c);
        Assert.Equal(Jid.Parse("Σ@example.com"), Jid.Parse("σ@example.com"));
        Assert.NotEqual(Jid.Parse("ς@example.com"), Jid.Parse("σ@example.com"));
        Assert.Equal(Jid.Parse("x@xn--bcher-kva.example"), Jid.Parse("x@Bücher.example"));
        Assert.False(b.Equals(null));
        Assert.True((Jid?)null == null);
        Assert.Single(new HashSet<Jid> { a, b });
    }

    [Fact]
    public void Parse_error_message_says_what_is_wrong()
    {
        var error = Assert.Throws<FormatException>(() => Jid.Parse("jul:iet@example.com"));
        Assert.Contains("':'", error.Message, StringComparison.Ordinal);
        Assert.Contains("JidEscaping", error.Message, StringComparison.Ordinal);
    }
}
