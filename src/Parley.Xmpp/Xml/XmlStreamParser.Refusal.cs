using System.Buffers;
using Parley.Xmpp.Core;

namespace Parley.Xmpp.Xml;

/// <summary>
/// Refusing a stanza that breaks a per-stanza limit without closing the stream. The scanner has already found where
/// the stanza ends, so skipping it keeps the stream in step; only the stanza's envelope is read, so that its sender can
/// be told why.
/// </summary>
internal sealed partial class XmlStreamParser
{
    // A JID is at most 3071 bytes (RFC 7622 §3.1); an id or type longer than that is not worth answering.
    private const int MaxEnvelopeValueBytes = 3072;
    private const int MaxEnvelopeRootNameLength = 64;
    private const int MaxEnvelopeAttributes = 16;

    private static readonly SearchValues<byte> NameEnd = SearchValues.Create(" \t\r\n/>="u8);

    // Why the current item is refused, once a limit check failed; null while it is within the limits. It stays set after
    // the item was returned as refused, until the next item starts.
    private string? _refusal;

    /// <summary>After a <see cref="XmlStreamEventKind.Refused"/> event: which limit the element broke.</summary>
    public string? RefusalReason => _refusal;

    /// <summary>Builds the complete stanza in <paramref name="data"/>, or refuses it when it breaks a per-stanza limit.</summary>
    private XmppElement? ReadStanza(ReadOnlySpan<byte> data, long offset, out XmlStreamEventKind kind)
    {
        if (_refusal is null)
        {
            try
            {
                kind = XmlStreamEventKind.Element;
                return ParseStanza(data, offset);
            }
            catch (XmppProtocolException) when (_refusal is not null)
            {
                // The builder stopped at a limit, not at malformed XML; ParseStanza validated the characters first.
            }
        }
        else
        {
            // Invalid UTF-8 or a forbidden character means a broken stream, refused stanza or not.
            ValidateCharacters(data, offset);
        }

        kind = XmlStreamEventKind.Refused;
        return ReadEnvelope(data, offset);
    }

    /// <summary>Notes that the item is nested deeper than allowed; the scanner goes on to find its end.</summary>
    private void RefuseTooDeep() => _refusal ??= $"Elements are nested deeper than the limit of {_limits.MaxDepth}";

    /// <summary>Checks the bytes of the current item buffered so far against the size limits.</summary>
    private void CheckSize(int length)
    {
        if (length <= _limits.MaxStanzaBytes)
        {
            return;
        }

        if (_item == ItemKind.Header)
        {
            throw Error($"The stream header is larger than the limit of {_limits.MaxStanzaBytes} bytes", _offset, "policy-violation");
        }

        // Only a stanza can be skipped; a declaration or the stream's end tag this long is no XMPP peer's.
        if (_item != ItemKind.Element || length > _maxSkippedBytes)
        {
            var limit = _item == ItemKind.Element ? _maxSkippedBytes : _limits.MaxStanzaBytes;
            throw Error($"A top-level element is larger than the limit of {limit} bytes", _offset, "policy-violation");
        }

        _refusal ??= $"The stanza is larger than the limit of {_limits.MaxStanzaBytes} bytes";
    }

    /// <summary>A per-stanza limit found by the builder: refuses the stanza, or closes the stream when it is the header.</summary>
    private XmppProtocolException LimitError(string message, long offset)
    {
        _refusal ??= message;
        return Error(message, offset, "policy-violation");
    }

    /// <summary>
    /// The refused stanza's root with only its addressing attributes, parsed by the strict builder from a bounded copy of
    /// its start tag; null when that start tag cannot be read (then there is no one to answer).
    /// </summary>
    private XmppElement? ReadEnvelope(ReadOnlySpan<byte> data, long offset)
    {
        var envelope = new ArrayBufferWriter<byte>(256);
        if (!TryCopyEnvelope(data, envelope))
        {
            return null;
        }

        var refusal = _refusal;
        try
        {
            return BuildStanza(envelope.WrittenSpan, offset, out _);
        }
        catch (XmppProtocolException)
        {
            return null;
        }
        finally
        {
            _refusal = refusal;
        }
    }

    /// <summary>
    /// Writes a self-closing copy of the root start tag that keeps from, to, id, type, xml:lang and namespace declarations.
    /// The scan is lenient: the scanner has checked the quoting, and the builder checks the copy.
    /// </summary>
    private static bool TryCopyEnvelope(ReadOnlySpan<byte> data, ArrayBufferWriter<byte> output)
    {
        var nameLength = data[1..].IndexOfAny(NameEnd);
        if (nameLength <= 0 || nameLength > MaxEnvelopeRootNameLength)
        {
            return false;
        }

        output.Write(data[..(nameLength + 1)]);
        var pos = nameLength + 1;
        var kept = 0;
        while (true)
        {
            SkipWhitespace(data, ref pos);
            if (pos >= data.Length)
            {
                return false;
            }

            if (data[pos] is (byte)'>' or (byte)'/')
            {
                output.Write("/>"u8);
                return true;
            }

            var attributeLength = data[pos..].IndexOfAny(NameEnd);
            if (attributeLength <= 0)
            {
                return false;
            }

            var name = data.Slice(pos, attributeLength);
            pos += attributeLength;
            SkipWhitespace(data, ref pos);
            if (pos + 1 >= data.Length || data[pos] != '=')
            {
                return false;
            }

            pos++;
            SkipWhitespace(data, ref pos);
            if (pos >= data.Length || data[pos] is not ((byte)'"' or (byte)'\''))
            {
                return false;
            }

            var valueLength = data[(pos + 1)..].IndexOf(data[pos]);
            if (valueLength < 0)
            {
                return false;
            }

            var quoted = data.Slice(pos, valueLength + 2);
            pos += valueLength + 2;
            if (valueLength <= MaxEnvelopeValueBytes && kept < MaxEnvelopeAttributes && IsEnvelopeAttribute(name))
            {
                output.Write(" "u8);
                output.Write(name);
                output.Write("="u8);
                output.Write(quoted);
                kept++;
            }
        }
    }

    private static bool IsEnvelopeAttribute(ReadOnlySpan<byte> name)
        => name.SequenceEqual("from"u8) || name.SequenceEqual("to"u8) || name.SequenceEqual("id"u8) || name.SequenceEqual("type"u8)
            || name.SequenceEqual("xml:lang"u8) || name.SequenceEqual("xmlns"u8) || name.StartsWith("xmlns:"u8);
}
