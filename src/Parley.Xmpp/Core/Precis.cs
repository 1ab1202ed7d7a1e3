using System.Globalization;
using System.Text;

namespace Parley.Xmpp.Core;

/// <summary>
/// The PRECIS string classes (RFC 8264) and the two profiles XMPP addresses use (RFC 8265):
/// UsernameCaseMapped for localparts and OpaqueString for resourceparts.
/// </summary>
/// <remarks>
/// The derived property is computed from the general category .NET reports plus the small tables
/// RFC 8264 §9 needs that .NET does not expose (exceptions, default-ignorables, old Hangul jamo,
/// viramas, a few script ranges). Known gaps, each making us stricter, never laxer:
/// the Bidi Rule (RFC 5893) is not applied, and ZERO WIDTH NON-JOINER is accepted only after a
/// virama (the Arabic joining-type clause of RFC 5892 A.1 is not implemented).
/// Callers run the ASCII fast paths themselves; everything here is the slow path.
/// </remarks>
internal static class Precis
{
    /// <summary>The derived property of a code point (RFC 8264 §8), collapsed to what enforcement needs.</summary>
    internal enum Property
    {
        /// <summary>PVALID in both classes.</summary>
        Valid,

        /// <summary>ID_DIS / FREE_PVAL: allowed in FreeformClass only.</summary>
        FreeformOnly,

        /// <summary>CONTEXTJ: a join control, allowed only in the context of RFC 5892 A.1/A.2.</summary>
        ContextJ,

        /// <summary>CONTEXTO: allowed only in the context of RFC 5892 A.3–A.9.</summary>
        ContextO,

        /// <summary>DISALLOWED or UNASSIGNED.</summary>
        Disallowed,
    }

    /// <summary>Applies the UsernameCaseMapped profile (RFC 8265 §3.3): width mapping, lower-casing, NFC, IdentifierClass.</summary>
    public static bool TryEnforceUsernameCaseMapped(string value, out string result, out string error)
    {
        if (!CheckCodePoints(value, out error))
        {
            result = string.Empty;
            return false;
        }

        var builder = new StringBuilder(value.Length);
        foreach (var rune in value.EnumerateRunes())
        {
            // Width mapping: full-width and half-width forms map to their decomposition.
            if (rune.Value is >= 0xFF01 and <= 0xFFEE)
            {
                builder.Append(rune.ToString().Normalize(NormalizationForm.FormKC));
            }
            else
            {
                builder.Append(rune);
            }
        }

        result = builder.ToString().ToLowerInvariant().Normalize(NormalizationForm.FormC);
        return Check(result, identifier: true, out error);
    }

    /// <summary>Applies the OpaqueString profile (RFC 8265 §4.2): non-ASCII spaces to U+0020, NFC, FreeformClass.</summary>
    public static bool TryEnforceOpaqueString(string value, out string result, out string error)
    {
        if (!CheckCodePoints(value, out error))
        {
            result = string.Empty;
            return false;
        }

        var builder = new StringBuilder(value.Length);
        foreach (var rune in value.EnumerateRunes())
        {
            builder.Append(rune.Value != ' ' && Rune.GetUnicodeCategory(rune) == UnicodeCategory.SpaceSeparator ? new Rune(' ') : rune);
        }

        result = builder.ToString().Normalize(NormalizationForm.FormC);
        return Check(result, identifier: false, out error);
    }

    /// <summary>Checks that every code point of an already mapped string is valid in IdentifierClass or FreeformClass.</summary>
    public static bool Check(string value, bool identifier, out string error)
    {
        if (value.Length == 0)
        {
            error = "it is empty";
            return false;
        }

        if (!CheckCodePoints(value, out error))
        {
            return false;
        }

        if (!value.IsNormalized(NormalizationForm.FormC))
        {
            error = "it is not in Unicode normalization form C";
            return false;
        }

        Rune previous = default;
        var index = 0;
        while (index < value.Length)
        {
            if (Rune.DecodeFromUtf16(value.AsSpan(index), out var rune, out var consumed) != System.Buffers.OperationStatus.Done)
            {
                error = "it holds an unpaired surrogate";
                return false;
            }

            var ok = GetProperty(rune.Value) switch
            {
                Property.Valid => true,
                Property.FreeformOnly => !identifier,
                Property.ContextJ => IsVirama(previous.Value),
                Property.ContextO => IsContextOSatisfied(value, index, rune.Value, previous.Value),
                _ => false,
            };
            if (!ok)
            {
                error = $"it may not contain U+{rune.Value:X4}{(identifier ? " (PRECIS IdentifierClass)" : " (PRECIS FreeformClass)")}";
                return false;
            }

            previous = rune;
            index += consumed;
        }

        error = string.Empty;
        return true;
    }

