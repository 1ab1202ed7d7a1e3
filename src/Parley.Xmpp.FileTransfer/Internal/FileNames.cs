using System.Globalization;
using System.Text;

namespace Parley.Xmpp.FileTransfer;

/// <summary>Makes file names from peers safe to create in a folder.</summary>
internal static class FileNames
{
    /// <summary>The longest name kept, in UTF-16 code units (well under the 255-byte limit of common file systems for most scripts).</summary>
    public const int MaxLength = 120;

    private static readonly HashSet<string> Reserved = new(StringComparer.OrdinalIgnoreCase)
    {
        "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9",
        "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
    };

    /// <summary>
    /// Keeps only the last path segment (either separator), drops control and reserved characters, leading dots and
    /// spaces and trailing dots and spaces, shortens it keeping the extension, and never returns an empty name.
    /// </summary>
    public static string Sanitize(string? name)
    {
        name ??= string.Empty;
        var slash = name.LastIndexOfAny(['/', '\\']);
        var segment = slash >= 0 ? name[(slash + 1)..] : name;
        if (segment.Length > 4 * MaxLength)
        {
            // Cut very long input early, but keep a short extension from its end.
            var tail = Path.GetExtension(segment);
            segment = segment[..(4 * MaxLength)] + (tail.Length <= 16 ? tail : string.Empty);
        }

        var builder = new StringBuilder(Math.Min(segment.Length, 4 * MaxLength));
        foreach (var rune in segment.EnumerateRunes())
        {
            var category = Rune.GetUnicodeCategory(rune);
            if (category is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator
                || (rune.IsAscii && "<>:\"|?*".Contains((char)rune.Value, StringComparison.Ordinal)))
            {
                builder.Append('_');
            }
            else
            {
                builder.Append(rune.ToString());
            }
        }

        var clean = builder.ToString().Trim().TrimStart('.', ' ').TrimEnd('.', ' ');
        if (clean.Length > MaxLength)
        {
            var extension = Path.GetExtension(clean);
            if (extension.Length is 0 or > 16)
            {
                extension = string.Empty;
            }

            var stem = clean[..(clean.Length - extension.Length)];
            var keep = MaxLength - extension.Length;

            // Do not cut a surrogate pair in half.
            if (char.IsHighSurrogate(stem[keep - 1]))
            {
                keep--;
            }

            clean = stem[..keep].TrimEnd('.', ' ') + extension;
        }

        var dot = clean.IndexOf('.', StringComparison.Ordinal);
        if (Reserved.Contains(dot < 0 ? clean : clean[..dot]))
        {
            clean = "_" + clean;
        }

        return clean.Length == 0 ? "file" : clean;
    }
}
