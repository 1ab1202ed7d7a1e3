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
    [InlineData("a\uD800b")] // lone surrogate
    [InlineData("a\U000E0041b")] // tag
    [InlineData("a\u2028b")] // LINE SEPARATOR
    public void Rejects_prohibited_characters(string input)
    {
        Assert.False(SaslPrep.TryPrepare(input, storedString: false, out var result, out _));
        Assert.Null(result);
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
