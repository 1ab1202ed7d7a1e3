using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace Parley.Xmpp.Xml;

/// <summary>
/// Writes elements as UTF-8 XML. Escapes every text and attribute value; never emits a DTD or a processing instruction.
/// </summary>
/// <remarks>
/// Any string is safe to write as text or as an attribute value: characters that XML 1.0 does not allow (C0 controls other
/// than tab, LF and CR; U+FFFE; U+FFFF; unpaired surrogates) are written as U+FFFD, because a stanza carrying user text
/// must not fail to send, or break the stream, for one stray control character. CR in text is written as <c>&amp;#13;</c>
/// and tab, LF and CR in attribute values as character references, so a parser's line-end and attribute-value
/// normalization gives back the same string. Names cannot be repaired: an element, attribute or prefix name that is not
/// a valid XML name throws <see cref="ArgumentException"/> before anything of that tag is written.
/// </remarks>
internal static class XmlSerializer
{
    private const string ReplacementCharacter = "\uFFFD";

    // Markup to escape, plus the characters XML 1.0 forbids. Unpaired surrogates are not listed: they never split a run
    // of plain characters, and the UTF-8 encoding writes each of them as U+FFFD.
    private static readonly SearchValues<char> TextSpecials = SearchValues.Create("&<>\r" + ForbiddenCharacters());
    private static readonly SearchValues<char> AttributeSpecials = SearchValues.Create("&<>\"'\t\n\r" + ForbiddenCharacters());

    /// <summary>Writes an element and its subtree.</summary>
    /// <param name="output">Where the bytes go.</param>
    /// <param name="element">The element.</param>
    /// <param name="parentNamespace">The namespace in scope; an <c>xmlns</c> declaration is written only when the element's namespace differs.</param>
    /// <exception cref="ArgumentException">An element or attribute name in the subtree is not a valid XML name, or an attribute is a namespace declaration.</exception>
    public static void WriteElement(IBufferWriter<byte> output, XmppElement element, string? parentNamespace)
    {
        WriteStartTag(output, element, parentNamespace, selfCloseIfEmpty: true, out var closed);
        if (closed)
        {
            return;
        }

        if (element.Text is { Length: > 0 } text)
        {
            WriteEscaped(output, text, TextSpecials);
        }

        foreach (var child in element.ChildSpan)
        {
            WriteElement(output, child, element.Namespace);
        }

        WriteRaw(output, "</");
        WriteRaw(output, element.Name);
        WriteRaw(output, ">");
    }

    /// <summary>Writes only a start tag, e.g. the opening <c>&lt;stream:stream&gt;</c> of an XMPP stream.</summary>
    /// <param name="output">Where the bytes go.</param>
    /// <param name="prefixedName">The qualified name to write, e.g. <c>stream:stream</c>.</param>
    /// <param name="namespaces">Namespace declarations as (prefix or empty, uri).</param>
    /// <param name="attributes">Attributes; <see langword="null"/> values are skipped.</param>
    /// <exception cref="ArgumentException">A name or prefix is not a valid XML name.</exception>
    public static void WriteOpenTag(IBufferWriter<byte> output, string prefixedName, ReadOnlySpan<(string Prefix, string Uri)> namespaces, ReadOnlySpan<(string Name, string? Value)> attributes)
    {
        if (!XmlChars.IsQName(prefixedName))
        {
            throw new ArgumentException($"'{prefixedName}' is not a valid XML name.", nameof(prefixedName));
        }

        foreach (var (prefix, _) in namespaces)
        {
            if (prefix.Length != 0 && !XmlChars.IsNCName(prefix))
            {
                throw new ArgumentException($"'{prefix}' is not a valid namespace prefix.", nameof(namespaces));
            }
        }

        foreach (var (name, _) in attributes)
        {
            ValidateAttributeName(name);
        }

        WriteRaw(output, "<");
        WriteRaw(output, prefixedName);
        foreach (var (prefix, uri) in namespaces)
        {
            WriteRaw(output, prefix.Length == 0 ? " xmlns=\"" : " xmlns:");
            if (prefix.Length != 0)
            {
                WriteRaw(output, prefix);
                WriteRaw(output, "=\"");
            }

            WriteEscaped(output, uri, AttributeSpecials);
            WriteRaw(output, "\"");
        }

        foreach (var (name, value) in attributes)
        {
            if (value is null)
            {
                continue;
            }

            WriteAttribute(output, name, value);
        }

        WriteRaw(output, ">");
    }

