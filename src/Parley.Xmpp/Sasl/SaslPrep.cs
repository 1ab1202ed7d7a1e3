using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace Parley.Xmpp.Sasl;

/// <summary>
/// SASLprep (RFC 4013), the stringprep profile SCRAM applies to user names and passwords (RFC 5802 §2.2).
/// </summary>
/// <remarks>
/// Mapping (non-ASCII spaces to U+0020, "commonly mapped to nothing" removed), NFKC and the prohibited
/// tables are applied. Two simplifications: "unassigned" means unassigned in the Unicode version of the
/// running .NET (stringprep pins Unicode 3.2, so we accept some characters a strict implementation
/// refuses), and the bidirectional check of RFC 3454 §6 is not made. A server that is stricter simply
/// rejects the credentials.
/// </remarks>
internal static class SaslPrep
{
    /// <summary>Prepares a string.</summary>
    /// <param name="value">The user name or password.</param>
    /// <param name="storedString">True for passwords (RFC 5802 treats them as stored strings: unassigned code points are prohibited).</param>
    /// <param name="result">The prepared string.</param>
    /// <param name="error">Why preparation failed.</param>
    public static bool TryPrepare(string value, bool storedString, [NotNullWhen(true)] out string? result, out string error)
    {
        // Printable ASCII and space are neither mapped, normalized nor prohibited.
        if (!value.AsSpan().ContainsAnyExceptInRange(' ', '~'))
        {
            result = value;
            error = string.Empty;
            return true;
        }

        result = null;
        var builder = new StringBuilder(value.Length);
        var index = 0;
        while (index < value.Length)
        {
            if (Rune.DecodeFromUtf16(value.AsSpan(index), out var rune, out var consumed) != System.Buffers.OperationStatus.Done)
            {
                error = "it holds an unpaired surrogate";
                return false;
            }

            index += consumed;

            // C.4; checked before NFKC, which throws on U+FFFE (nothing maps to or from a noncharacter).
            if (IsNoncharacter(rune.Value))
            {
                error = $"it contains U+{rune.Value:X4}, which SASLprep prohibits";
                return false;
            }

            if (IsNonAsciiSpace(rune.Value))
            {
                builder.Append(' ');
            }
            else if (!IsMappedToNothing(rune.Value))
            {
                builder.Append(rune);
            }
        }

        var normalized = builder.ToString().Normalize(NormalizationForm.FormKC);
        foreach (var rune in normalized.EnumerateRunes())
        {
            if (IsProhibited(rune.Value) || (storedString && IsUnassigned(rune.Value)))
            {
                error = $"it contains U+{rune.Value:X4}, which SASLprep prohibits";
                return false;
            }
        }

        result = normalized;
        error = string.Empty;
        return true;
    }

    private static bool IsNoncharacter(int cp) => cp is >= 0xFDD0 and <= 0xFDEF || (cp & 0xFFFE) == 0xFFFE;

    // RFC 3454 C.1.2.
    private static bool IsNonAsciiSpace(int cp) => cp is 0x00A0 or 0x1680 or (>= 0x2000 and <= 0x200B) or 0x202F or 0x205F or 0x3000;

    // RFC 3454 B.1 (U+200B is in C.1.2 too and is mapped to a space above, as other implementations do).
    private static bool IsMappedToNothing(int cp) =>
        cp is 0x00AD or 0x034F or 0x1806 or (>= 0x180B and <= 0x180D) or 0x200C or 0x200D or 0x2060 or (>= 0xFE00 and <= 0xFE0F) or 0xFEFF;

    // RFC 4013 §2.3: tables C.1.2, C.2.1, C.2.2, C.3, C.4, C.5, C.6, C.7, C.8 and C.9 of RFC 3454.
    private static bool IsProhibited(int cp) => cp switch
    {
        <= 0x1F or 0x7F => true, // C.2.1
        >= 0x80 and <= 0x9F => true, // C.2.2
        0x00A0 or 0x1680 or (>= 0x2000 and <= 0x200B) or 0x202F or 0x205F or 0x3000 => true, // C.1.2
        0x06DD or 0x070F or 0x180E or 0x200C or 0x200D or 0x2028 or 0x2029 or (>= 0x2060 and <= 0x2063) => true, // C.2.2
        (>= 0x206A and <= 0x206F) or 0xFEFF or (>= 0xFFF9 and <= 0xFFFC) or (>= 0x1D173 and <= 0x1D17A) => true, // C.2.2, C.8
        (>= 0xE000 and <= 0xF8FF) or (>= 0xF0000 and <= 0xFFFFD) or (>= 0x100000 and <= 0x10FFFD) => true, // C.3
        (>= 0xFDD0 and <= 0xFDEF) => true, // C.4
        _ when (cp & 0xFFFE) == 0xFFFE => true, // C.4
        >= 0xD800 and <= 0xDFFF => true, // C.5
        0xFFFD => true, // C.6 (U+FFF9-U+FFFC above)
        >= 0x2FF0 and <= 0x2FFB => true, // C.7
        0x0340 or 0x0341 or 0x200E or 0x200F or (>= 0x202A and <= 0x202E) => true, // C.8
        0xE0001 or (>= 0xE0020 and <= 0xE007F) => true, // C.9
        _ => false,
    };

    private static bool IsUnassigned(int cp) => CharUnicodeInfo.GetUnicodeCategory(cp) == UnicodeCategory.OtherNotAssigned;
}
