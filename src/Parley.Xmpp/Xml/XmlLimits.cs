namespace Parley.Xmpp.Xml;

/// <summary>Hard limits on what the XML parser accepts from a peer. Exceeding one closes the connection with <c>policy-violation</c>.</summary>
public sealed record XmlLimits
{
    /// <summary>The largest stanza (top-level element) in bytes. Default 256 KiB.</summary>
    public int MaxStanzaBytes { get; init; } = 256 * 1024;

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
