using System.Buffers;

namespace Parley.Xmpp.Xml;

/// <summary>What <see cref="XmlStreamParser.TryRead"/> found.</summary>
internal enum XmlStreamEventKind
{
    /// <summary>The stream's opening tag; the element carries its attributes, no children.</summary>
    StreamHeader,
    /// <summary>A complete top-level element (a stanza or a stream-level element such as features).</summary>
    Element,
    /// <summary>The closing <c>&lt;/stream:stream&gt;</c>.</summary>
    StreamEnd,
}

/// <summary>
/// Incremental, limit-enforcing XML parser for one XMPP stream. Feed it the bytes read so far; it
/// returns whole top-level elements. CONTRACT (implementation pending in the XML work item):
/// <list type="bullet">
/// <item>On <see langword="true"/>, <c>buffer</c> is sliced past the bytes consumed.</item>
/// <item>On <see langword="false"/>, more bytes are needed and <c>buffer</c> is unchanged; the parser remembers how far it examined.</item>
/// <item>Malformed input, DTDs, entity declarations, processing instructions (other than the XML declaration at the start),
///   restricted characters, invalid UTF-8 and exceeded <see cref="XmlLimits"/> throw <see cref="XmppProtocolException"/>.</item>
/// <item>message/presence/iq in <c>jabber:client</c> or <c>jabber:component:accept</c> become <see cref="Stanzas.Message"/>,
///   <see cref="Stanzas.Presence"/> and <see cref="Stanzas.Iq"/>.</item>
/// </list>
/// </summary>
internal sealed class XmlStreamParser
{
    private readonly XmlLimits _limits;

    public XmlStreamParser(XmlLimits limits) => _limits = limits;

    /// <summary>The default namespace declared on the stream header (e.g. <c>jabber:client</c>), once the header was read.</summary>
    public string? StreamNamespace { get; private set; }

    public bool TryRead(ref ReadOnlySequence<byte> buffer, out XmlStreamEventKind kind, out XmppElement? element)
    {
        _ = _limits;
        StreamNamespace = null;
        throw new NotImplementedException("XmlStreamParser is being written.");
    }

    /// <summary>Forgets all state: a new stream starts (after STARTTLS or SASL success).</summary>
    public void Reset() => StreamNamespace = null;
}
