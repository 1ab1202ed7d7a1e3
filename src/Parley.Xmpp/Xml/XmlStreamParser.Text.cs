using System.Buffers;
using System.Text;
using System.Text.Unicode;
using Parley.Xmpp.Core;

namespace Parley.Xmpp.Xml;

/// <summary>Character data and attribute values: text runs, CDATA, entity and character references, line-end and white-space normalization, and the char buffer they are decoded through.</summary>
internal sealed partial class XmlStreamParser
{
    private const int RetainedCharBufferLength = 16 * 1024;

    private static readonly SearchValues<byte> AttributeValueSpecials = SearchValues.Create("&<\t\n\r"u8);
    private static readonly SearchValues<byte> TextSpecials = SearchValues.Create("&\r"u8);

    private char[] _chars = new char[256];
    private int _charCount;

    private enum TextMode : byte
    {
        None,
        /// <summary>One run without references or CR so far, still in the input (decoded straight into the string at the end).</summary>
        Simple,
        /// <summary>Decoded into <see cref="_chars"/> from <see cref="Frame.TextStart"/>.</summary>
        Buffered,
    }

    /// <summary>Adds a run of character data; <paramref name="plain"/> says it holds no '&amp;', CR or '&gt;'.</summary>
    private void AppendTextRun(ref Frame frame, ReadOnlySpan<byte> data, int start, int length, long offset, bool plain)
    {
        var run = data.Slice(start, length);
        if (!plain && run.Contains((byte)'>'))
        {
            var bad = run.IndexOf("]]>"u8);
            if (bad >= 0)
            {
                throw Error("']]>' is not allowed in character data", offset + start + bad);
            }
        }

        if (frame.Mode == TextMode.None && (plain || !run.ContainsAny(TextSpecials)))
        {
            frame.Mode = TextMode.Simple;
            frame.RunStart = start;
            frame.RunLength = length;
            return;
        }

        BufferText(ref frame, data);
        AppendDecoded(run, offset + start, attribute: false);
    }

    private void AppendCData(ref Frame frame, ReadOnlySpan<byte> data, ref int pos, long offset)
    {
        if (!data[pos..].StartsWith("<![CDATA["u8))
        {
            throw Error("Comments and markup declarations are not allowed in XMPP", offset + pos, "restricted-xml");
        }

        var contentStart = pos + 9;
        var length = data[contentStart..].IndexOf("]]>"u8);
        if (length < 0)
        {
            throw Error("Unterminated CDATA section", offset + pos);
        }

        BufferText(ref frame, data);
        var content = data.Slice(contentStart, length);
        while (!content.IsEmpty)
        {
            // CDATA is literal except for line-end normalization (CR LF and lone CR become LF).
            var cr = content.IndexOf((byte)'\r');
            AppendUtf8(cr < 0 ? content : content[..cr]);
            if (cr < 0)
            {
                break;
            }

            AppendChar('\n');
            content = content[(cr + 1)..];
            if (content is [(byte)'\n', ..])
            {
                content = content[1..];
            }
        }

        pos = contentStart + length + 3;
    }

    /// <summary>Moves the element's text so far into the char buffer, so that more can be appended.</summary>
    private void BufferText(ref Frame frame, ReadOnlySpan<byte> data)
    {
        if (frame.Mode == TextMode.Simple)
        {
            AppendUtf8(data.Slice(frame.RunStart, frame.RunLength));
        }

        frame.Mode = TextMode.Buffered;
    }

    /// <summary>Decodes an attribute value; <paramref name="plain"/> says it is known to hold no reference, '&lt;', tab or line end.</summary>
    private string DecodeAttributeValue(ReadOnlySpan<byte> raw, long offset, Intern intern, bool plain)
    {
        if (plain || !raw.ContainsAny(AttributeValueSpecials))
        {
            // Characters never outnumber bytes, so the count is needed only when the bytes exceed the limit.
            if (raw.Length > _limits.MaxAttributeLength && Encoding.UTF8.GetCharCount(raw) > _limits.MaxAttributeLength)
            {
                throw AttributeTooLong(offset);
            }

            return intern != Intern.None ? _names.Get(raw, wellKnown: intern == Intern.WellKnown)
                : raw.IsEmpty ? string.Empty : DecodeString(raw);
        }

        var start = _charCount;
        AppendDecoded(raw, offset, attribute: true);
        var length = _charCount - start;
        _charCount = start;
        return length > _limits.MaxAttributeLength ? throw AttributeTooLong(offset) : new string(_chars, start, length);
    }

    private XmppProtocolException AttributeTooLong(long offset)
        => LimitError($"An attribute value is longer than the limit of {_limits.MaxAttributeLength} characters", offset);

