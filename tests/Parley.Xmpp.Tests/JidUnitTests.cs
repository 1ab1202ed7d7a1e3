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
    [InlineData("l\u00B7x@example.com")] // MIDDLE DOT needs an 'l' on both sides
    [InlineData("x\u00B7l@example.com")]
    [InlineData("l\u00B7@example.com")]
    [InlineData("\u0375a@example.com")] // GREEK LOWER NUMERAL SIGN must be followed by Greek
    [InlineData("\u03B1\u0375@example.com")]
    [InlineData("a\u30FBb@example.com")] // KATAKANA MIDDLE DOT needs Hiragana, Katakana or Han in the string
    [InlineData("\u30FB@example.com")]
    [InlineData("\u0660\u06F0@example.com")] // Arabic-Indic digits mixed with the extended ones
    [InlineData("\u06F9\u0669@example.com")]
    [InlineData("a\u0640b@example.com")] // RFC 5892 exceptions that are DISALLOWED although their category is not
    [InlineData("a\u07FAb@example.com")]
    [InlineData("a\u302Eb@example.com")]
    [InlineData("a\u302Fb@example.com")]
    [InlineData("a\u3031b@example.com")]
    [InlineData("a\u3035b@example.com")]
    [InlineData("a\u303Bb@example.com")]
    [InlineData("\uFB01@example.com")] // LATIN SMALL LIGATURE FI: a letter with a compatibility mapping
    [InlineData("\u11FFx@example.com")] // the first and last code points of each old Hangul jamo range
    [InlineData("\uA960x@example.com")]
    [InlineData("\uA97Cx@example.com")]
    [InlineData("\uD7B0x@example.com")]
    [InlineData("\uD7C6x@example.com")]
    [InlineData("\uD7CBx@example.com")]
    [InlineData("\uD7FBx@example.com")]
    [InlineData("a\u034Fb@example.com")] // default-ignorable code points that are marks or letters by category
    [InlineData("a\u3164b@example.com")]
    [InlineData("a\u17B4b@example.com")]
    [InlineData("a\u17B5b@example.com")]
    [InlineData("a\u180Bb@example.com")]
    [InlineData("a\u180Fb@example.com")]
    [InlineData("a\uFE00b@example.com")]
    [InlineData("a\uFE0Fb@example.com")]
    [InlineData("a\U000E0100b@example.com")]
    [InlineData("a\U000E01EFb@example.com")]
    [InlineData("a\uFFFEb@example.com")] // a noncharacter that Unicode normalization refuses
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
    [InlineData("\u0375\u03B1@example.com", "\u0375\u03B1")] // GREEK LOWER NUMERAL SIGN before Greek
    [InlineData("\u30A2\u30FB\u30A2@example.com", "\u30A2\u30FB\u30A2")] // KATAKANA MIDDLE DOT with Katakana
    [InlineData("\u0660\u0669@example.com", "\u0660\u0669")] // Arabic-Indic digits, not mixed
    [InlineData("\u06F0\u06F9@example.com", "\u06F0\u06F9")]
    [InlineData("\u06FD\u06FE\u0F0B\u3007@example.com", "\u06FD\u06FE\u0F0B\u3007")] // RFC 5892 exceptions that are PVALID
    [InlineData("\u00E9!~@example.com", "\u00E9!~")] // the first and last ASCII characters, on the non-ASCII path
    [InlineData("a\uFF01@example.com", "a!")] // the first full-width form is width-mapped too
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
    [InlineData("\u1F88@example.com/\u1F88", "\u1F80", "example.com", "\u1F88")] // a titlecase letter (Lt): lower-cased in a localpart only
    public void Parse_normalizes(string text, string? local, string domain, string? resource)
    {
        var jid = Jid.Parse(text);

        Assert.Equal(local, jid.Local);
        Assert.Equal(domain, jid.Domain);
        Assert.Equal(resource, jid.Resource);
    }

    // FreeformClass takes symbols and punctuation of every category, and titlecase letters, other numbers and
    // enclosing marks, all of which IdentifierClass refuses.
    [Theory]
    [InlineData("\u0BF0")] // TAMIL NUMBER TEN (No)
    [InlineData("\u2211\u20AC\u02C2")] // N-ARY SUMMATION (Sm), EURO SIGN (Sc), MODIFIER LETTER LEFT ARROWHEAD (Sk)
    [InlineData("\u203F\u2010\u300C\u300D\u00AB\u00BB\u00A1")] // Pc, Pd, Ps, Pe, Pi, Pf, Po
    [InlineData("a\u20DD")] // COMBINING ENCLOSING CIRCLE (Me)
    public void Parse_accepts_in_a_resource_what_a_localpart_refuses(string text)
    {
        Assert.Equal(text, Jid.Parse($"x@example.com/{text}").Resource);
        Assert.False(Jid.TryParse($"{text}@example.com", out _));
    }

    // Disallowed in both classes: default-ignorable, noncharacter, control.
    [Theory]
    [InlineData("a\u034Fb")]
    [InlineData("a\uFE0Fb")]
    [InlineData("a\uFDD0b")]
    [InlineData("a\uFFFFb")]
    [InlineData("a\uFFFEb")]
    [InlineData("a\u0007b")]
    public void Parse_rejects_resources_with_disallowed_characters(string text)
    {
        Assert.False(Jid.TryParse($"x@example.com/{text}", out _));
    }

    [Theory]
    [InlineData("juliet@127.0.0.1", "127.0.0.1")]
    [InlineData("juliet@[::1]", "[::1]")]
    [InlineData("juliet@[0:0:0:0:0:0:0:1]/r", "[::1]")]
    [InlineData("[2001:DB8::0001]", "[2001:db8::1]")]
    [InlineData("juliet@255.255.255.255", "255.255.255.255")]
    [InlineData("juliet@0.0.0.0.", "0.0.0.0")]
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
    [InlineData("juliet@1.2.3.4..")] // one final dot is stripped, not two
    [InlineData("juliet@1.2.3.4.5")]
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

        // Exactly 1023 bytes of non-ASCII text is still fine.
        Assert.True(Jid.TryParse($"{greek}a@example.com/{greek}a", out _));

        // Far too long input is refused without normalizing it.
        Assert.False(Jid.TryParse(new string('a', 100_000), out _));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("@")]
    [InlineData("/")]
    [InlineData("@/")]
    [InlineData("@example.com")]
    [InlineData("@example.com/r")]
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

        var ascii1024 = new string('a', 1024);
        var greek512 = new string('π', 512);
        (string Text, string Reason)[] cases =
        [
            ("", "it is empty"),
            ("@example.com", "the localpart before '@' is empty"),
            ("juliet@example.com/", "the resourcepart after '/' is empty"),
            ($"{ascii1024}@example.com", "the localpart is longer than 1023 bytes"),
            ($"{greek512}@example.com", "the localpart is longer than 1023 bytes"),
            ($"x@example.com/{ascii1024}", "the resourcepart is longer than 1023 bytes"),
            ($"x@example.com/{greek512}", "the resourcepart is longer than 1023 bytes"),
            ("henry\u2163@example.com", "the localpart is invalid: it may not contain U+2173 (PRECIS IdentifierClass)"),
            ("juliet@example.com/a\u0007b", "the resourcepart is invalid: it may not contain U+0007 (PRECIS FreeformClass)"),
            ("ju\uFF1Aliet@example.com", "the localpart may not contain ':'"),
            ("juliet@ex_ample.com", "the domainpart may not contain '_'"),
            ("juliet@ex\u0001ample.com", "the domainpart may not contain U+0001"),
            ("juliet@example..com", "the domainpart has an empty label"),
            ($"juliet@{new string('a', 64)}.com", "a domain label is longer than 63 characters"),
            ($"juliet@{string.Join('.', Enumerable.Repeat(new string('a', 63), 5))}", "the domain name is longer than 253 characters"),
            ("juliet@-example.com", "a domain label may not start or end with '-'"),
            ("juliet@ab--cd.example", "'--' in the third and fourth position unless it is an A-label"),
            ("juliet@1.2.3", "the domainpart is neither a domain name nor a valid IPv4 address"),
            ("juliet@[::1", "the domainpart is not a valid IPv6 literal"),
            ("juliet@\u265A.example", "the domain label '\u265A' is not a valid U-label"),
        ];
        foreach (var (text, reason) in cases)
        {
            var message = Assert.Throws<FormatException>(() => Jid.Parse(text)).Message;
            Assert.Contains(reason, message, StringComparison.Ordinal);
        }

        Assert.Contains("Invalid JID part: the resourcepart after '/' is empty", Assert.Throws<FormatException>(() => Jid.Parse("a@b").WithResource("")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_error_message_quotes_at_most_100_characters_of_the_input()
    {
        var input = new string('a', 2000) + ":";
        var message = Assert.Throws<FormatException>(() => Jid.Parse(input)).Message;

        Assert.Contains(string.Concat(new string('a', 100), "…"), message, StringComparison.Ordinal);
        Assert.DoesNotContain(new string('a', 101), message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_rejects_an_unpaired_surrogate_in_any_part()
    {
        // Built in code: test data passed through xUnit's serialization would arrive with U+FFFD instead.
        var surrogate = new string('\uD800', 1);
        Assert.False(Jid.TryParse($"a{surrogate}b@example.com", out _));
        Assert.False(Jid.TryParse($"x@example.com/a{surrogate}b", out _));
        Assert.False(Jid.TryParse($"x@a{surrogate}b.example", out _));
        var error = Assert.Throws<FormatException>(() => Jid.Create("x", "example.com", $"a{surrogate}"));
        Assert.Contains("unpaired surrogate", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_part_longer_than_three_times_the_byte_limit_is_refused_before_normalization()
    {
        var long3070 = new string('a', 3070);
        (string Text, string Reason)[] cases =
        [
            ($"{long3070}@example.com", "the localpart is longer than 1023 bytes"),
            ($"x@example.com/{long3070}", "the resourcepart is longer than 1023 bytes"),
            ($"x@{long3070}", "the domainpart is too long"),
            (new string('a', 100_000), "it is too long"),
        ];
        foreach (var (text, reason) in cases)
        {
            Assert.False(Jid.TryParse(text, out _));
            Assert.Contains(reason, Assert.Throws<FormatException>(() => Jid.Parse(text)).Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void ToString_is_the_input_only_when_the_input_is_canonical()
    {
        const string bare = "juliet@example.com";
        Assert.Same(bare, Jid.Parse(bare).ToString());
        const string domain = "example.com";
        Assert.Same(domain, Jid.Parse(domain).Domain);
        Assert.Equal("x@example.com/a b", Jid.Parse("x@example.com/a\u2003b").ToString());
        Assert.Equal("example.com/r", Jid.Parse("Example.com/r").ToString());
    }

    [Fact]
    public void Bare_of_a_bare_JID_is_itself()
    {
        var bare = Jid.Parse("juliet@example.com");
        Assert.Same(bare, bare.Bare);
    }

    [Fact]
    public void Parse_error_messages_for_domainparts()
    {
        (string Text, string Reason)[] cases =
        [
            ("/foobar", "the domainpart is empty"),
            ("juliet@", "the domainpart is empty"),
            ("juliet@.", "the domainpart has an empty label"),
            ("juliet@.example.com", "the domainpart has an empty label"),
            ("juliet@xn--zz.example", "the domainpart holds an invalid A-label"),
            ("juliet@\u00E9_x.example", "the domainpart is not a valid internationalized domain name"),
            ("juliet@\u00E9.123", "the domainpart is neither a domain name nor a valid IPv4 address"),
        ];
        foreach (var (text, reason) in cases)
        {
            Assert.False(Jid.TryParse(text, out _), text);
            Assert.Contains(reason, Assert.Throws<FormatException>(() => Jid.Parse(text)).Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Parse_error_message_quotes_an_input_of_100_characters_whole()
    {
        var input = new string('a', 99) + ":";
        var message = Assert.Throws<FormatException>(() => Jid.Parse(input)).Message;

        Assert.Contains($"'{input}'", message, StringComparison.Ordinal);
        Assert.DoesNotContain("…", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_of_null_is_an_ArgumentNullException()
    {
        Assert.Throws<ArgumentNullException>(() => Jid.Parse(null!));
    }
}
