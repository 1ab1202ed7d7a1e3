namespace Parley.Xmpp.FileTransfer;

/// <summary>How the bytes of a file travel.</summary>
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

    /// <summary>
    /// An HTTP upload (XEP-0363) to the server's upload service, then a message whose body is the download URL and which
    /// carries it as <c>jabber:x:oob</c> (XEP-0066): clients show it as the file and most download it. Works for any client
    /// and for offline recipients, but nothing confirms the download. Used when listed in <see cref="FileSendOptions.Methods"/>,
    /// after the methods before it failed or were not supported.
    /// </summary>
    HttpUpload,
}
