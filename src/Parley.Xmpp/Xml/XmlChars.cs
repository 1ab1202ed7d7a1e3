using System.Buffers;
using System.Text;

namespace Parley.Xmpp.Xml;

/// <summary>Character classes of XML 1.0 (fifth edition) and Namespaces in XML, shared by the parser and the serializer.</summary>
internal static class XmlChars
{
    public const string XmlNamespace = "http://www.w3.org/XML/1998/namespace";

    private const byte NameStartFlag = 1;
    private const byte NameFlag = 2;

    /// <summary>Flags of the ASCII characters that may start or continue an NCName (the colon is handled by callers).</summary>
    private static readonly byte[] AsciiNameFlags = BuildAsciiNameFlags();

    /// <summary>Class of every byte value for name scanning: <see cref="ByteNameStart"/>, <see cref="ByteNameChar"/>, <see cref="ByteNonAscii"/>.</summary>
    public static readonly byte[] ByteNameClasses = BuildByteNameClasses();

    public const byte ByteNameStart = 1;
    public const byte ByteNameChar = 2;
    public const byte ByteNonAscii = 4;

    /// <summary>UTF-8 bytes that are never allowed in an XML 1.0 document: C0 controls other than tab, LF and CR.</summary>
    public static readonly SearchValues<byte> RestrictedControlBytes = SearchValues.Create(
        [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x0B, 0x0C, 0x0E, 0x0F,
         0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x1B, 0x1C, 0x1D, 0x1E, 0x1F]);

    /// <summary>The XML white-space bytes (S production).</summary>
    public static readonly SearchValues<byte> WhitespaceBytes = SearchValues.Create(" \t\r\n"u8);

    /// <summary>Whether a code point is a Char of XML 1.0: tab, LF, CR, U+0020–U+D7FF, U+E000–U+FFFD, U+10000–U+10FFFF.</summary>
    public static bool IsXmlChar(int c) => c switch
    {
        < 0x20 => c is 0x9 or 0xA or 0xD,
        <= 0xD7FF => true,
        < 0xE000 => false,
        <= 0xFFFD => true,
        < 0x10000 => false,
        _ => c <= 0x10FFFF,
    };

    /// <summary>Whether a byte is XML white space.</summary>
    public static bool IsWhitespace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n';

    /// <summary>Whether an ASCII byte may start an NCName.</summary>
    public static bool IsAsciiNameStart(byte b) => b < 0x80 && (AsciiNameFlags[b] & NameStartFlag) != 0;

    /// <summary>Whether an ASCII byte may continue an NCName.</summary>
    public static bool IsAsciiNameChar(byte b) => b < 0x80 && (AsciiNameFlags[b] & NameFlag) != 0;

    /// <summary>NameStartChar of XML 1.0 fifth edition, without the colon.</summary>
    public static bool IsNameStartChar(int c)
    {
        if (c < 0x80)
        {
            return (AsciiNameFlags[c] & NameStartFlag) != 0;
        }

        return c is (>= 0xC0 and <= 0xD6) or (>= 0xD8 and <= 0xF6) or (>= 0xF8 and <= 0x2FF) or (>= 0x370 and <= 0x37D)
            or (>= 0x37F and <= 0x1FFF) or (>= 0x200C and <= 0x200D) or (>= 0x2070 and <= 0x218F) or (>= 0x2C00 and <= 0x2FEF)
            or (>= 0x3001 and <= 0xD7FF) or (>= 0xF900 and <= 0xFDCF) or (>= 0xFDF0 and <= 0xFFFD) or (>= 0x10000 and <= 0xEFFFF);
    }

    /// <summary>NameChar of XML 1.0 fifth edition, without the colon.</summary>
    public static bool IsNameChar(int c)
    {
        if (c < 0x80)
        {
            return (AsciiNameFlags[c] & NameFlag) != 0;
        }

        return IsNameStartChar(c) || c == 0xB7 || c is (>= 0x300 and <= 0x36F) or (>= 0x203F and <= 0x2040);
    }

    /// <summary>Whether a string is an NCName (a name without a colon), e.g. an element's local name or a prefix.</summary>
    public static bool IsNCName(ReadOnlySpan<char> name)
    {
        if (name.IsEmpty)
        {
            return false;
        }

        for (var i = 0; i < name.Length;)
        {
            int c = name[i];
            var length = 1;
            if (c >= 0x80)
            {
                if (Rune.DecodeFromUtf16(name[i..], out var rune, out length) != OperationStatus.Done)
                {
                    return false;
                }

                c = rune.Value;
            }

            if (i == 0 ? !IsNameStartChar(c) : !IsNameChar(c))
            {
                return false;
            }

            i += length;
        }

        return true;
    }

    /// <summary>Whether a string is a QName: an NCName, or two NCNames joined by one colon (e.g. <c>xml:lang</c>).</summary>
    public static bool IsQName(ReadOnlySpan<char> name)
    {
        var colon = name.IndexOf(':');
        return colon < 0 ? IsNCName(name) : IsNCName(name[..colon]) && IsNCName(name[(colon + 1)..]);
    }

    private static byte[] BuildByteNameClasses()
    {
        var classes = new byte[256];
        BuildAsciiNameFlags().CopyTo(classes, 0);
        classes.AsSpan(0x80).Fill(ByteNonAscii);
        return classes;
    }

    private static byte[] BuildAsciiNameFlags()
    {
        var flags = new byte[128];
        for (var c = 'a'; c <= 'z'; c++)
        {
            flags[c] = NameStartFlag | NameFlag;
            flags[c - 'a' + 'A'] = NameStartFlag | NameFlag;
        }

        flags['_'] = NameStartFlag | NameFlag;
        for (var c = '0'; c <= '9'; c++)
        {
            flags[c] = NameFlag;
        }

        flags['-'] = NameFlag;
        flags['.'] = NameFlag;
        return flags;
    }
}
