using Parley.Xmpp.Sasl;

namespace Parley.Xmpp.Tests.Sasl;

public class SaslPrepUnitTests
{
    // RFC 4013 §3, examples 1-6. (Example 7, U+0627 U+0031, fails the bidirectional check, which is not implemented.)
    [Theory]
    [InlineData("I\u00ADX", "IX")] // SOFT HYPHEN mapped to nothing
    [InlineData("user", "user")]
    [InlineData("USER", "USER")] // case is preserved
    [InlineData("\u00AA", "a")] // NFKC
    [InlineData("\u2168", "IX")] // NFKC
    public void Prepares_the_RFC_4013_examples(string input, string expected)
    {
        Assert.True(SaslPrep.TryPrepare(input, storedString: true, out var result, out _));
        Assert.Equal(expected, result);
    }

    [Fact]
    public void Rejects_the_RFC_4013_prohibited_example()
    {
        Assert.False(SaslPrep.TryPrepare("\u0007", storedString: false, out _, out var error));
        Assert.Contains("U+0007", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a\u00A0b", "a b")] // NO-BREAK SPACE
    [InlineData("a\u3000b", "a b")] // IDEOGRAPHIC SPACE
    [InlineData("a\u200Bb", "a b")] // ZERO WIDTH SPACE is in C.1.2 as well as B.1
    [InlineData("a\u200Db\uFEFFc", "abc")] // mapped to nothing
    [InlineData("e\u0301", "\u00E9")] // composed
    [InlineData("p\u00E4ss w\u00F6rd \u00BD", "p\u00E4ss w\u00F6rd 1\u20442")]
    [InlineData("a\u1680b", "a b")] // OGHAM SPACE MARK: a space NFKC leaves alone
    [InlineData("a\u180Bb\u180Dc\uFE00d\uFE0F", "abcd")] // the ends of the variation-selector ranges of B.1
    public void Maps_and_normalizes(string input, string expected)
    {
        Assert.True(SaslPrep.TryPrepare(input, storedString: true, out var result, out _));
        Assert.Equal(expected, result);
    }

    [Theory]
    [InlineData("a\u007Fb")] // DEL
    [InlineData("a\u0085b")] // C1 control
    [InlineData("a\uE000b")] // private use
    [InlineData("a\uFFFFb")] // non-character
    [InlineData("a\uFDD0b")] // non-character
    [InlineData("a\u200Eb")] // LEFT-TO-RIGHT MARK
    [InlineData("a\u202Eb")] // RIGHT-TO-LEFT OVERRIDE
    [InlineData("a\u2FF0b")] // ideographic description character
    [InlineData("a\uFFFDb")] // REPLACEMENT CHARACTER
    [InlineData("a\U000E0041b")] // tag
    [InlineData("a\u2028b")] // LINE SEPARATOR
    public void Rejects_prohibited_characters(string input)
    {
        Assert.False(SaslPrep.TryPrepare(input, storedString: false, out var result, out _));
        Assert.Null(result);
    }

    // The first and last code point of each range of the prohibited tables that mapping and NFKC leave in place.
    [Theory]
    [InlineData(0x1F)]
    [InlineData(0x80)]
    [InlineData(0x9F)]
    [InlineData(0x06DD)]
    [InlineData(0x070F)]
    [InlineData(0x180E)]
    [InlineData(0x2029)]
    [InlineData(0x2061)]
    [InlineData(0x2063)]
    [InlineData(0x206A)]
    [InlineData(0x206F)]
    [InlineData(0xFFF9)]
    [InlineData(0xFFFC)]
    [InlineData(0x1D173)]
    [InlineData(0x1D17A)]
    [InlineData(0xF8FF)]
    [InlineData(0xF0000)]
    [InlineData(0xFFFFD)]
    [InlineData(0x100000)]
    [InlineData(0x10FFFD)]
    [InlineData(0xFDEF)]
    [InlineData(0xFFFE)]
    [InlineData(0x2FFB)]
    [InlineData(0x202A)]
    [InlineData(0xE0001)]
    [InlineData(0xE0020)]
    [InlineData(0xE007F)]
    public void Rejects_the_ends_of_each_prohibited_range(int codePoint)
    {
        Assert.False(SaslPrep.TryPrepare($"a{char.ConvertFromUtf32(codePoint)}b", storedString: false, out _, out var error));
        Assert.Contains($"U+{codePoint:X4}", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Rejects_an_unpaired_surrogate()
    {
        // Built in code: test data passed through xUnit's serialization would arrive with U+FFFD instead.
        Assert.False(SaslPrep.TryPrepare("a" + new string('\uD800', 1) + "b", storedString: false, out var result, out var error));
        Assert.Null(result);
        Assert.Contains("unpaired surrogate", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Unassigned_code_points_are_prohibited_in_stored_strings_only()
    {
        const string unassigned = "a\u0378b"; // a gap in the Greek block
        Assert.True(SaslPrep.TryPrepare(unassigned, storedString: false, out _, out _));
        Assert.False(SaslPrep.TryPrepare(unassigned, storedString: true, out _, out _));
    }

    [Fact]
    public void Printable_ASCII_is_returned_as_is()
    {
        const string text = "pencil with spaces and !#$%";
        Assert.True(SaslPrep.TryPrepare(text, storedString: true, out var result, out _));
        Assert.Same(text, result);
    }
}
