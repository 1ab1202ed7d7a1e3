namespace Parley.Xmpp.FileTransfer;

/// <summary>How the bytes of a file travel. More methods (HTTP upload) may be added later.</summary>
public enum FileTransferMethod
{
    /// <summary>SOCKS5 bytestreams (XEP-0065): a TCP connection, direct or through the server's proxy.</summary>
    Socks5Bytestreams,

    /// <summary>In-band bytestreams (XEP-0047): base64 blocks in IQs over the XMPP connection.</summary>
    InBandBytestreams,

    /// <summary>
    /// Jingle file transfer (XEP-0166/0234): the session negotiates SOCKS5 (XEP-0260) and falls back to in-band
    /// bytestreams (XEP-0261). Chosen over SI when the receiver announces it.
    /// </summary>
    Jingle,
}