    /// <summary>Appends text or an attribute value with references resolved and line ends (and, in attributes, white space) normalized.</summary>
    private void AppendDecoded(ReadOnlySpan<byte> raw, long offset, bool attribute)
    {
        var specials = attribute ? AttributeValueSpecials : TextSpecials;
        var consumed = 0;
        while (consumed < raw.Length)
        {
            var rest = raw[consumed..];
            var index = rest.IndexOfAny(specials);
            if (index != 0)
            {
                AppendUtf8(index < 0 ? rest : rest[..index]);
                if (index < 0)
                {
                    return;
                }

                consumed += index;
            }

            switch (raw[consumed])
            {
                case (byte)'&':
                    consumed += AppendReference(raw[consumed..], offset + consumed);
                    break;
                case (byte)'\r':
                    AppendChar(attribute ? ' ' : '\n');
                    consumed++;
                    if (consumed < raw.Length && raw[consumed] == '\n')
                    {
                        consumed++;
                    }

                    break;
                case (byte)'<':
                    throw Error("'<' in an attribute value", offset + consumed);
                default:
                    // Tab or LF in an attribute value (attribute-value normalization).
                    AppendChar(' ');
                    consumed++;
                    break;
            }
        }
    }

    /// <summary>Resolves a reference starting at '&amp;'; returns its length in bytes.</summary>
    private int AppendReference(ReadOnlySpan<byte> s, long offset)
    {
        // The references text usually has, recognized without looking for the semicolon first.
        if (s.StartsWith("&lt;"u8) || s.StartsWith("&gt;"u8))
        {
            AppendChar(s[1] == 'l' ? '<' : '>');
            return 4;
        }

        if (s.StartsWith("&amp;"u8))
        {
            AppendChar('&');
            return 5;
        }

        if (s.StartsWith("&quot;"u8) || s.StartsWith("&apos;"u8))
        {
            AppendChar(s[1] == 'q' ? '"' : '\'');
            return 6;
        }

        var semicolon = s[..Math.Min(s.Length, 64)].IndexOf((byte)';');
        if (semicolon < 2)
        {
            throw Error("'&' that does not start a reference (write it as &amp;)", offset);
        }

        var body = s[1..semicolon];
        if (body[0] == '#')
        {
            var value = ParseCharacterReference(body[1..]);
            if (value < 0)
            {
                throw Error($"Malformed character reference '{Encoding.UTF8.GetString(s[..(semicolon + 1)])}'", offset);
            }

            if (!XmlChars.IsXmlChar(value))
            {
                throw Error($"Character reference to U+{value:X4}, which is not allowed in XML", offset);
            }

            if (value < 0x10000)
            {
                AppendChar((char)value);
            }
            else
            {
                EnsureChars(2);
                _charCount += new Rune(value).EncodeToUtf16(_chars.AsSpan(_charCount));
            }

            return semicolon + 1;
        }

        var c = body switch
        {
            _ when body.SequenceEqual("amp"u8) => '&',
            _ when body.SequenceEqual("lt"u8) => '<',
            _ when body.SequenceEqual("gt"u8) => '>',
            _ when body.SequenceEqual("quot"u8) => '"',
            _ when body.SequenceEqual("apos"u8) => '\'',
            _ => '\0',
        };
        if (c == '\0')
        {
            throw XmlChars.IsAsciiNameStart(body[0]) || body[0] >= 0x80
                ? Error($"Entity reference '&{Encoding.UTF8.GetString(body)};' is not allowed in XMPP (only the five predefined entities are)", offset, "restricted-xml")
                : Error("'&' that does not start a reference (write it as &amp;)", offset);
        }

        AppendChar(c);
        return semicolon + 1;
    }

    /// <summary>Parses the digits of <c>&amp;#...;</c>; -1 when malformed, 0x110000 when too large.</summary>
    private static int ParseCharacterReference(ReadOnlySpan<byte> digits)
    {
        var hex = digits is [(byte)'x', ..];
        if (hex)
        {
            digits = digits[1..];
        }

        if (digits.IsEmpty)
        {
            return -1;
        }

        var value = 0;
        foreach (var d in digits)
        {
            int digit;
            if (d is >= (byte)'0' and <= (byte)'9')
            {
                digit = d - '0';
            }
            else if (hex && (d | 0x20) is >= (byte)'a' and <= (byte)'f')
            {
                digit = (d | 0x20) - 'a' + 10;
            }
            else
            {
                return -1;
            }

            value = Math.Min((value * (hex ? 16 : 10)) + digit, 0x110000);
        }

        return value;
    }

    /// <summary>
    /// Decodes UTF-8 into a new string in one pass, through the free end of the char buffer (Encoding.GetString would
    /// count the characters in a first pass).
    /// </summary>
    private string DecodeString(ReadOnlySpan<byte> utf8)
    {
        EnsureChars(utf8.Length);
        var length = Encoding.UTF8.GetChars(utf8, _chars.AsSpan(_charCount));
        return new string(_chars, _charCount, length);
    }

    private void AppendUtf8(ReadOnlySpan<byte> utf8)
    {
        EnsureChars(utf8.Length);
        _charCount += Encoding.UTF8.GetChars(utf8, _chars.AsSpan(_charCount));
    }

    private void AppendChar(char c)
    {
        EnsureChars(1);
        _chars[_charCount++] = c;
    }

    private void EnsureChars(int count)
    {
        if (_chars.Length - _charCount < count)
        {
            Array.Resize(ref _chars, Math.Max(_chars.Length * 2, _charCount + count));
        }
    }
}
