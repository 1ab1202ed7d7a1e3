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

    /// <summary>Jingle (XEP-0166).</summary>
    public const string Jingle = "urn:xmpp:jingle:1";

    /// <summary>Jingle error conditions (XEP-0166).</summary>
    public const string JingleErrors = "urn:xmpp:jingle:errors:1";

    /// <summary>Jingle file transfer, version 5 (XEP-0234).</summary>
    public const string JingleFileTransfer = "urn:xmpp:jingle:apps:file-transfer:5";

    /// <summary>The Jingle SOCKS5 bytestreams transport (XEP-0260).</summary>
    public const string JingleS5b = "urn:xmpp:jingle:transports:s5b:1";

    /// <summary>The Jingle in-band bytestreams transport (XEP-0261).</summary>
    public const string JingleIbb = "urn:xmpp:jingle:transports:ibb:1";
}
