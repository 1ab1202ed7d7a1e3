using System.Buffers;

namespace Parley.Xmpp.Xml;

/// <summary>
/// The scanner: finds where the current item ends, one byte at a time across reads, tracking only what it takes to know
/// that (quotes, depth, CDATA, comments refused) and nothing the tree builder will parse again.
/// </summary>
internal sealed partial class XmlStreamParser
{
    private static readonly SearchValues<byte> StartTagStops = SearchValues.Create("\"'/<>"u8);
    private static ReadOnlySpan<byte> CDataOpen => "[CDATA["u8;

    private byte _quote;
    private int _matched;

    /// <summary>
    /// Advances the scanner over the bytes of the current item not examined yet. Returns true when the item is complete
    /// (its length is then <see cref="_scanned"/>), false when more bytes are needed.
    /// </summary>
    private bool Scan(in ReadOnlySequence<byte> buffer)
    {
        if (buffer.IsSingleSegment)
        {
            return ScanSpan(buffer.FirstSpan[_scanned..]);
        }

        foreach (var memory in buffer.Slice(_scanned))
        {
            if (ScanSpan(memory.Span))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Scans the next bytes of the item; the hot states keep their state in locals and write it back on exit.</summary>
    private bool ScanSpan(ReadOnlySpan<byte> span)
    {
        var spanStart = _scanned;
        var state = _state;
        var depth = _depth;
        var i = 0;
        while (i < span.Length)
        {
            int index;
            var complete = false;
            switch (state)
            {
                case ScanState.Content:
                    index = span[i..].IndexOf((byte)'<');
                    if (index < 0)
                    {
                        i = span.Length;
                        break;
                    }

                    i += index + 1;
                    state = ScanState.TagOpen;
                    break;

                case ScanState.TagOpen:
                    var next = span[i];
                    if (_item == ItemKind.Element && next == '/')
                    {
                        i++;
                        state = ScanState.EndTag;
                    }
                    else if (_item == ItemKind.Element && next != '!' && next != '?')
                    {
                        if (depth >= _limits.MaxDepth)
                        {
                            RefuseTooDeep();
                        }

                        i++;
                        state = ScanState.StartTag;
                    }
                    else
                    {
                        _depth = depth;
                        i = ScanTagOpen(next, i + 1, spanStart);
                        state = _state;
                    }

                    break;

                case ScanState.StartTag:
                    index = span[i..].IndexOfAny(StartTagStops);
                    if (index < 0)
                    {
                        i = span.Length;
                        break;
                    }

                    i += index + 1;
                    switch (span[i - 1])
                    {
                        case (byte)'"' or (byte)'\'':
                            _quote = span[i - 1];
                            state = ScanState.AttributeValue;
                            break;
                        case (byte)'/':
                            state = ScanState.TagSlash;
                            break;
                        case (byte)'<':
                            throw Error("'<' inside a tag", _offset + spanStart + i - 1);
                        default:
                            if (_item == ItemKind.Header)
                            {
                                complete = true;
                            }
                            else
                            {
                                depth++;
                                state = ScanState.Content;
                            }

                            break;
                    }

                    break;

                case ScanState.TagSlash:
                    if (span[i++] != '>')
                    {
                        throw Error("Expected '>' after '/' in a tag", _offset + spanStart + i - 1);
                    }

                    complete = _item == ItemKind.Header || depth == 0;
                    state = ScanState.Content;
                    break;

                case ScanState.AttributeValue:
                    index = span[i..].IndexOfAny(_quote, (byte)'<');
                    if (index < 0)
                    {
                        i = span.Length;
                        break;
                    }

                    i += index + 1;
                    if (span[i - 1] == '<')
                    {
                        throw Error("'<' in an attribute value", _offset + spanStart + i - 1);
                    }

                    state = ScanState.StartTag;
                    break;

                case ScanState.EndTag:
                    index = span[i..].IndexOfAny((byte)'>', (byte)'<');
                    if (index < 0)
                    {
                        i = span.Length;
                        break;
                    }

                    i += index + 1;
                    if (span[i - 1] == '<')
                    {
                        throw Error("'<' inside an end tag", _offset + spanStart + i - 1);
                    }

                    complete = _item == ItemKind.StreamEnd || --depth == 0;
                    state = ScanState.Content;
                    break;

                default:
                    _state = state;
                    _depth = depth;
                    i = ScanRare(span, i, spanStart);
                    if (i < 0)
                    {
                        i = ~i;
                        complete = true;
                    }

                    state = _state;
                    break;
            }

            if (complete)
            {
                _state = state;
                _depth = depth;
                return Complete(spanStart + i);
            }
        }

        _state = state;
        _depth = depth;
        BytesScanned += span.Length;
        _scanned = spanStart + span.Length;
        CheckSize(_scanned);
        return false;
    }

    /// <summary>One step in a CDATA section, after "&lt;!" or in the XML declaration; returns the next index, or its complement when the item is complete.</summary>
    private int ScanRare(ReadOnlySpan<byte> span, int i, int spanStart)
    {
        switch (_state)
        {
            case ScanState.Bang:
                ScanBang(span[i], _offset + spanStart + i);
                return i + 1;

            case ScanState.CData:
                if (_matched == 0)
                {
                    var index = span[i..].IndexOf((byte)']');
                    if (index < 0)
                    {
                        return span.Length;
                    }

                    _matched = 1;
                    return i + index + 1;
                }

                var b = span[i];
                if (b == ']')
                {
                    _matched = 2;
                }
                else if (b == '>' && _matched == 2)
                {
                    _state = ScanState.Content;
                    _matched = 0;
                }
                else
                {
                    _matched = 0;
                }

                return i + 1;

            default:
                // XML declaration: ends at "?>"; _matched remembers a '?' seen at the end of the previous read.
                var c = span[i];
                if (c == '>' && _matched == 1)
                {
                    return ~(i + 1);
                }

                if (c == '<')
                {
                    throw Error("'<' inside the XML declaration", _offset + spanStart + i);
                }

                _matched = c == '?' ? 1 : 0;
                return i + 1;
        }
    }

    private bool Complete(int length)
    {
        BytesScanned += length - _scanned;
        _scanned = length;
        CheckSize(length);
        return true;
    }

    /// <summary>Handles the byte after a '&lt;'; returns the index to continue at.</summary>
    private int ScanTagOpen(byte b, int next, int spanStart)
    {
        // Errors point at the '<' that opened the tag, as those for comments and DOCTYPEs do; it may be in an earlier read.
        var offset = _offset + spanStart + next - 2;
        if (_item == ItemKind.Unclassified)
        {
            _item = b switch
            {
                (byte)'/' when _phase == Phase.InStream => ItemKind.StreamEnd,
                (byte)'/' => throw Error("An end tag before the stream header", offset),
                (byte)'?' when _declarationAllowed => ItemKind.Declaration,
                (byte)'?' => throw Error("Processing instructions are not allowed in XMPP", offset, "restricted-xml"),
                (byte)'!' => ItemKind.Element,
                _ when _phase == Phase.InStream => ItemKind.Element,
                _ => ItemKind.Header,
            };
            _declarationAllowed = false;
        }

        switch (b)
        {
            case (byte)'/':
                _state = ScanState.EndTag;
                break;
            case (byte)'!':
                _state = ScanState.Bang;
                _matched = 0;
                break;
            case (byte)'?':
                if (_item != ItemKind.Declaration)
                {
                    throw Error("Processing instructions are not allowed in XMPP", offset, "restricted-xml");
                }

                _state = ScanState.Declaration;
                _matched = 0;
                break;
            default:
                if (_item == ItemKind.Element && _depth >= _limits.MaxDepth)
                {
                    RefuseTooDeep();
                }

                _state = ScanState.StartTag;
                break;
        }

        return next;
    }

    /// <summary>Matches "&lt;![CDATA[" one byte at a time (it may be split between reads); everything else after "&lt;!" is refused.</summary>
    private void ScanBang(byte b, long offset)
    {
        if (_matched == 0)
        {
            if (b == '-')
            {
                throw Error("Comments are not allowed in XMPP", offset - 2, "restricted-xml");
            }

            if (b is >= (byte)'A' and <= (byte)'Z')
            {
                throw Error("Document type and entity declarations (<!DOCTYPE, <!ENTITY) are not allowed in XMPP", offset - 2, "restricted-xml");
            }

            if (_depth == 0)
            {
                throw Error("A CDATA section is not allowed between top-level elements", offset - 2);
            }
        }

        if (b != CDataOpen[_matched])
        {
            throw Error("Malformed markup after '<!'", offset - 2 - _matched);
        }

        if (++_matched == CDataOpen.Length)
        {
            _state = ScanState.CData;
            _matched = 0;
        }
    }
}
