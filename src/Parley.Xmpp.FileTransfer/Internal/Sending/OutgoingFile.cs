using System.Buffers;
using System.Security.Cryptography;

namespace Parley.Xmpp.FileTransfer;

/// <summary>
/// One file being sent, as every sender sees it: the content and where it started, its name and size, the caller's
/// options and progress, and the caller's SHA-256 (checked once, when the send starts).
/// </summary>
internal sealed class OutgoingFile
{
    private string? _offerHash;

    public OutgoingFile(Stream content, string name, long size, FileSendOptions options, string? knownSha256, IProgress<FileTransferProgress>? progress)
    {
        Content = content;
        Name = name;
        Size = size;
        Options = options;
        KnownSha256 = knownSha256;
        Progress = progress;
        Methods = [.. options.Methods.Distinct()];
        Start = content.CanSeek ? content.Position : -1;
    }

    public Stream Content { get; }

    public string Name { get; }

    public long Size { get; }

    public FileSendOptions Options { get; }

    /// <summary><see cref="FileSendOptions.Sha256"/> in lower case; null when the sender hashes the bytes itself.</summary>
    public string? KnownSha256 { get; }

    public IProgress<FileTransferProgress>? Progress { get; }

    /// <summary>The allowed methods, each once, in the caller's order.</summary>
    public FileTransferMethod[] Methods { get; }

    /// <summary>Where the content started (seekable content only; -1 otherwise).</summary>
    public long Start { get; }

    /// <summary><see cref="FileSendOptions.Sha256"/> in lower case, or null when not set.</summary>
    /// <exception cref="ArgumentException">It is not 64 hexadecimal digits.</exception>
    public static string? ParseKnownSha256(FileSendOptions? options)
    {
        if (options?.Sha256 is not { } value)
        {
            return null;
        }

        if (value.Length != 64 || !value.All(char.IsAsciiHexDigit))
        {
            throw new ArgumentException($"FileSendOptions.Sha256 must be 64 hexadecimal digits (a SHA-256); the {value.Length} characters given are not.", nameof(options));
        }

        return value.ToLowerInvariant();
    }

    /// <summary>A counter for one method's attempt: counts, hashes unless the hash is known, reports progress.</summary>
    public SendCounter NewCounter() => new(Size, Progress, KnownSha256);

    /// <summary>Puts seekable content back where it started, for the next method.</summary>
    public void Rewind()
    {
        if (Content.CanSeek)
        {
            Content.Position = Start;
        }
    }

    /// <summary>
    /// The hash for an offer that carries it (SI, or Jingle with <see cref="FileSendOptions.JingleHashInOffer"/>): the
    /// caller's, or one extra pass over seekable content, made only when such an offer is about to be sent, and once per
    /// send. Null when the hash is not to be offered or the content cannot be read twice.
    /// </summary>
    public async Task<string?> OfferHashAsync(CancellationToken cancellationToken)
    {
        if (KnownSha256 is not null)
        {
            return KnownSha256;
        }

        if (_offerHash is null && Options.IncludeHash && Content.CanSeek)
        {
            _offerHash = await HashAsync(cancellationToken).ConfigureAwait(false);
            Content.Position = Start;
        }

        return _offerHash;
    }

    private async Task<string> HashAsync(CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            var remaining = Size;
            while (remaining > 0)
            {
                var read = await Content.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, remaining)), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    throw new EndOfStreamException($"The content ended after {Size - remaining} of {Size} bytes.");
                }

                hash.AppendData(buffer, 0, read);
                remaining -= read;
            }

            return Convert.ToHexStringLower(hash.GetHashAndReset());
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
