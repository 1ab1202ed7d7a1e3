using System.Net;
using Parley.Xmpp.Core;
using Parley.Xmpp.Upload;

namespace Parley.Xmpp.FileTransfer;

/// <summary>Options of a <see cref="FileTransferManager"/>. Validated when the manager is created.</summary>
public sealed class FileTransferOptions
{
    /// <summary>The largest in-band block size XEP-0047 allows.</summary>
    public const int MaxBlockSizeLimit = 65535;

    /// <summary>The in-band block size offered when sending; default 4096 (what libpurple offers).</summary>
    public int IbbBlockSize { get; set; } = 4096;

    /// <summary>The largest in-band block size accepted when receiving; larger offers are refused with resource-constraint. Default 65535.</summary>
    public int IbbMaxBlockSize { get; set; } = MaxBlockSizeLimit;

    /// <summary>
    /// How many in-band blocks may wait for their acknowledgement; default 8 (32 KiB of 4096-byte blocks), 1 is stop-and-wait.
    /// XEP-0047 lets a sender go on without the answers and recommends waiting only against servers' rate limits; with a
    /// few blocks in flight the server reads and writes several stanzas per wake-up, which halves its CPU per block and
    /// doubles the throughput through Prosody (see benchmarks/). Every answer is still awaited, in order, and the first
    /// error ends the stream.
    /// </summary>
    public int IbbWindow { get; set; } = 8;

    /// <summary>
    /// How long a sender waits for the answer to the in-band <c>&lt;close/&gt;</c>. Every block was acknowledged by then, so a
    /// missing answer (libpurple never sends one) still counts as delivered. Default 3 s.
    /// </summary>
    public TimeSpan IbbCloseTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>Whether a sender offers its own SOCKS5 streamhost (it listens for the receiver). Default true.</summary>
    public bool EnableDirectSocks5 { get; set; } = true;

    /// <summary>The address the direct streamhost listens on; default any IPv4 address.</summary>
    public IPAddress Socks5BindAddress { get; set; } = IPAddress.Any;

    /// <summary>The lowest port the direct streamhost may use; 0 with <see cref="Socks5PortMax"/> 0 means any free port.</summary>
    public int Socks5PortMin { get; set; }

    /// <summary>The highest port the direct streamhost may use.</summary>
    public int Socks5PortMax { get; set; }

    /// <summary>
    /// The addresses offered to receivers for the direct streamhost, in order (e.g. the public address of a NAT
    /// with the port forwarded). Empty: the bind address, or every IPv4 address of the machine's interfaces when bound to any.
    /// </summary>
    public IList<string> Socks5AdvertisedHosts { get; } = [];

    /// <summary>Whether a sender offers the server's SOCKS5 proxy, found through disco. Default true.</summary>
    public bool UseServerProxy { get; set; } = true;

    /// <summary>A SOCKS5 proxy to use instead of discovering one.</summary>
    public Jid? Socks5Proxy { get; set; }

    /// <summary>How long a receiver tries each offered streamhost; default 5 s.</summary>
    public TimeSpan StreamhostConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a sender waits for the receiver to accept or decline, and for a streamhost to be chosen; default 120 s.</summary>
    public TimeSpan NegotiationTimeout { get; set; } = TimeSpan.FromSeconds(120);