    private static void WriteStartTag(IBufferWriter<byte> output, XmppElement element, string? parentNamespace, bool selfCloseIfEmpty, out bool closed)
    {
        if (!XmlChars.IsNCName(element.Name))
        {
            throw new ArgumentException($"'{element.Name}' is not a valid XML element name.", nameof(element));
        }

        var attributes = element.AttributeSpan;
        foreach (var attribute in attributes)
        {
            ValidateAttributeName(attribute.Name);
        }

        WriteRaw(output, "<");
        WriteRaw(output, element.Name);
        if (!string.Equals(element.Namespace, parentNamespace, StringComparison.Ordinal))
        {
            WriteRaw(output, " xmlns=\"");
            WriteEscaped(output, element.Namespace, AttributeSpecials);
            WriteRaw(output, "\"");
        }

        foreach (var (prefix, uri) in element.AttributePrefixes)
        {
            WriteAttribute(output, "xmlns:" + prefix, uri);
        }

        foreach (var attribute in attributes)
        {
            WriteAttribute(output, attribute.Name, attribute.Value);
        }

        closed = selfCloseIfEmpty && !element.HasChildren && string.IsNullOrEmpty(element.Text);
        WriteRaw(output, closed ? "/>" : ">");
    }

    private static void WriteAttribute(IBufferWriter<byte> output, string name, string value)
    {
        WriteRaw(output, " ");
        WriteRaw(output, name);
        WriteRaw(output, "=\"");
        WriteEscaped(output, value, AttributeSpecials);
        WriteRaw(output, "\"");
    }

    private static void ValidateAttributeName(string name)
    {
        if (!XmlChars.IsQName(name))
        {
            throw new ArgumentException($"'{name}' is not a valid XML attribute name.", nameof(name));
        }

        if (name == "xmlns" || name.StartsWith("xmlns:", StringComparison.Ordinal))
        {
            throw new ArgumentException("Namespace declarations are not attributes.", nameof(name));
        }
    }

    private static string ForbiddenCharacters()
    {
        var chars = new StringBuilder("\uFFFE\uFFFF");
        for (var c = '\0'; c < ' '; c++)
        {
            if (c is not ('\t' or '\n' or '\r'))
            {
                chars.Append(c);
            }
        }

        return chars.ToString();
    }

    /// <summary>Writes a string as it is: for names and fixed markup only; it is neither escaped nor checked.</summary>
    public static void WriteRaw(IBufferWriter<byte> output, string value) => WriteUtf8(output, value);

    /// <summary>
    /// Encodes text as UTF-8 into whatever room the writer's current buffer has, then the next: a long text (an in-band
    /// file block) fills the buffers one after another instead of asking for three bytes per character in one piece, so a
    /// flush hands the connection full buffers (full TLS records). Unpaired surrogates become U+FFFD.
    /// </summary>
    private static void WriteUtf8(IBufferWriter<byte> output, ReadOnlySpan<char> text)
    {
        while (!text.IsEmpty)
        {
            // Every character fits in 4 bytes (a surrogate pair too), so each round encodes at least one.
            var span = output.GetSpan(4);
            Utf8.FromUtf16(text, span, out var read, out var written);
            output.Advance(written);
            text = text[read..];
        }
    }

    private static void WriteEscaped(IBufferWriter<byte> output, string value, SearchValues<char> specials)
    {
        var rest = value.AsSpan();
        while (!rest.IsEmpty)
        {
            var index = rest.IndexOfAny(specials);
            var plain = index < 0 ? rest : rest[..index];
            WriteUtf8(output, plain);

            if (index < 0)
            {
                return;
            }

            WriteRaw(output, rest[index] switch
            {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' => "&quot;",
                '\'' => "&apos;",
                '\t' => "&#9;",
                '\n' => "&#10;",
                '\r' => "&#13;",
                _ => ReplacementCharacter,
            });
            rest = rest[(index + 1)..];
        }
    }
}
