using System.Text;

namespace Parley.Web.Text;

/// <summary>File names as the gateway shows and sends them, whoever supplied them (a visitor's upload, a link of the owner's).</summary>
internal static class FileNames
{
    /// <summary>The longest name kept, in UTF-16 code units.</summary>
    public const int MaxLength = 200;

    /// <summary>A file name fit to show and to send: the last path segment, no control, bidi-override or XML-unsafe characters, at most <see cref="MaxLength"/> characters; <see langword="null"/> when nothing is left.</summary>
    public static string? Clean(string? name)
    {
        if (name is null)
        {
            return null;
        }

        var last = name.Replace('\\', '/').Split('/', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? "";
        var builder = new StringBuilder(Math.Min(last.Length, MaxLength));
        foreach (var rune in last.Normalize(NormalizationForm.FormC).EnumerateRunes())
        {
            if (Rune.IsControl(rune) || !TextRules.IsXmlSafe(rune.ToString()) || rune.Value is 0x202E or 0x202D or 0x2066 or 0x2067 or 0x2068 or 0x2069)
            {
                continue;
            }

            if (builder.Length + rune.Utf16SequenceLength > MaxLength)
            {
                break;
            }

            builder.Append(rune.ToString());
        }

        var cleaned = builder.ToString().Trim();
        return cleaned.Length == 0 || cleaned is "." or ".." ? null : cleaned;
    }
}
