using System.Text;
using Parley.Xmpp.Core;

namespace Parley.Xmpp.Xml;

/// <summary>
/// The stream element itself: its opening tag, whose namespace declarations stay in scope for the whole stream, and its
/// closing tag, which must repeat its name.
/// </summary>
internal sealed partial class XmlStreamParser
{
    private int _streamNamespaceCount;
    private byte[]? _streamQName;

    private XmppElement ParseHeader(ReadOnlySpan<byte> data, long offset, out bool selfClosing)
    {
        ValidateCharacters(data, offset);
        _namespaceCount = 0;
        _charCount = 0;
        var pos = 0;
        var header = ParseStartTag(data, ref pos, offset, depth: 0, out selfClosing, out var nameStart, out var nameLength, out _);
        ExpectEnd(data, pos, offset);
        if (header.Name != "stream")
        {
            throw Error($"The stream root element is <{header.Name}>, expected <stream:stream>", offset, "bad-format");
        }

        if (header.Namespace != XmppNamespaces.Streams)
        {
            throw Error($"The stream element is in namespace '{header.Namespace}', expected '{XmppNamespaces.Streams}'", offset, "invalid-namespace");
        }

        // The header's declarations stay in scope for the whole stream; keep copies of their prefixes.
        for (var i = 0; i < _namespaceCount; i++)
        {
            ref var binding = ref _namespaces[i];
            binding.Prefix = data.Slice(binding.PrefixStart, binding.PrefixLength).ToArray();
        }

        _streamNamespaceCount = _namespaceCount;
        _streamQName = data.Slice(nameStart, nameLength).ToArray();
        StreamNamespace = null;
        for (var i = _namespaceCount - 1; i >= 0; i--)
        {
            if (_namespaces[i].PrefixLength == 0)
            {
                StreamNamespace = _namespaces[i].Uri;
                break;
            }
        }

        return header;
    }

    private void ParseStreamEnd(ReadOnlySpan<byte> data, long offset)
    {
        ValidateCharacters(data, offset);
        var pos = 2;
        ParseName(data, ref pos, offset);
        var name = data[2..pos];
        if (_streamQName is null || !name.SequenceEqual(_streamQName))
        {
            throw Error($"Mismatched end tag </{Encoding.UTF8.GetString(name)}> for the stream element", offset);
        }

        SkipWhitespace(data, ref pos);
        ExpectByte(data, pos, (byte)'>', offset);
        ExpectEnd(data, pos + 1, offset);
    }
}
