using System.Globalization;
using System.Text;

namespace Parley.Web.Auth;

/// <summary>Turns a provider's name claim into a display name the owner sees as the visitor's XEP-0172 nick.</summary>
internal static class DisplayNames
{
    public const int MaxLength = 64;
    public const string Fallback = "Visitor";

    /// <summary>
    /// Keeps printable characters only (no controls, no bidi overrides or other format characters, no private-use or
    /// unassigned code points, no broken surrogates), collapses white space, normalizes to NFC and cuts at
    /// <see cref="MaxLength"/> on a character boundary. Returns <see cref="Fallback"/> when nothing is left.
    /// </summary>
    public static string Clean(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return Fallback;
        }

        // Providers' limits are not ours: look at a bounded prefix only.
        var input = name.Length > 4 * MaxLength ? name[..(4 * MaxLength)] : name;
        var builder = new StringBuilder(Math.Min(input.Length, MaxLength * 2));
        var pendingSpace = false;
        foreach (var rune in input.EnumerateRunes())
        {
            if (Rune.IsWhiteSpace(rune))
            {
                pendingSpace = builder.Length > 0;
                continue;
            }

            if (rune == Rune.ReplacementChar || !IsPrintable(rune))
            {
                continue;
            }

            if (pendingSpace)
            {
                builder.Append(' ');
                pendingSpace = false;
            }

            builder.Append(rune.ToString());
        }

        var normalized = builder.ToString().Normalize(NormalizationForm.FormC);
        if (normalized.Length > MaxLength)
        {
            // Cut between user-perceived characters, never inside a surrogate pair or a combining sequence.
            var cut = 0;
            var elements = StringInfo.GetTextElementEnumerator(normalized);
            while (elements.MoveNext() && elements.ElementIndex + elements.GetTextElement().Length <= MaxLength)
            {
                cut = elements.ElementIndex + elements.GetTextElement().Length;
            }

            normalized = normalized[..cut].TrimEnd();
        }

        return normalized.Length == 0 ? Fallback : normalized;
    }

    private static bool IsPrintable(Rune rune) => Rune.GetUnicodeCategory(rune) switch
    {
        UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse
            or UnicodeCategory.OtherNotAssigned or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator => false,
        _ => true,
    };
}
