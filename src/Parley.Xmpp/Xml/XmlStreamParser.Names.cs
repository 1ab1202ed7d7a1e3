using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Parley.Xmpp.Xml;

/// <summary>Names: the name table, the recently parsed short names, QName parsing, and namespace declarations and prefixes in scope.</summary>
internal sealed partial class XmlStreamParser
{
    private const int RecentNameBits = 6;

    private readonly XmlNameTable _names = new();
    private NamespaceBinding[] _namespaces = new NamespaceBinding[8];
    private int _namespaceCount;
    private readonly RecentName?[] _recentNames = new RecentName?[1 << RecentNameBits];

    /// <summary>Whether and how an attribute value is shared through the name table.</summary>
    private enum Intern : byte
    {
        /// <summary>A new string every time (ids, stamps, values that rarely repeat).</summary>
        None,
        /// <summary>Looked up among the well-known names, then in the parser's cache (types, languages, namespaces).</summary>
        WellKnown,
        /// <summary>Looked up in the parser's cache only (addresses).</summary>
        Cached,
    }

    /// <summary>
    /// Whether the name at <paramref name="pos"/> is one of the short names parsed recently, recognized by its bytes and
    /// the byte after it in one 8-byte comparison, which then need neither parsing nor a name-table lookup.
    /// </summary>
    private bool TryRecentName(ReadOnlySpan<byte> data, int pos, [NotNullWhen(true)] out RecentName? recent)
    {
        if (data.Length - pos >= sizeof(ulong))
        {
            var bytes = BinaryPrimitives.ReadUInt64LittleEndian(data[pos..]);
            recent = _recentNames[RecentNameIndex(bytes)];
            if (recent is not null && (bytes & recent.Mask) == recent.Key)
            {
                return true;
            }
        }

        recent = null;
        return false;
    }

    /// <summary>
    /// Remembers a name of up to 7 bytes that <see cref="ParseName"/> accepted, with the ASCII byte after it (which ended
    /// it, so it is not a name character): the same bytes followed by the same byte are the same valid name again.
    /// </summary>
    private void RememberName(ReadOnlySpan<byte> data, int start, int length, int colon, string knownName)
    {
        // A non-ASCII byte after the name may start a character that is a name character in other bytes' company.
        if (length >= sizeof(ulong) || data.Length - start < sizeof(ulong) || data[start + length] >= 0x80)
        {
            return;
        }

        // The name and the byte after it: 2 to 8 bytes (a shift by 64 would be a shift by 0).
        var mask = length == sizeof(ulong) - 1 ? ulong.MaxValue : (1UL << ((length + 1) * 8)) - 1;
        var bytes = BinaryPrimitives.ReadUInt64LittleEndian(data[start..]);
        var name = data.Slice(start, length);
        string qname, localName;
        if (colon < 0)
        {
            qname = localName = knownName;
        }
        else
        {
            qname = _names.Get(name);
            localName = _names.Get(data[(colon + 1)..(start + length)]);
        }

        _recentNames[RecentNameIndex(bytes)] = new RecentName(bytes & mask, mask, length, colon < 0 ? -1 : colon - start, qname, localName);
    }

    /// <summary>
    /// The slot for a name, from the first four bytes at its start (for a shorter name they include the byte after it and
    /// what follows, usually the same again: '="' or "='").
    /// </summary>
    private static int RecentNameIndex(ulong bytes) => (int)((uint)bytes * 0x9E3779B1u >> (32 - RecentNameBits));

    /// <summary>
    /// Attributes whose values repeat from stanza to stanza: the type, the language, and the addresses (a client hears
    /// from a handful of peers and is always addressed the same way). Their strings are shared through the name table's
    /// cache instead of being allocated for every stanza; a value not cached costs what it did before.
    /// </summary>
    private static Intern InternedValueKind(string name)
        => ReferenceEquals(name, "from") || ReferenceEquals(name, "to") ? Intern.Cached
            : ReferenceEquals(name, "type") || ReferenceEquals(name, "xml:lang") ? Intern.WellKnown
            : Intern.None;

