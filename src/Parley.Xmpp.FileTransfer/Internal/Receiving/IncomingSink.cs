using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace Parley.Xmpp.FileTransfer;

/// <summary>
/// Where received bytes go: a temporary file in the destination folder, hashed on the fly, moved into place only
/// when the size (and the hash, when one was offered) match.
/// </summary>
/// <remarks>
/// Bytes are received straight into one of up to four buffers (<see cref="GetMemory"/>, <see cref="AdvanceAsync"/>). A full
/// buffer is hashed and then written on the thread pool while the next ones fill, so receiving, hashing (in order, one
/// buffer after the other) and writing (several buffers at once) run side by side: on two cores the receiving thread
/// only receives, and the disk gets more than one write at a time. Nothing is copied between the socket and the file but
/// by the kernel. With direct writes (Linux, large files) the file is opened with O_DIRECT and the kernel writes from
/// these buffers to the disk without a page-cache copy.
/// </remarks>
internal sealed partial class IncomingSink : IAsyncDisposable
{
    /// <summary>Files from this size on are written with O_DIRECT when direct writes are enabled.</summary>
    public const long DirectMinimumSize = 4 << 20;

    /// <summary>O_DIRECT needs buffer addresses, file offsets and lengths in multiples of the logical block size; 4096 covers every common device.</summary>
    private const int Alignment = 4096;

    /// <summary>Buffers of one sink: one being received into while up to three are hashed or written.</summary>
    private const int MaxBuffers = 4;

    private readonly SafeFileHandle _file;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly string _folder;
    private readonly string _name;
    private readonly long _size;
    private readonly IProgress<FileTransferProgress>? _progress;
    private readonly FileTransferMethod _method;
    private readonly Memory<byte>[] _buffers;

    /// <summary>Per buffer: its hash and write, done when the buffer is free again.</summary>
    private readonly Task[] _busy;
    private int _current;
    private int _filled;
    private long _fileOffset;

    /// <summary>Done when every buffer handed on so far is hashed: the next buffer's hash starts after it.</summary>
    private Task _hashed = Task.CompletedTask;
    private bool _closed;

    private IncomingSink(SafeFileHandle file, bool direct, string tempPath, string folder, string name, long size, int bufferSize, IProgress<FileTransferProgress>? progress, FileTransferMethod method)
    {
        _file = file;
        IsDirect = direct;
        TempPath = tempPath;
        _folder = folder;
        _name = name;
        _size = size;
        _progress = progress;
        _method = method;

        // A small file gets one buffer of its size; all buffers are parts of one pinned array, each on an aligned address.
        var length = (int)Math.Min(RoundUp(bufferSize), RoundUp(Math.Max(size, 1)));
        var count = (int)Math.Clamp((size + length - 1) / length, 1, MaxBuffers);
        var array = GC.AllocateUninitializedArray<byte>((count * length) + Alignment, pinned: true);
        var start = (int)((Alignment - (Marshal.UnsafeAddrOfPinnedArrayElement(array, 0) % Alignment)) % Alignment);
        _buffers = new Memory<byte>[count];
        _busy = new Task[count];
        for (var i = 0; i < count; i++)
        {
            _buffers[i] = array.AsMemory(start + (i * length), length);
            _busy[i] = Task.CompletedTask;
        }
    }

    public string TempPath { get; }

    /// <summary>Bytes received (the last of them may still be on their way through the hash and to the file).</summary>
    public long Written { get; private set; }

    public string? Sha256 { get; private set; }

    /// <summary>Whether the file is written with O_DIRECT.</summary>
    public bool IsDirect { get; }

