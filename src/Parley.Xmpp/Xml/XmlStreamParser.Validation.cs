using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Unicode;

namespace Parley.Xmpp.Xml;

/// <summary>Checks over whole items: UTF-8 and XML 1.0 characters, the XML declaration, and the small syntax expectations the tree builder makes.</summary>
internal sealed partial class XmlStreamParser
{
    private void ParseDeclaration(ReadOnlySpan<byte> data, long offset)
    {
        ValidateCharacters(data, offset);
        if (data.Length < 6 || !data.StartsWith("<?xml"u8) || !XmlChars.IsWhitespace(data[5]))
        {
            throw Error("Processing instructions are not allowed in XMPP", offset, "restricted-xml");
        }

        var pos = 5;
        var stage = 0;
        while (true)
        {
            var whitespace = SkipWhitespace(data, ref pos);
            if (pos < data.Length && data[pos] == '?')
            {
                ExpectByte(data, pos + 1, (byte)'>', offset);
                ExpectEnd(data, pos + 2, offset);
                break;
            }

            if (whitespace == 0)
            {
                throw Error("Malformed XML declaration", offset + pos);
            }

            var nameStart = pos;
            while (pos < data.Length && data[pos] is >= (byte)'a' and <= (byte)'z')
            {
                pos++;
            }

            var name = data[nameStart..pos];
            var quote = ReadEqualsAndQuote(data, ref pos, offset, "Malformed XML declaration");
            var length = data[pos..].IndexOf(quote);
            if (length < 0)
            {
                throw Error("Malformed XML declaration", offset + pos);
            }

            // A bad value is reported at its first byte, where the peer's mistake is.
            var valueStart = pos;
            var value = data.Slice(pos, length);
            pos += length + 1;
            if (stage == 0 && name.SequenceEqual("version"u8))
            {
                if (value.Length < 3 || !value.StartsWith("1."u8) || value[2..].ContainsAnyExceptInRange((byte)'0', (byte)'9'))
                {
                    throw Error($"Unsupported XML version '{Encoding.UTF8.GetString(value)}'", offset + valueStart);
                }

                stage = 1;
            }
            else if (stage == 1 && name.SequenceEqual("encoding"u8))
            {
                if (!Ascii.EqualsIgnoreCase(value, "UTF-8"u8))
                {
                    throw Error($"Unsupported encoding '{Encoding.UTF8.GetString(value)}'; XMPP uses UTF-8", offset + valueStart, "unsupported-encoding");
                }

                stage = 2;
            }
            else if (stage is 1 or 2 && name.SequenceEqual("standalone"u8))
            {
                if (!value.SequenceEqual("yes"u8) && !value.SequenceEqual("no"u8))
                {
                    throw Error("Malformed XML declaration", offset + valueStart);
                }

                stage = 3;
            }
            else
            {
                throw Error("Malformed XML declaration", offset + nameStart);
            }
        }

        if (stage == 0)
        {
            throw Error("The XML declaration has no version", offset);
        }
    }

    /// <summary>Rejects invalid UTF-8 and characters that XML 1.0 does not allow, over the whole item at once.</summary>
    private static void ValidateCharacters(ReadOnlySpan<byte> data, long offset)
    {
        // Printable ASCII (the common case) needs no further look, and neither does a printable ASCII prefix.
        var first = data.IndexOfAnyExceptInRange((byte)0x20, (byte)0x7F);
        if (first < 0)
        {
            return;
        }

        data = data[first..];
        offset += first;
        if (IsValidSparse(data))
        {
            return;
        }

        if (!Utf8.IsValid(data))
        {
            for (var i = 0; i < data.Length;)
            {
                if (Rune.DecodeFromUtf8(data[i..], out _, out var length) != OperationStatus.Done)
                {
                    throw Error("Invalid UTF-8", offset + i);
                }

                i += length;
            }
        }

        var control = data.IndexOfAny(XmlChars.RestrictedControlBytes);
        if (control >= 0)
        {
            throw Error($"The character U+{data[control]:X4} is not allowed in XML", offset + control);
        }

        // U+FFFE and U+FFFF are EF BF BE and EF BF BF.
        ReadOnlySpan<byte> lead = [0xEF, 0xBF];
        for (var from = 0; ;)
        {
            var index = data[from..].IndexOf(lead);
            if (index < 0)
            {
                return;
            }

            index += from;
            if (index + 2 < data.Length && data[index + 2] >= 0xBE)
            {
                throw Error($"The character U+{(data[index + 2] == 0xBE ? "FFFE" : "FFFF")} is not allowed in XML", offset + index);
            }

            from = index + 2;
        }
    }

    /// <summary>
    /// One pass for the usual text, printable ASCII with a few other characters: jumps from one byte outside printable
    /// ASCII to the next and decodes only those characters. False when a character is not allowed, or when there are so
    /// many that the vectorized passes of <see cref="ValidateCharacters"/> are faster; that then decides (and reports the
    /// error).
    /// </summary>
    private static bool IsValidSparse(ReadOnlySpan<byte> data)
    {
        const int MaxCharacters = 32;
        var i = 0;
        for (var seen = 0; seen < MaxCharacters; seen++)
        {
            var next = data[i..].IndexOfAnyExceptInRange((byte)0x20, (byte)0x7F);
            if (next < 0)
            {
                return true;
            }

            i += next;
            var b = data[i];
            if (b < 0x80)
            {
                if (b is not ((byte)'\t' or (byte)'\n' or (byte)'\r'))
                {
                    return false;
                }

                i++;
                continue;
            }

            // A run of non-ASCII characters (a word in another script) is decoded without searching between them.
            do
            {
                // Rejects overlong forms, surrogates and truncated sequences, as Utf8.IsValid does.
                if (Rune.DecodeFromUtf8(data[i..], out var rune, out var length) != OperationStatus.Done || rune.Value is 0xFFFE or 0xFFFF)
                {
                    return false;
                }

                i += length;
            }
            while (i < data.Length && data[i] >= 0x80 && ++seen < MaxCharacters);
        }

        return false;
    }

    /// <summary>
    /// Reads what follows an attribute name up to its value: white space, '=', white space and the opening quote, which it
    /// returns (<paramref name="pos"/> is then on the value's first byte). Throws <paramref name="malformed"/> when the quote
    /// is missing.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static byte ReadEqualsAndQuote(ReadOnlySpan<byte> data, ref int pos, long offset, string malformed)
    {
        SkipWhitespace(data, ref pos);
        ExpectByte(data, pos, (byte)'=', offset);
        pos++;
        SkipWhitespace(data, ref pos);
        if (pos >= data.Length || data[pos] is not ((byte)'"' or (byte)'\''))
        {
            throw Error(malformed, offset + pos);
        }

        return data[pos++];
    }

    private static int SkipWhitespace(ReadOnlySpan<byte> data, ref int pos)
    {
        var start = pos;
        while (pos < data.Length && XmlChars.IsWhitespace(data[pos]))
        {
            pos++;
        }

        return pos - start;
    }

    private static void ExpectByte(ReadOnlySpan<byte> data, int pos, byte expected, long offset)
    {
        if (pos >= data.Length || data[pos] != expected)
        {
            throw Error($"Expected '{(char)expected}'", offset + pos);
        }
    }

    private static void ExpectEnd(ReadOnlySpan<byte> data, int pos, long offset)
    {
        if (pos != data.Length)
        {
            throw Error("Unexpected data after the end of the element", offset + pos);
        }
    }
}
