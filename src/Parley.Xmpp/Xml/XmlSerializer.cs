using System.Buffers;
using System.Text;

namespace Parley.Xmpp.Xml;

/// <summary>Writes elements as UTF-8 XML. Escapes every text and attribute value; never emits a DTD or a processing instruction.</summary>
internal static class XmlSerializer
{
    private static readonly SearchValues<char> TextSpecials = SearchValues.Create("&<>");
    private static readonly SearchValues<char> AttributeSpecials = SearchValues.Create("&<>\"'\t\n\r");

    /// <summary>Writes an element and its subtree.</summary>
    /// <param name="output">Where the bytes go.</param>
    /// <param name="element">The element.</param>
    /// <param name="parentNamespace">The namespace in scope; an <c>xmlns</c> declaration is written only when the element's namespace differs.</param>
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

        foreach (var child in element.Children)
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
    public static void WriteOpenTag(IBufferWriter<byte> output, string prefixedName, ReadOnlySpan<(string Prefix, string Uri)> namespaces, ReadOnlySpan<(string Name, string? Value)> attributes)
    {
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
        WriteRaw(output, "<");
        WriteRaw(output, element.Name);
        if (!string.Equals(element.Namespace, parentNamespace, StringComparison.Ordinal))
        {
            WriteRaw(output, " xmlns=\"");
            WriteEscaped(output, element.Namespace, AttributeSpecials);
            WriteRaw(output, "\"");
        }

        foreach (var attribute in element.Attributes)
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

    /// <summary>Writes a string that needs no escaping (names and fixed markup).</summary>
    public static void WriteRaw(IBufferWriter<byte> output, string value)
    {
        var span = output.GetSpan(Encoding.UTF8.GetMaxByteCount(value.Length));
        output.Advance(Encoding.UTF8.GetBytes(value, span));
    }

    private static void WriteEscaped(IBufferWriter<byte> output, string value, SearchValues<char> specials)
    {
        var rest = value.AsSpan();
        while (!rest.IsEmpty)
        {
            var index = rest.IndexOfAny(specials);
            var plain = index < 0 ? rest : rest[..index];
            if (!plain.IsEmpty)
            {
                var span = output.GetSpan(Encoding.UTF8.GetMaxByteCount(plain.Length));
                output.Advance(Encoding.UTF8.GetBytes(plain, span));
            }

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
                _ => "&#13;",
            });
            rest = rest[(index + 1)..];
        }
    }
}
