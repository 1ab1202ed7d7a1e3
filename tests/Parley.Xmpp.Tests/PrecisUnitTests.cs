using System.Globalization;

namespace Parley.Xmpp.Tests;

// The contextual rules of RFC 5892 Appendix A at the edges of the script ranges Precis approximates by blocks. The
// resourcepart (FreeformClass) is used where an edge character has a compatibility mapping, which IdentifierClass refuses.
public class PrecisUnitTests
{
    // KATAKANA MIDDLE DOT (A.7) is allowed when the string holds Hiragana, Katakana or Han: the first and last assigned
    // code point of each range that is that script.
    [Theory]
    [InlineData(0x3041)] // Hiragana
    [InlineData(0x309F)]
    [InlineData(0x30A1)] // Katakana (U+30A0 is Common, the block's first)
    [InlineData(0x30FF)]
    [InlineData(0x31F0)] // Katakana Phonetic Extensions
    [InlineData(0x31FF)]
    [InlineData(0xFF66)] // half-width Katakana
    [InlineData(0xFF9D)]
    [InlineData(0x1B000)] // Kana Supplement
    [InlineData(0x2E80)] // CJK radicals
    [InlineData(0x2FD5)]
    [InlineData(0x3005)] // ideographic iteration mark and number zero
    [InlineData(0x3007)]
    [InlineData(0x3021)] // Hangzhou numerals
    [InlineData(0x3029)]
    [InlineData(0x3038)]
    [InlineData(0x3400)] // CJK Extension A
    [InlineData(0x4DBF)]
    [InlineData(0x4E00)] // CJK Unified Ideographs
    [InlineData(0x9FFF)]
    [InlineData(0x20000)] // CJK Extension B onwards
    public void Katakana_middle_dot_is_allowed_next_to_Hiragana_Katakana_or_Han(int codePoint)
    {
        var text = char.ConvertFromUtf32(codePoint) + "\u30FB";
        Assert.Equal(text, Jid.Parse($"x@example.com/{text}").Resource);
    }

    [Theory]
    [InlineData(0xAC00)] // Hangul
    [InlineData(0x1F600)] // an emoji, above every range but the CJK extensions
    [InlineData(0x0041)]
    public void Katakana_middle_dot_is_refused_next_to_other_scripts(int codePoint)
    {
        Assert.False(Jid.TryParse($"x@example.com/{char.ConvertFromUtf32(codePoint)}\u30FB", out _));
    }

    // GREEK LOWER NUMERAL SIGN (A.4) must be followed by Greek.
    [Theory]
    [InlineData(0x0370)]
    [InlineData(0x03E1)] // the last Greek letter before the Coptic ones
    [InlineData(0x03F0)]
    [InlineData(0x03FF)]
    [InlineData(0x1F00)] // Greek Extended
    public void Greek_numeral_sign_is_allowed_before_Greek(int codePoint)
    {
        var text = "\u0375" + char.ConvertFromUtf32(codePoint);
        Assert.Equal(text, Jid.Parse($"x@example.com/{text}").Resource);
    }

    [Theory]
    [InlineData(0x0430)] // Cyrillic
    [InlineData(0x4E00)] // Han
    public void Greek_numeral_sign_is_refused_before_other_scripts(int codePoint)
    {
        Assert.False(Jid.TryParse($"x@example.com/\u0375{char.ConvertFromUtf32(codePoint)}", out _));
    }

    // HEBREW PUNCTUATION GERESH and GERSHAYIM (A.5, A.6) must follow Hebrew.
    [Theory]
    [InlineData("\u05D0\u0591\u05F3")] // after a Hebrew accent, the first of the block
    [InlineData("\u05D0\u05F4\u05F3")] // after GERSHAYIM, the last
    [InlineData("\uFB4F\u05F3")] // after the last Hebrew presentation form
    public void Geresh_is_allowed_after_Hebrew(string text)
    {
        Assert.Equal(text, Jid.Parse($"x@example.com/{text}").Resource);
    }

    [Theory]
    [InlineData("a\u05F3")]
    [InlineData("\uFB50\u05F3")] // the first Arabic presentation form
    public void Geresh_is_refused_after_other_scripts(string text)
    {
        Assert.False(Jid.TryParse($"x@example.com/{text}", out _));
    }

    [Theory]
    [InlineData(0xFDD0)]
    [InlineData(0xFDEF)]
    [InlineData(0x1FFFE)]
    public void A_noncharacter_is_named_in_the_error(int codePoint)
    {
        var error = Assert.Throws<FormatException>(() => Jid.Parse($"x@example.com/a{char.ConvertFromUtf32(codePoint)}")).Message;
        Assert.Contains($"it may not contain the noncharacter U+{codePoint.ToString("X4", CultureInfo.InvariantCulture)}", error, StringComparison.Ordinal);
    }

    // Check is also used on its own, for the U-labels of a domain name, so it refuses what the profiles' mapping prevents.
    [Fact]
    public void Check_refuses_empty_unnormalized_and_broken_text()
    {
        Assert.False(Precis.Check(string.Empty, identifier: true, out var error));
        Assert.Equal("it is empty", error);
        Assert.False(Precis.Check("e\u0301", identifier: false, out error));
        Assert.Equal("it is not in Unicode normalization form C", error);
        Assert.False(Precis.Check("a\uD800", identifier: false, out error));
        Assert.Equal("it holds an unpaired surrogate", error);
        Assert.False(Precis.Check("a\uFDD0", identifier: false, out error));
        Assert.Equal("it may not contain the noncharacter U+FDD0", error);
        Assert.True(Precis.Check("\u00E9", identifier: true, out _));
    }
}