    /// <summary>
    /// Refuses what no profile allows and no mapping changes, before anything maps or normalizes: an unpaired surrogate
    /// (rune enumeration would turn it into U+FFFD) and a noncharacter (normalization throws on U+FFFE).
    /// </summary>
    private static bool CheckCodePoints(string value, out string error)
    {
        var rest = value.AsSpan();
        while (!rest.IsEmpty)
        {
            if (Rune.DecodeFromUtf16(rest, out var rune, out var consumed) != System.Buffers.OperationStatus.Done)
            {
                error = "it holds an unpaired surrogate";
                return false;
            }

            if ((rune.Value & 0xFFFE) == 0xFFFE || rune.Value is >= 0xFDD0 and <= 0xFDEF)
            {
                error = $"it may not contain the noncharacter U+{rune.Value:X4}";
                return false;
            }

            rest = rest[consumed..];
        }

        error = string.Empty;
        return true;
    }

    /// <summary>The derived property of a code point, in the order of RFC 8264 §8.</summary>
    internal static Property GetProperty(int cp)
    {
        // Exceptions (RFC 5892 §2.6).
        switch (cp)
        {
            case 0x00DF or 0x03C2 or 0x06FD or 0x06FE or 0x0F0B or 0x3007:
                return Property.Valid;
            case 0x00B7 or 0x0375 or 0x05F3 or 0x05F4 or 0x30FB or (>= 0x0660 and <= 0x0669) or (>= 0x06F0 and <= 0x06F9):
                return Property.ContextO;
            case 0x0640 or 0x07FA or 0x302E or 0x302F or (>= 0x3031 and <= 0x3035) or 0x303B:
                return Property.Disallowed;
        }

        var category = CharUnicodeInfo.GetUnicodeCategory(cp);

        // Unassigned (non-characters are Cn too, but fall under PrecisIgnorableProperties below).
        if (category == UnicodeCategory.OtherNotAssigned && !IsNoncharacter(cp))
        {
            return Property.Disallowed;
        }

        if (cp is >= 0x21 and <= 0x7E)
        {
            return Property.Valid;
        }

        if (cp is 0x200C or 0x200D)
        {
            return Property.ContextJ;
        }

        if (IsOldHangulJamo(cp) || IsDefaultIgnorable(cp) || IsNoncharacter(cp) || category == UnicodeCategory.Control)
        {
            return Property.Disallowed;
        }

        if (HasCompatibilityMapping(cp))
        {
            return Property.FreeformOnly;
        }

        return category switch
        {
            UnicodeCategory.LowercaseLetter or UnicodeCategory.UppercaseLetter or UnicodeCategory.OtherLetter
                or UnicodeCategory.DecimalDigitNumber or UnicodeCategory.ModifierLetter
                or UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark => Property.Valid,
            UnicodeCategory.TitlecaseLetter or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber
                or UnicodeCategory.EnclosingMark => Property.FreeformOnly,
            UnicodeCategory.SpaceSeparator => Property.FreeformOnly,
            UnicodeCategory.MathSymbol or UnicodeCategory.CurrencySymbol or UnicodeCategory.ModifierSymbol
                or UnicodeCategory.OtherSymbol => Property.FreeformOnly,
            UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation or UnicodeCategory.OpenPunctuation
                or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
                or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation => Property.FreeformOnly,
            _ => Property.Disallowed, // Cf, Co, Cs, Zl, Zp
        };
    }

    private static bool HasCompatibilityMapping(int cp)
    {
        // toNFKC(cp) != cp; nothing below U+00A0 has a mapping.
        if (cp < 0xA0)
        {
            return false;
        }

        Span<char> buffer = stackalloc char[2];
        var length = new Rune(cp).EncodeToUtf16(buffer);
        return !((ReadOnlySpan<char>)buffer[..length]).IsNormalized(NormalizationForm.FormKC);
    }

    private static bool IsNoncharacter(int cp) => cp is >= 0xFDD0 and <= 0xFDEF || (cp & 0xFFFE) == 0xFFFE;

    private static bool IsOldHangulJamo(int cp) =>
        cp is (>= 0x1100 and <= 0x11FF) or (>= 0xA960 and <= 0xA97C) or (>= 0xD7B0 and <= 0xD7C6) or (>= 0xD7CB and <= 0xD7FB);

