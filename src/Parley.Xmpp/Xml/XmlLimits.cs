namespace Parley.Xmpp.Xml;

/// <summary>
/// Limits on what the XML parser accepts from a peer. A stanza that breaks a per-stanza limit is refused on its own: it
/// is skipped, its sender gets a <c>policy-violation</c> error and the connection stays up. Only malformed XML, an oversize
/// stream header or a top-level element over <see cref="MaxSkippedStanzaBytes"/> closes the connection.
/// </summary>
/// <remarks>
/// A server forwards whatever its own users may send, so one hostile account must not be able to cost the application its
/// session: the per-stanza limits protect the application, the hard cap protects the connection.
/// </remarks>
public sealed record XmlLimits
{
    /// <summary>The largest stanza accepted, in bytes. Default 256 KiB.</summary>
    public int MaxStanzaBytes { get; init; } = 256 * 1024;

    /// <summary>
    /// The largest top-level element that is refused and skipped rather than closing the connection, in bytes; it is
    /// buffered whole while it arrives. Default 4 MiB: Prosody and ejabberd forward stanzas of up to 512 KiB from other
    /// servers by default, and re-serialized for us one can grow six-fold (every <c>'</c> in text written as
    /// <c>&amp;apos;</c>). Never less than <see cref="MaxStanzaBytes"/>.
    /// </summary>
    public int MaxSkippedStanzaBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>The deepest element nesting inside a stanza. Default 32.</summary>
    public int MaxDepth { get; init; } = 32;

    /// <summary>The most attributes on one element. Default 64.</summary>
    public int MaxAttributes { get; init; } = 64;

    /// <summary>The longest attribute value in characters. Default 16 KiB.</summary>
    public int MaxAttributeLength { get; init; } = 16 * 1024;

    /// <summary>The longest element or attribute name in bytes. Default 256.</summary>
    public int MaxNameLength { get; init; } = 256;

    /// <summary>The defaults.</summary>
    public static XmlLimits Default { get; } = new();
}
