using Parley.Xmpp.Stanzas;

namespace Parley.Xmpp.FileTransfer;

/// <summary>Options of one send.</summary>
public sealed class FileSendOptions
{
    /// <summary>
    /// The methods allowed, in order of preference; default Jingle, SOCKS5, in-band. With <see cref="FileTransferMethod.Jingle"/>
    /// listed, a receiver announcing Jingle file transfer gets a Jingle session (over the bytestreams listed, or both when none
    /// is); SI (XEP-0096) offers the bytestreams listed, of which the receiver picks one; with
    /// <see cref="FileTransferMethod.HttpUpload"/> listed the file is uploaded and a link sent. Jingle, SI and HTTP upload are
    /// tried in the order they first appear; a method the receiver does not announce is skipped (SI is still tried when
    /// nothing later is listed), and when one fails (declined, no connection, timeout…) the next is tried.
    /// Each step is logged and kept in <see cref="FileTransferResult.Attempts"/>.
    /// </summary>
    public IReadOnlyList<FileTransferMethod> Methods { get; init; } = [FileTransferMethod.Jingle, FileTransferMethod.Socks5Bytestreams, FileTransferMethod.InBandBytestreams];

    /// <summary>The file's last modification time, sent in Jingle offers (XEP-0234 &lt;date/&gt;).</summary>
    public DateTimeOffset? LastModified { get; init; }

    /// <summary>A description shown to the receiver.</summary>
    public string? Description { get; init; }

    /// <summary>The MIME type offered; default <c>application/octet-stream</c>.</summary>
    public string? MimeType { get; init; }

    /// <summary>
    /// Whether the receiver gets the file's SHA-256 (XEP-0300) to verify it against. Default true.
    /// <list type="bullet">
    /// <item>Jingle (XEP-0234): the offer announces the hash with <c>&lt;hash-used/&gt;</c>, the sender hashes the bytes as
    /// it sends them and sends the value in a <c>&lt;checksum/&gt;</c> session-info after the last byte: the content is
    /// read once. <see cref="JingleHashInOffer"/> puts the value in the offer instead. A Jingle offer always announces a
    /// hash (XEP-0234 §4), so <see langword="false"/> behaves like the default there.</item>
    /// <item>SI (XEP-0096): the hash is in the offer, so the content is read and hashed once more before the offer
    /// (only for seekable content; only when an SI offer is made).</item>
    /// </list>
    /// With <see cref="Sha256"/> set, that value is offered whatever this says (it costs no pass over the content).
    /// </summary>
    public bool IncludeHash { get; init; } = true;

    /// <summary>
    /// Whether a Jingle offer carries the SHA-256 itself instead of <c>&lt;hash-used/&gt;</c> and a <c>&lt;checksum/&gt;</c>
    /// after the data: for receivers that only check a hash given in the offer. The content is then read and hashed
    /// once more before the offer (about doubling the sender's CPU per byte); only for seekable content with
    /// <see cref="IncludeHash"/>, otherwise the checksum follows the data as by default. Default false.
    /// </summary>
    public bool JingleHashInOffer { get; init; }

    /// <summary>
    /// The content's SHA-256 when the caller already knows it (computed when the file was made or fetched): 64 hexadecimal
    /// digits, upper or lower case (results carry it in lower case). The sender then does not hash the bytes at all: SI and
    /// Jingle offers carry this value (no pass before the offer, no <c>&lt;hash-used/&gt;</c>/<c>&lt;checksum/&gt;</c>),
    /// nothing is hashed beside sendfile or in the copy loops, and <see cref="FileTransferResult.Sha256"/> is this value.
    /// <para>
    /// The sender does not re-verify it: a wrong value makes the receiver reject the file (its own hash check). A Jingle
    /// send then fails with <see cref="FileTransferError.HashMismatch"/> and no other method is tried, as it would carry
    /// the same value; an SI send fails with <see cref="FileTransferError.HashMismatch"/> in-band (the receiver refuses the
    /// &lt;close/&gt;) and with <see cref="FileTransferError.StreamFailed"/> over SOCKS5 (it resets the connection). Set, it
    /// wins over <see cref="IncludeHash"/> = false: offering a known hash costs nothing. Default null (the sender computes
    /// the hash).
    /// </para>
    /// </summary>
    public string? Sha256 { get; init; }

    /// <summary>The type of the link message of <see cref="FileTransferMethod.HttpUpload"/>; default chat.</summary>
    public MessageType LinkMessageType { get; init; } = MessageType.Chat;

    /// <summary>
    /// Called after the upload and before the link message of <see cref="FileTransferMethod.HttpUpload"/> is sent, with the
    /// methods given up before (e.g. to tell the user why a link comes instead of the file).
    /// </summary>
    public Func<IReadOnlyList<FileTransferAttempt>, CancellationToken, ValueTask>? BeforeLinkAsync { get; init; }
}