    // Default_Ignorable_Code_Point (DerivedCoreProperties.txt).
    private static bool IsDefaultIgnorable(int cp) => cp switch
    {
        0x00AD or 0x034F or 0x061C or 0x3164 or 0xFEFF or 0xFFA0 => true,
        >= 0x115F and <= 0x1160 => true,
        >= 0x17B4 and <= 0x17B5 => true,
        >= 0x180B and <= 0x180F => true,
        >= 0x200B and <= 0x200F => true,
        >= 0x202A and <= 0x202E => true,
        >= 0x2060 and <= 0x206F => true,
        >= 0xFE00 and <= 0xFE0F => true,
        >= 0xFFF0 and <= 0xFFF8 => true,
        >= 0x1BCA0 and <= 0x1BCA3 => true,
        >= 0x1D173 and <= 0x1D17A => true,
        >= 0xE0000 and <= 0xE0FFF => true,
        _ => false,
    };

    // Canonical_Combining_Class = Virama (9).
    private static bool IsVirama(int cp) => cp switch
    {
        0x094D or 0x09CD or 0x0A4D or 0x0ACD or 0x0B4D or 0x0BCD or 0x0C4D or 0x0CCD or 0x0D3B or 0x0D3C or 0x0D4D
            or 0x0DCA or 0x0E3A or 0x0EBA or 0x0F84 or 0x1039 or 0x103A or 0x1714 or 0x1715 or 0x1734 or 0x17D2
            or 0x1A60 or 0x1B44 or 0x1BAA or 0x1BAB or 0x1BF2 or 0x1BF3 or 0x2D7F or 0xA806 or 0xA82C or 0xA8C4
            or 0xA953 or 0xA9C0 or 0xAAF6 or 0xABED or 0x10A3F or 0x11046 or 0x11070 or 0x1107F or 0x110B9
            or 0x11133 or 0x11134 or 0x111C0 or 0x11235 or 0x112EA or 0x1134D or 0x11442 or 0x114C2 or 0x115BF
            or 0x1163F or 0x116B6 or 0x1172B or 0x11839 or 0x1193D or 0x1193E or 0x119E0 or 0x11A34 or 0x11A47
            or 0x11A99 or 0x11C3F or 0x11D44 or 0x11D45 or 0x11D97 or 0x11F41 or 0x11F42 => true,
        _ => false,
    };

    // RFC 5892 Appendix A.3–A.9, with scripts approximated by their main blocks.
    private static bool IsContextOSatisfied(string value, int index, int cp, int previous)
    {
        switch (cp)
        {
            case 0x00B7: // MIDDLE DOT: between two 'l'.
                return previous == 'l' && index + 1 < value.Length && value[index + 1] == 'l';
            case 0x0375: // GREEK LOWER NUMERAL SIGN: followed by Greek.
                return index + 1 < value.Length && Rune.TryGetRuneAt(value, index + 1, out var next) && IsGreek(next.Value);
            case 0x05F3 or 0x05F4: // HEBREW GERESH / GERSHAYIM: preceded by Hebrew.
                return IsHebrew(previous);
            case 0x30FB: // KATAKANA MIDDLE DOT: some Hiragana, Katakana or Han in the string.
                foreach (var rune in value.EnumerateRunes())
                {
                    if (rune.Value != 0x30FB && IsHiraganaKatakanaOrHan(rune.Value))
                    {
                        return true;
                    }
                }

                return false;
            case >= 0x0660 and <= 0x0669: // ARABIC-INDIC DIGITS: not mixed with the extended ones.
                return !value.Any(c => c is >= '\u06F0' and <= '\u06F9');
            case >= 0x06F0 and <= 0x06F9:
                return !value.Any(c => c is >= '\u0660' and <= '\u0669');
            default:
                return false;
        }
    }

    private static bool IsGreek(int cp) => cp is (>= 0x0370 and <= 0x03E1) or (>= 0x03F0 and <= 0x03FF) or (>= 0x1F00 and <= 0x1FFF);

    private static bool IsHebrew(int cp) => cp is (>= 0x0591 and <= 0x05F4) or (>= 0xFB1D and <= 0xFB4F);

    private static bool IsHiraganaKatakanaOrHan(int cp) =>
        cp is (>= 0x3041 and <= 0x309F) or (>= 0x30A0 and <= 0x30FF) or (>= 0x31F0 and <= 0x31FF) or (>= 0xFF66 and <= 0xFF9D)
            or (>= 0x1B000 and <= 0x1B16F) or (>= 0x2E80 and <= 0x2FD5) or 0x3005 or 0x3007 or (>= 0x3021 and <= 0x3029)
            or (>= 0x3038 and <= 0x303B) or (>= 0x3400 and <= 0x4DBF) or (>= 0x4E00 and <= 0x9FFF) or (>= 0xF900 and <= 0xFAFF)
            or (>= 0x20000 and <= 0x3134F);
}