    /// <exception cref="IOException">The temporary file could not be created.</exception>
    /// <exception cref="UnauthorizedAccessException">The folder is not writable.</exception>
    public static IncomingSink Create(string folder, string name, long size, IProgress<FileTransferProgress>? progress, FileTransferMethod method, int bufferSize, bool directWrites)
    {
        var temp = Path.Combine(folder, "." + name + "." + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)) + ".part");
        var direct = directWrites && size >= DirectMinimumSize ? DirectFile.TryCreate(temp) : null;
        var file = direct ?? File.OpenHandle(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, FileOptions.Asynchronous);
        return new IncomingSink(file, direct is not null, temp, folder, name, size, bufferSize, progress, method);
    }

    /// <summary>Whether a <see cref="FileTransferError.StorageFailed"/> failure is the disk (or quota) being full.</summary>
    public static bool IsOutOfSpace(FileTransferException error) => error.InnerException is IOException
    {
        // ENOSPC, EDQUOT (Linux; .NET gives the errno as HResult on Unix), ERROR_DISK_FULL, ERROR_HANDLE_DISK_FULL.
        HResult: 28 or 122 or unchecked((int)0x80070070) or unchecked((int)0x80070027),
    };

    /// <summary>Where the next bytes go: the free part of the current buffer, never more than the bytes still expected.</summary>
    public Memory<byte> GetMemory()
    {
        var buffer = _buffers[_current];
        return buffer.Slice(_filled, (int)Math.Min(buffer.Length - _filled, _size - Written));
    }

    /// <summary>Takes <paramref name="count"/> bytes put into <see cref="GetMemory"/>; hands the buffer on to be hashed and written once it is full or the file is complete.</summary>
    /// <exception cref="FileTransferException">An earlier write failed (<see cref="FileTransferError.StorageFailed"/>).</exception>
    public async ValueTask AdvanceAsync(int count, CancellationToken cancellationToken)
    {
        var buffer = _buffers[_current];
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, Math.Min(buffer.Length - _filled, _size - Written));
        _filled += count;
        Written += count;
        _progress?.Report(new FileTransferProgress(Written, _size, _method));
        if (_filled == buffer.Length || Written == _size)
        {
            await FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Takes bytes from elsewhere (in-band blocks): copies them into the buffers.</summary>
    /// <exception cref="FileTransferException">More bytes than offered (<see cref="FileTransferError.SizeMismatch"/>), or a write failed (<see cref="FileTransferError.StorageFailed"/>).</exception>
    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        if (data.Length > _size - Written)
        {
            throw new FileTransferException(FileTransferError.SizeMismatch, $"The peer sent more than the {_size} bytes it offered.");
        }

        while (data.Length > 0)
        {
            var target = GetMemory();
            var count = Math.Min(target.Length, data.Length);
            data.Span[..count].CopyTo(target.Span);
            data = data[count..];
            await AdvanceAsync(count, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Checks size and hash, then moves the file into place under a name not yet taken. Returns the path.</summary>
    /// <exception cref="FileTransferException">Size or hash mismatch (the temporary file is deleted), or a write or the move failed (<see cref="FileTransferError.StorageFailed"/>).</exception>
    public async Task<string> CompleteAsync(string? expectedSha256)
    {
        await CloseAsync(throwOnWriteFailure: true).ConfigureAwait(false);
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
            catch (IOException ex)
            {
                throw StorageFailure(ex);
            }
        }
    }

    /// <summary>Deletes the temporary file.</summary>
    public async ValueTask DisposeAsync()
    {
        await CloseAsync(throwOnWriteFailure: false).ConfigureAwait(false);
        Delete();
    }

    private static long RoundUp(long value) => (value + Alignment - 1) / Alignment * Alignment;

    /// <summary>Hands the current buffer on to be hashed and written, and waits until the next buffer is free.</summary>
    private async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        var buffer = _buffers[_current];
        var filled = _filled;
        var length = filled;
        if (IsDirect && length % Alignment != 0)
        {
            // Only the file's last block is partial: written padded, cut to size when closing.
            var padded = (int)RoundUp(length);
            buffer.Span[length..padded].Clear();
            length = padded;
        }

        var previous = _hashed;
        var hashed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _hashed = hashed.Task;
        var offset = _fileOffset;
        _busy[_current] = Task.Run(() => HashAndWriteAsync(buffer, filled, length, offset, previous, hashed, cancellationToken), CancellationToken.None);
        _fileOffset += filled;
        _current = (_current + 1) % _buffers.Length;
        _filled = 0;
        await _busy[_current].ConfigureAwait(false);
    }

    /// <summary>Hashes the buffer after the ones before it, then writes it (beside the writes of other buffers).</summary>
    private async Task HashAndWriteAsync(Memory<byte> buffer, int filled, int length, long offset, Task previous, TaskCompletionSource hashed, CancellationToken cancellationToken)
    {
        try
        {
            await previous.ConfigureAwait(false);
            _hash.AppendData(buffer.Span[..filled]);
        }
        finally
        {
            hashed.SetResult();
        }

        for (var retried = false; ; retried = true)
        {
            try
            {
                await RandomAccess.WriteAsync(_file, buffer[..length], offset, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (IOException ex) when (!retried && IsDirect && ex.HResult == DirectFile.InvalidArgument && DirectFile.TryTurnOff(_file))
            {
                // The file system took the O_DIRECT open but refuses such writes (it wants a larger alignment, or has no
                // direct I/O after all): this and the later writes go through the page cache. Other writes in flight retry too.
            }
            catch (IOException ex)
            {
                throw StorageFailure(ex);
            }
        }
    }

    /// <summary>
    /// Why the file could not be kept (a full disk, an I/O error), as the receiver's event and the sender's error say it:
    /// the path of the temporary file is ours, not the sender's business.
    /// </summary>
    private FileTransferException StorageFailure(IOException error)
    {
        var reason = error.Message.Replace($" : '{TempPath}'", string.Empty, StringComparison.Ordinal).Replace(TempPath, _name, StringComparison.Ordinal);
        return new FileTransferException(FileTransferError.StorageFailed, $"Could not store {_name}: {reason}", error);
    }

    private async ValueTask CloseAsync(bool throwOnWriteFailure)
    {
        if (_closed)
        {
            return;
        }

        _closed = true;
        try
        {
            if (throwOnWriteFailure)
            {
                await Task.WhenAll(_busy).ConfigureAwait(false);
                Sha256 = Convert.ToHexStringLower(_hash.GetHashAndReset());
                try
                {
                    if (IsDirect && RandomAccess.GetLength(_file) != _fileOffset)
                    {
                        RandomAccess.SetLength(_file, _fileOffset);
                    }
                }
                catch (IOException ex)
                {
                    throw StorageFailure(ex);
                }
            }
            else
            {
                // Abandoned: wait for the work in flight only so that the handle, hash and buffers are not in use; its outcome does not matter.
                await Task.WhenAll(_busy).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
        finally
        {
            _file.Dispose();
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

    /// <summary>open(2) with O_DIRECT, which .NET's file APIs do not offer, and turning it off again with fcntl(2).</summary>
    internal static partial class DirectFile
    {
        /// <summary>EINVAL: what a write the file system cannot do directly fails with (.NET gives the errno as HResult on Unix).</summary>
        public const int InvalidArgument = 22;

        private const int WriteOnly = 0x1;
        private const int Create = 0x40;
        private const int Exclusive = 0x80;
        private const int CloseOnExec = 0x80000;
        private const int GetFlags = 3;
        private const int SetFlags = 4;

        /// <summary>O_DIRECT on this architecture, 0 where we do not know it or it is not Linux.</summary>
        private static readonly int Direct = !OperatingSystem.IsLinux() ? 0 : RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 or Architecture.X86 => 0x4000,
            Architecture.Arm64 or Architecture.Arm => 0x10000,
            _ => 0,
        };

        /// <summary>A new file opened for direct writes, or null where that is not available (not Linux, an architecture we do not know the flag of, a file system that refuses it).</summary>
        /// <exception cref="IOException">The file exists already.</exception>
        public static SafeFileHandle? TryCreate(string path)
        {
            var direct = Direct;
            if (direct == 0)
            {
                return null;
            }

            var fd = Open(path, WriteOnly | Create | Exclusive | CloseOnExec | direct, Convert.ToInt32("666", 8));
            if (fd >= 0)
            {
                return new SafeFileHandle(fd, ownsHandle: true);
            }

            const int exists = 17; // EEXIST
            if (Marshal.GetLastPInvokeError() == exists)
            {
                throw new IOException($"The file '{path}' already exists.");
            }

            // A file system without O_DIRECT refuses the open after creating the file (the name is ours: random, and it did not exist).
            File.Delete(path);
            return null;
        }

        /// <summary>Clears O_DIRECT on an open file: its later writes go through the page cache. False when that failed.</summary>
        public static bool TryTurnOff(SafeFileHandle file)
        {
            if (Direct == 0)
            {
                return false;
            }

            var flags = Fcntl(file, GetFlags, 0);
            return flags >= 0 && ((flags & Direct) == 0 || Fcntl(file, SetFlags, flags & ~Direct) == 0);
        }

        /// <summary>Whether the file is open with O_DIRECT.</summary>
        public static bool IsOn(SafeFileHandle file) => Direct != 0 && Fcntl(file, GetFlags, 0) is var flags && flags >= 0 && (flags & Direct) != 0;

        [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
        private static partial int Open(string path, int flags, int mode);

        [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
        private static partial int Fcntl(SafeFileHandle file, int command, int argument);
    }
}
