using System.Security.Cryptography;

namespace Parley.Xmpp.FileTransfer;

/// <summary>
/// Counts and hashes what a sender reads, and reports progress as bytes are acknowledged. Given the caller's
/// <paramref name="knownSha256"/>, it only counts and <see cref="Finish"/> returns that value.
/// </summary>
internal sealed class SendCounter(long size, IProgress<FileTransferProgress>? progress, string? knownSha256 = null)
{
    private readonly IncrementalHash? _hash = knownSha256 is null ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;
    private string? _finished = knownSha256;

    public long Size => size;

    public long Read { get; private set; }

    public long Acknowledged { get; private set; }

    /// <summary>Whether the bytes need hashing (no known hash).</summary>
    public bool NeedsHash => _hash is not null;

    /// <summary>Counts bytes read from the content, hashing them unless the hash is known.</summary>
    public void AddRead(ReadOnlySpan<byte> data)
    {
        _hash?.AppendData(data);
        Read += data.Length;
    }

    /// <summary>Counts bytes that went out without passing through this process (sendfile) and need no hashing.</summary>
    public void AddSentUnread(int bytes) => Read += bytes;

    public void Acknowledge(int bytes, FileTransferMethod method)
    {
        Acknowledged += bytes;
        progress?.Report(new FileTransferProgress(Acknowledged, size, method));
    }

    /// <summary>Reads exactly <paramref name="count"/> bytes of the content into the buffer and counts (and hashes) them.</summary>
    /// <exception cref="EndOfStreamException">The content ended first.</exception>
    public async ValueTask ReadBlockAsync(Stream content, byte[] buffer, int count, CancellationToken cancellationToken)
    {
        var read = await content.ReadAtLeastAsync(buffer.AsMemory(0, count), count, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        if (read < count)
        {
            throw new EndOfStreamException($"The content ended after {Read + read} of {size} bytes.");
        }

        AddRead(buffer.AsSpan(0, count));
    }

    /// <summary>The SHA-256 of every byte read, lower-case hex; the same value on every call.</summary>
    public string Finish()
    {
        if (_finished is null)
        {
            _finished = Convert.ToHexStringLower(_hash!.GetHashAndReset());
            _hash.Dispose();
        }

        return _finished;
    }
}