    private void Declare(ReadOnlySpan<byte> data, ref AttributeSlot attribute, long offset)
    {
        var uri = DecodeAttributeValue(data.Slice(attribute.ValueStart, attribute.ValueLength), offset + attribute.ValueStart, Intern.WellKnown, attribute.IsPlain);
        int prefixStart = 0, prefixLength = 0;
        if (attribute.Colon >= 0)
        {
            prefixStart = attribute.Colon + 1;
            prefixLength = attribute.NameStart + attribute.NameLength - prefixStart;
            var prefix = data.Slice(prefixStart, prefixLength);
            if (prefix.SequenceEqual("xmlns"u8))
            {
                throw Error("The prefix 'xmlns' must not be declared", offset + attribute.NameStart);
            }

            if (prefix.SequenceEqual("xml"u8))
            {
                if (uri != XmlChars.XmlNamespace)
                {
                    throw Error("The prefix 'xml' must not be bound to another namespace", offset + attribute.NameStart);
                }

                return;
            }

            if (uri.Length == 0)
            {
                throw Error($"The prefix '{Encoding.UTF8.GetString(prefix)}' is declared with an empty namespace", offset + attribute.NameStart);
            }
        }

        if (uri is XmlChars.XmlNamespace or "http://www.w3.org/2000/xmlns/")
        {
            throw Error($"The namespace '{uri}' must not be declared", offset + attribute.NameStart);
        }

        if (_namespaceCount == _namespaces.Length)
        {
            Array.Resize(ref _namespaces, _namespaceCount * 2);
        }

        _namespaces[_namespaceCount++] = new NamespaceBinding { PrefixStart = prefixStart, PrefixLength = prefixLength, Uri = uri };
    }

    private string ResolvePrefix(ReadOnlySpan<byte> data, int prefixStart, int prefixLength, long offset)
    {
        if (prefixLength == 0)
        {
            for (var i = _namespaceCount - 1; i >= 0; i--)
            {
                if (_namespaces[i].PrefixLength == 0)
                {
                    return _namespaces[i].Uri;
                }
            }

            return string.Empty;
        }

        var prefix = data.Slice(prefixStart, prefixLength);
        if (prefix.SequenceEqual("xml"u8))
        {
            return XmlChars.XmlNamespace;
        }

        for (var i = _namespaceCount - 1; i >= 0; i--)
        {
            ref var binding = ref _namespaces[i];
            if (binding.PrefixLength == prefixLength
                && (binding.Prefix is { } owned ? owned.AsSpan() : data.Slice(binding.PrefixStart, binding.PrefixLength)).SequenceEqual(prefix))
            {
                return binding.Uri;
            }
        }

        throw Error($"The namespace prefix '{Encoding.UTF8.GetString(prefix)}' is not declared", offset + prefixStart);
    }

    /// <summary>Parses an XML name (QName); returns the index of its colon, or -1.</summary>
    private int ParseName(ReadOnlySpan<byte> data, ref int pos, long offset)
    {
        var classes = XmlChars.ByteNameClasses;
        var start = pos;
        var colon = -1;
        if (pos < data.Length && (classes[data[pos]] & XmlChars.ByteNameStart) != 0)
        {
            pos++;
        }
        else if (!TryNameChar(data, ref pos, start: true))
        {
            throw pos >= data.Length
                ? Error("Unexpected end of input where a name was expected", offset + pos)
                : Error($"Invalid character in a name (byte 0x{data[pos]:X2})", offset + pos);
        }

        while (pos < data.Length)
        {
            var b = data[pos];
            var kind = classes[b];
            if ((kind & XmlChars.ByteNameChar) != 0)
            {
                pos++;
            }
            else if (b == ':')
            {
                if (colon >= 0)
                {
                    throw Error("A name contains more than one colon", offset + pos);
                }

                colon = pos++;
                if (!TryNameChar(data, ref pos, start: true))
                {
                    throw Error("Invalid local name after a colon", offset + pos);
                }
            }
            else if (kind != XmlChars.ByteNonAscii || !TryNameChar(data, ref pos, start: false))
            {
                break;
            }
        }

        if (pos - start > _limits.MaxNameLength)
        {
            throw LimitError($"A name is longer than the limit of {_limits.MaxNameLength} bytes", offset + start);
        }

        return colon;
    }

    private static bool TryNameChar(ReadOnlySpan<byte> data, ref int pos, bool start)
    {
        if (pos >= data.Length)
        {
            return false;
        }

        var b = data[pos];
        if (b < 0x80)
        {
            if (start ? XmlChars.IsAsciiNameStart(b) : XmlChars.IsAsciiNameChar(b))
            {
                pos++;
                return true;
            }

            return false;
        }

        // The item was validated as UTF-8 before parsing, so decoding cannot fail here.
        Rune.DecodeFromUtf8(data[pos..], out var rune, out var length);
        if (start ? XmlChars.IsNameStartChar(rune.Value) : XmlChars.IsNameChar(rune.Value))
        {
            pos += length;
            return true;
        }

        return false;
    }

    private struct NamespaceBinding
    {
        /// <summary>For stream-level bindings: a copy of the prefix. Otherwise <see langword="null"/> and the prefix is in the item.</summary>
        public byte[]? Prefix;
        public int PrefixStart;
        public int PrefixLength;
        public string Uri;
    }

    /// <summary>A short name seen recently: its bytes and the byte after it (<see cref="Key"/> under <see cref="Mask"/>).</summary>
    private sealed record RecentName(ulong Key, ulong Mask, int Length, int Colon, string QName, string LocalName);
}
