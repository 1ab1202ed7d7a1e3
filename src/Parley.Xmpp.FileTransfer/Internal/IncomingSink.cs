using System.Security.Cryptography;

namespace Parley.Xmpp.FileTransfer;

/// <summary>
/// Where received bytes go: a temporary file in the destination folder, hashed on the fly, moved into place only
/// when the size (and the hash, when one was offered) match.
/// </summary>
internal sealed class IncomingSink : IAsyncDisposable
{
    /// <summary>From this size on a chunk is hashed while it is written; below it, handing the write off costs more than it saves.</summary>
    private const int ConcurrentHashThreshold = 32 * 1024;

    private readonly FileStream _file;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly string _folder;
    private readonly string _name;
    private readonly long _size;
    private readonly IProgress<FileTransferProgress>? _progress;
    private readonly FileTransferMethod _method;
    private bool _closed;

    private IncomingSink(FileStream file, string tempPath, string folder, string name, long size, IProgress<FileTransferProgress>? progress, FileTransferMethod method)
    {
        _file = file;
        TempPath = tempPath;
        _folder = folder;
        _name = name;
        _size = size;
        _progress = progress;
        _method = method;
    }

    public string TempPath { get; }

    public long Written { get; private set; }

    public string? Sha256 { get; private set; }

    public static IncomingSink Create(string folder, string name, long size, IProgress<FileTransferProgress>? progress, FileTransferMethod method)
    {
        var temp = Path.Combine(folder, "." + name + "." + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)) + ".part");
        var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0, FileOptions.Asynchronous);
        return new IncomingSink(file, temp, folder, name, size, progress, method);
    }

    /// <exception cref="FileTransferException">More bytes than offered (<see cref="FileTransferError.SizeMismatch"/>).</exception>
    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        if (data.Length > _size - Written)
        {
            throw new FileTransferException(FileTransferError.SizeMismatch, $"The peer sent more than the {_size} bytes it offered.");
        }

        if (data.Length >= ConcurrentHashThreshold)
        {
            // The write runs on the thread pool (Unix) while this thread hashes the same bytes.
            var write = _file.WriteAsync(data, cancellationToken);
            _hash.AppendData(data.Span);
            await write.ConfigureAwait(false);
        }
        else
        {
            await _file.WriteAsync(data, cancellationToken).ConfigureAwait(false);
            _hash.AppendData(data.Span);
        }

        Written += data.Length;
        _progress?.Report(new FileTransferProgress(Written, _size, _method));
    }

    /// <summary>Checks size and hash, then moves the file into place under a name not yet taken. Returns the path.</summary>
    /// <exception cref="FileTransferException">Size or hash mismatch; the temporary file is deleted.</exception>
    public async Task<string> CompleteAsync(string? expectedSha256)
    {
        Sha256 = Convert.ToHexStringLower(_hash.GetHashAndReset());
        await CloseAsync().ConfigureAwait(false);
        if (Written != _size)
        {
            Delete();
            throw new FileTransferException(FileTransferError.SizeMismatch, $"The stream ended after {Written} of {_size} bytes.");
        }

        if (expectedSha256 is not null && !string.Equals(expectedSha256, Sha256, StringComparison.Ordinal))
        {
            Delete();
            throw new FileTransferException(FileTransferError.HashMismatch, $"The file's SHA-256 is {Sha256}, the offer said {expectedSha256}.");
        }

        var stem = Path.GetFileNameWithoutExtension(_name);
        var extension = Path.GetExtension(_name);
        for (var attempt = 0; ; attempt++)
        {
            var target = Path.Combine(_folder, attempt == 0 ? _name : $"{stem} ({attempt}){extension}");
            try
            {
                File.Move(TempPath, target, overwrite: false);
                return target;
            }
            catch (IOException) when (attempt < 1000 && File.Exists(target))
            {
                // Taken: try the next name.
            }
        }
    }

    /// <summary>Deletes the temporary file.</summary>
    public async ValueTask DisposeAsync()
    {
        await CloseAsync().ConfigureAwait(false);
        Delete();
    }

    private async ValueTask CloseAsync()
    {
        if (!_closed)
        {
            _closed = true;
            await _file.DisposeAsync().ConfigureAwait(false);
            _hash.Dispose();
        }
    }

    private void Delete()
    {
        try
        {
            File.Delete(TempPath);
        }
        catch (IOException)
        {
            // Still open elsewhere or already gone; nothing more to do.
        }
    }
}
