using System.Security.Cryptography;

namespace Parley.Xmpp.FileTransfer.Tests;

/// <summary>The receiver's file: received into up to four buffers, hashed in order, written behind, O_DIRECT for large files on Linux.</summary>
public sealed class IncomingSinkTests : IDisposable
{
    private const int Buffer = 64 * 1024;
    private readonly string _root = Directory.CreateTempSubdirectory("parley-sink-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    public static TheoryData<long, bool> Sizes => new()
    {
        { 0, true },
        { 1, true },
        { 4095, false },
        { 3 * Buffer, false },
        { IncomingSink.DirectMinimumSize - 1, true },
        { IncomingSink.DirectMinimumSize, true },
        { IncomingSink.DirectMinimumSize + (5 * Buffer) + 123, true },
        { IncomingSink.DirectMinimumSize + (5 * Buffer) + 123, false },
    };

    [Theory]
    [MemberData(nameof(Sizes))]
    public async Task Bytes_received_in_uneven_pieces_end_up_in_the_file_exactly(long size, bool direct)
    {
        var data = RandomBytes(size, seed: (int)size);
        var sink = IncomingSink.Create(_root, "f.bin", size, null, FileTransferMethod.Socks5Bytestreams, Buffer, direct);
        await using (sink)
        {
            if (direct && OperatingSystem.IsLinux() && size >= IncomingSink.DirectMinimumSize)
            {
                Assert.True(sink.IsDirect, "ext4, xfs, btrfs and tmpfs (Linux 6.6+) all take O_DIRECT");
            }
            else
            {
                Assert.False(sink.IsDirect);
            }

            // Pieces of 1..9000 bytes, as a socket hands them out: they straddle buffer and 4 KiB boundaries.
            var random = new Random(7);
            for (var offset = 0; offset < size;)
            {
                var target = sink.GetMemory();
                Assert.False(target.IsEmpty);
                var count = Math.Min(target.Length, random.Next(1, 9000));
                data.AsSpan(offset, count).CopyTo(target.Span);
                await sink.AdvanceAsync(count, CancellationToken.None);
                offset += count;
            }

            Assert.True(sink.GetMemory().IsEmpty);
            var path = await sink.CompleteAsync(Convert.ToHexStringLower(SHA256.HashData(data)));
            Assert.Equal(Path.Combine(_root, "f.bin"), path);
            Assert.Equal(data, await File.ReadAllBytesAsync(path));
        }

        Assert.Equal(["f.bin"], Directory.GetFiles(_root).Select(Path.GetFileName));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task In_band_blocks_are_copied_in_and_a_wrong_hash_deletes_the_file(bool direct)
    {
        var size = IncomingSink.DirectMinimumSize + 4097;
        var data = RandomBytes(size, seed: 3);
        await using var sink = IncomingSink.Create(_root, "g.bin", size, null, FileTransferMethod.InBandBytestreams, Buffer, direct);
        for (var offset = 0; offset < size; offset += 4096)
        {
            await sink.WriteAsync(data.AsMemory(offset, (int)Math.Min(4096, size - offset)), CancellationToken.None);
        }

        var error = await Assert.ThrowsAsync<FileTransferException>(() => sink.CompleteAsync(new string('0', 64)));
        Assert.Equal(FileTransferError.HashMismatch, error.Error);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(data)), sink.Sha256);
        Assert.Empty(Directory.GetFileSystemEntries(_root));
    }

    [Fact]
    public async Task More_bytes_than_offered_are_refused_and_disposing_deletes_the_temporary_file()
    {
        var sink = IncomingSink.Create(_root, "h.bin", 10, null, FileTransferMethod.InBandBytestreams, Buffer, directWrites: true);
        await using (sink)
        {
            await sink.WriteAsync(new byte[6], CancellationToken.None);
            var error = await Assert.ThrowsAsync<FileTransferException>(() => sink.WriteAsync(new byte[5], CancellationToken.None).AsTask());
            Assert.Equal(FileTransferError.SizeMismatch, error.Error);
            Assert.Equal(4, sink.GetMemory().Length);
            await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => sink.AdvanceAsync(5, CancellationToken.None).AsTask());
            Assert.True(File.Exists(sink.TempPath));
        }

        Assert.Empty(Directory.GetFileSystemEntries(_root));
    }

    [Fact]
    public async Task A_write_that_O_DIRECT_refuses_is_made_through_the_page_cache_once_direct_writes_are_turned_off()
    {
        // What a file system that takes the O_DIRECT open but refuses the writes does: EINVAL. Here the kernel is made to
        // refuse a misaligned write (ext4 and tmpfs take aligned ones); the sink retries exactly this way after TryTurnOff.
        var path = Path.Combine(_root, "direct.bin");
        using var file = IncomingSink.DirectFile.TryCreate(path) ?? throw new InvalidOperationException("no O_DIRECT here");
        Assert.True(IncomingSink.DirectFile.IsOn(file));
        var data = RandomBytes(100, seed: 3);
        var refused = await Assert.ThrowsAsync<IOException>(() => RandomAccess.WriteAsync(file, data, 1).AsTask());
        Assert.Equal(IncomingSink.DirectFile.InvalidArgument, refused.HResult);

        Assert.True(IncomingSink.DirectFile.TryTurnOff(file));
        Assert.False(IncomingSink.DirectFile.IsOn(file));
        Assert.True(IncomingSink.DirectFile.TryTurnOff(file), "turning it off twice (writes in flight retry each) is fine");
        await RandomAccess.WriteAsync(file, data, 1);
        file.Dispose();
        Assert.Equal([0, .. data], await File.ReadAllBytesAsync(path));
    }

    private static byte[] RandomBytes(long size, int seed)
    {
        var data = new byte[size];
        new Random(seed).NextBytes(data);
        return data;
    }
}