    /// <summary>
    /// How long a receiver waits, after accepting, for the sender to open a stream — and after every SOCKS5 streamhost
    /// failed, for the in-band fallback with the same stream id (libpurple waits ~30 s the same way). Default 30 s.
    /// </summary>
    public TimeSpan IncomingStreamTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a Jingle sender waits, after the last byte, for the receiver to confirm the file (<c>&lt;received/&gt;</c> or
    /// session-terminate). Without a confirmation the send fails with <see cref="FileTransferError.Timeout"/>: the receiver
    /// took the bytes but, as far as we can tell, kept no file. Default 15 s.
    /// </summary>
    public TimeSpan JingleConfirmationTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How long a Jingle receiver waits, after the last byte of an offer that announced its hash with
    /// <c>&lt;hash-used/&gt;</c>, for the sender's <c>&lt;checksum/&gt;</c>. The file is only verified and moved into place
    /// once it came; without it the transfer fails with <see cref="FileTransferError.Timeout"/> and the temporary file is
    /// deleted. Default 15 s.
    /// </summary>
    public TimeSpan JingleChecksumTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long a stream may stay silent before the transfer fails; default 60 s.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long the incoming policy may take to decide; default 30 s (other stanzas are handled meanwhile; the offer is answered when it decides).</summary>
    public TimeSpan PolicyTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Offers larger than this are declined before the policy sees them; default 16 GiB.</summary>
    public long MaxIncomingFileSize { get; set; } = 16L << 30;

    /// <summary>How many incoming transfers may run at once; more offers are declined. Default 16.</summary>
    public int MaxConcurrentIncoming { get; set; } = 16;

    /// <summary>
    /// The buffer of a stream copy; default 2 MiB. A receiver holds up to four (one is received into while the others are
    /// hashed and written; a smaller file gets fewer and smaller ones), a sender of a stream that is not a file one; a file
    /// is sent with sendfile and read for its hash in 256 KiB blocks. Memory per transfer stays at about four times this
    /// size on the receiving side. Large buffers mean few hand-overs between the receiving, hashing and writing threads
    /// and large disk writes: on the benchmark VM a 1 GB file went faster with 2 MiB than with 512 KiB in paired runs
    /// (1.26 s against 1.38 s).
    /// </summary>
    public int BufferSize { get; set; } = 2 << 20;

    /// <summary>
    /// On Linux, received files of 4 MiB or more are written with O_DIRECT (default true): from the receive buffers to the
    /// disk, without a copy into the page cache, which on some hosts costs more CPU than receiving and hashing together.
    /// The received file is then not in the page cache (a program that reads it right away reads the disk), and the transfer
    /// is no faster than the disk writes. Where the file system refuses O_DIRECT, or elsewhere, files are written normally.
    /// </summary>
    public bool DirectFileWrites { get; set; } = true;

    /// <summary>Settings of <see cref="FileTransferMethod.HttpUpload"/> (service, PUT timeout).</summary>
    public HttpUploadOptions HttpUpload { get; set; } = new();

    /// <summary>
    /// The HTTP client for the PUT of <see cref="FileTransferMethod.HttpUpload"/> (not disposed by the manager); set its
    /// <see cref="System.Net.Http.HttpClient.Timeout"/> to infinite, <see cref="HttpUploadOptions.PutTimeout"/> applies. When
    /// <see langword="null"/> the manager creates one that trusts the system's certificate authorities.
    /// </summary>
    public HttpClient? HttpClient { get; set; }

    /// <summary>The methods accepted when receiving, in order of preference; default SOCKS5 then in-band.</summary>
    public IList<FileTransferMethod> ReceiveMethods { get; } = [FileTransferMethod.Socks5Bytestreams, FileTransferMethod.InBandBytestreams];

    internal void Validate()
    {
        if (IbbBlockSize is < 1 or > MaxBlockSizeLimit)
        {
            throw new ArgumentOutOfRangeException(nameof(IbbBlockSize), IbbBlockSize, $"The block size must be 1..{MaxBlockSizeLimit}.");
        }

        if (IbbMaxBlockSize is < 1 or > MaxBlockSizeLimit)
        {
            throw new ArgumentOutOfRangeException(nameof(IbbMaxBlockSize), IbbMaxBlockSize, $"The maximum block size must be 1..{MaxBlockSizeLimit}.");
        }

        if (IbbWindow is < 1 or > 64)
        {
            throw new ArgumentOutOfRangeException(nameof(IbbWindow), IbbWindow, "The window must be 1..64 blocks.");
        }

        if (Socks5PortMin is < 0 or > 65535 || Socks5PortMax is < 0 or > 65535 || Socks5PortMax < Socks5PortMin)
        {
            throw new ArgumentOutOfRangeException(nameof(Socks5PortMin), $"The port range {Socks5PortMin}..{Socks5PortMax} is invalid.");
        }

        if (BufferSize is < 512 or > 16 << 20)
        {
            throw new ArgumentOutOfRangeException(nameof(BufferSize), BufferSize, "The buffer size must be 512 bytes..16 MiB.");
        }

        if (MaxIncomingFileSize < 0 || MaxConcurrentIncoming < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxIncomingFileSize), "The incoming limits must be positive.");
        }

        ArgumentNullException.ThrowIfNull(Socks5BindAddress);
        ArgumentNullException.ThrowIfNull(HttpUpload);
        foreach (var timeout in (ReadOnlySpan<TimeSpan>)[IbbCloseTimeout, JingleConfirmationTimeout, JingleChecksumTimeout, StreamhostConnectTimeout, NegotiationTimeout, IncomingStreamTimeout, IdleTimeout, PolicyTimeout])
        {
            if (timeout <= TimeSpan.Zero)
            {
                throw new ArgumentOutOfRangeException(nameof(IdleTimeout), timeout, "Every timeout must be positive.");
            }
        }
    }
}
