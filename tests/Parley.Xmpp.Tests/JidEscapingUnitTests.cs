namespace Parley.Xmpp.Tests;

public class JidEscapingUnitTests
{
    // XEP-0106 §6.1, the table of user input and escaped localparts (examples 1-12).
    [Theory]
    [InlineData("space cadet", "space\\20cadet")]
    [InlineData("call me \"ishmael\"", "call\\20me\\20\\22ishmael\\22")]
    [InlineData("at&t guy", "at\\26t\\20guy")]
    [InlineData("d'artagnan", "d\\27artagnan")]
    [InlineData("/.fanboy", "\\2f.fanboy")]
    [InlineData("::foo::", "\\3a\\3afoo\\3a\\3a")]
    [InlineData("<foo>", "\\3cfoo\\3e")]
    [InlineData("user@host", "user\\40host")]
    [InlineData("c:\\net", "c\\3a\\net")]
    [InlineData("c:\\\\net", "c\\3a\\\\net")]
    [InlineData("c:\\cool stuff", "c\\3a\\cool\\20stuff")]
    [InlineData("c:\\5commas", "c\\3a\\5c5commas")]
    // §6.2 (email) and §6.5 (IMPS), §6.7 (IRC).
    [InlineData("here's_a_wild_&_/cr%zy/_address", "here\\27s_a_wild_\\26_\\2fcr%zy\\2f_address")]
    [InlineData("here's_a_wild_&_/cr%zy/_address_for:<wv>(\"IMPS\")", "here\\27s_a_wild_\\26_\\2fcr%zy\\2f_address_for\\3a\\3cwv\\3e(\\22IMPS\\22)")]
    [InlineData("\\3and\\2is\\5cool", "\\5c3and\\2is\\5c5cool")]
    [InlineData("somenick!user\"&'/:<>\\3address", "somenick!user\\22\\26\\27\\2f\\3a\\3c\\3e\\5c3address")]
    public void Escape_and_Unescape_follow_the_XEP_0106_examples(string unescaped, string escaped)
    {
        Assert.Equal(escaped, JidEscaping.Escape(unescaped));
        Assert.Equal(unescaped, JidEscaping.Unescape(escaped));
    }

    // XEP-0106 §4.3: partial and unknown sequences are left alone in both directions.
    [Theory]
    [InlineData("\\2plus\\2is\\4")]
    [InlineData("foo\\bar")]
    [InlineData("foob\\41r")]
    [InlineData("trailing\\")]
    [InlineData("trailing\\2")]
    [InlineData("plain")]
    public void Partial_and_unknown_sequences_are_not_modified(string text)
    {
        Assert.Same(text, JidEscaping.Escape(text));
        Assert.Same(text, JidEscaping.Unescape(text));
    }

    [Fact]
    public void Unescape_only_accepts_lower_case_sequences()
    {
        // "CASE IS SIGNIFICANT": \2F is not an escape of '/'.
        Assert.Equal("a\\2Fb", JidEscaping.Unescape("a\\2Fb"));
        Assert.Equal("a/b", JidEscaping.Unescape("a\\2fb"));
    }

    [Fact]
    public void Escape_protects_upper_case_sequences_that_PRECIS_would_lower_case()
    {
        // A localpart is case-folded, which would make the literal text "\2F" read as an escaped '/'.
        var escaped = JidEscaping.Escape("a\\2Fb");
        Assert.Equal("a\\5c2Fb", escaped);

        var jid = Jid.Create(escaped, "example.com");
        Assert.Equal("a\\2fb", JidEscaping.Unescape(jid.Local!));
    }

    [Theory]
    [InlineData(" leading")]
    [InlineData("trailing ")]
    [InlineData(" ")]
    public void Escape_rejects_a_space_at_either_end(string text)
    {
        var error = Assert.Throws<ArgumentException>(() => JidEscaping.Escape(text));
        Assert.StartsWith("A localpart cannot start or end with a space.", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Escape_and_Unescape_take_an_empty_localpart_as_it_is()
    {
        Assert.Equal(string.Empty, JidEscaping.Escape(string.Empty));
        Assert.Equal(string.Empty, JidEscaping.Unescape(string.Empty));
    }

    [Fact]
    public void Escape_and_Unescape_reject_null()
    {
        Assert.Throws<ArgumentNullException>(() => JidEscaping.Escape(null!));
        Assert.Throws<ArgumentNullException>(() => JidEscaping.Unescape(null!));
    }

    [Fact]
    public void Escaped_localparts_are_valid_JIDs_and_round_trip()
    {
        foreach (var input in new[] { "call me \"ishmael\"", "d'artagnan", "user@host", "c:\\5commas", "<foo>", "at&t guy" })
        {
            var jid = Jid.Create(JidEscaping.Escape(input), "example.com");
            Assert.Equal(input, JidEscaping.Unescape(jid.Local!));
        }

        // Unescaped input is still refused by the JID itself.
        Assert.Throws<FormatException>(() => Jid.Create("d'artagnan", "example.com"));
    }

    [Fact]
    public void Unescape_handles_adjacent_and_boundary_sequences()
    {
        Assert.Equal("@", JidEscaping.Unescape("\\40"));
        Assert.Equal("@@", JidEscaping.Unescape("\\40\\40"));
        Assert.Equal("\\5c", JidEscaping.Unescape("\\5c5c"));
        Assert.Equal("x\\", JidEscaping.Unescape("x\\5c"));
    }
}
