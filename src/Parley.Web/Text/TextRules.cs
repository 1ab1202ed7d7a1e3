using System.Buffers;
using System.Text;

namespace Parley.Web.Text;

/// <summary>What text may go into a stanza: XML 1.0 characters only (no NUL or other C0 controls but tab/CR/LF, no lone surrogates, no U+FFFE/U+FFFF).</summary>
internal static class TextRules
{
    public static bool IsXmlSafe(string text)
    {
        var rest = text.AsSpan();
        while (!rest.IsEmpty)
        {
            if (Rune.DecodeFromUtf16(rest, out var rune, out var used) != OperationStatus.Done)
            {
                return false;
            }

            var value = rune.Value;
            var allowed = value is 0x9 or 0xA or 0xD or (>= 0x20 and <= 0xD7FF) or (>= 0xE000 and <= 0xFFFD) or >= 0x10000;
            if (!allowed)
            {
                return false;
            }

            rest = rest[used..];
        }

        return true;
    }
}
