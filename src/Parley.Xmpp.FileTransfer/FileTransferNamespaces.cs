namespace Parley.Xmpp.FileTransfer;

/// <summary>Namespace URIs of the file-transfer protocols.</summary>
public static class FileTransferNamespaces
{
    /// <summary>Stream initiation (XEP-0095).</summary>
    public const string StreamInitiation = "http://jabber.org/protocol/si";

    /// <summary>The SI file-transfer profile (XEP-0096).</summary>
    public const string FileTransferProfile = "http://jabber.org/protocol/si/profile/file-transfer";

    /// <summary>Feature negotiation (XEP-0020), which carries the stream-method form.</summary>
    public const string FeatureNegotiation = "http://jabber.org/protocol/feature-neg";

    /// <summary>SOCKS5 bytestreams (XEP-0065).</summary>
    public const string Bytestreams = "http://jabber.org/protocol/bytestreams";

    /// <summary>In-band bytestreams (XEP-0047).</summary>
    public const string InBandBytestreams = "http://jabber.org/protocol/ibb";

    /// <summary>Hashes (XEP-0300).</summary>
    public const string Hashes = "urn:xmpp:hashes:2";
}
