using System.Buffers;
using System.Net.Sockets;
using System.Runtime.ExceptionServices;
using Microsoft.Win32.SafeHandles;

namespace Parley.Xmpp.FileTransfer;

/// <summary>
/// The sending end of a SOCKS5 bytestream, for SI and Jingle alike: a plain file goes out with sendfile while another
/// thread hashes it, other content through a buffer; then it waits for the receiver to close.
/// </summary>
internal static class Socks5Sender
{
    /// <summary>How long the sender waits, after the last byte, for the receiver to close the connection.</summary>
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(10);

    /// <summary>How much one sendfile operation hands to the socket; progress is reported per chunk.</summary>
    private const int SendFileChunk = 1 << 20;

    /// <summary>
    /// The read size of the hashing pass that runs beside sendfile: small enough to stay in the core's L2 cache between the
    /// read and the hash, large enough that the reads cost little.
    /// </summary>
    private const int HashReadSize = 256 * 1024;

    /// <summary>Sends <paramref name="size"/> bytes, then waits for the receiver to close; <paramref name="lastByteSent"/> runs right after the last byte was handed to TCP.</summary>
    public static async Task SendAsync(Stream content, Socket socket, long size, SendCounter counter, int bufferSize, CancellationToken cancellationToken, Action? lastByteSent = null)
    {
        // A file goes out with sendfile: the buffer only drains the connection at the end.
        var file = SendFileSource(content, size);
        var buffer = ArrayPool<byte>.Shared.Rent(file is null ? bufferSize : 4096);
        try
        {
            if (file is not null)
            {
                await SendFileToSocketAsync(file, socket, size, counter, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                for (var remaining = size; remaining > 0;)
                {
                    var count = (int)Math.Min(bufferSize, remaining);
                    await counter.ReadBlockAsync(content, buffer, count, cancellationToken).ConfigureAwait(false);
                    await socket.SendAsync(buffer.AsMemory(0, count), SocketFlags.None, cancellationToken).ConfigureAwait(false);
                    remaining -= count;
                    counter.Acknowledge(count, FileTransferMethod.Socks5Bytestreams);
                }
            }

            lastByteSent?.Invoke();

            // The receiver closes when it has every byte; waiting for that tells a delivered file from a cut one.
            socket.Shutdown(SocketShutdown.Send);
            using var drain = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            drain.CancelAfter(DrainTimeout);
            try
            {
                while (await socket.ReceiveAsync(buffer, SocketFlags.None, drain.Token).ConfigureAwait(false) > 0)
                {
                    // The target has nothing to say on this stream; discard.
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // Every byte was handed to TCP; a receiver that keeps the connection open still has them.
            }
        }
        catch (Exception ex) when (ex is SocketException or IOException and not EndOfStreamException)
        {
            throw new FileTransferException(FileTransferError.StreamFailed, $"The SOCKS5 stream broke after {counter.Acknowledged} of {size} bytes: {ex.Message}", ex);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// The file behind <paramref name="content"/> when its next <paramref name="size"/> bytes can go to a socket with
    /// sendfile: a plain <see cref="FileStream"/> (not a subclass, which may transform what it reads) on a seekable file
    /// that holds them. Null otherwise (the copy loop handles it, and a short file ends with its EndOfStreamException).
    /// </summary>
    private static FileStream? SendFileSource(Stream content, long size)
    {
        if (content.GetType() != typeof(FileStream) || !content.CanSeek || size == 0)
        {
            return null;
        }

        var file = (FileStream)content;
        try
        {
            return file.Length - file.Position >= size ? file : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>
    /// Sends <paramref name="size"/> bytes of <paramref name="file"/> from its position with sendfile (the kernel moves the
    /// pages; no copy through this process), while another thread reads the same range and hashes it. The two read the
    /// file independently: a file changed during the send makes the receiver's hash differ from ours, so the receiver
    /// rejects it rather than keep a file that does not match the checksum. With the hash known (<see cref="FileSendOptions.Sha256"/>)
    /// there is no hashing thread: the file is only sent. Leaves the position after the range.
    /// </summary>
    /// <exception cref="EndOfStreamException">The file got shorter during the send.</exception>
    /// <exception cref="SocketException">The connection broke.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    private static async Task SendFileToSocketAsync(FileStream file, Socket socket, long size, SendCounter counter, CancellationToken cancellationToken)
    {
        var start = file.Position;
        if (!counter.NeedsHash)
        {
            await SendRangeAsync(file, socket, start, size, counter, cancellationToken).ConfigureAwait(false);
            file.Position = start + size;
            return;
        }

        var handle = file.SafeFileHandle;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);

        // Hashing on its own thread overlaps it with the sending (on more than one core, the sender's hash leaves the wall clock).
        var hashing = Task.Factory.StartNew(() => HashRange(handle, start, size, counter, stop), stop.Token, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        ExceptionDispatchInfo? sendFailure = null;
        try
        {
            await SendRangeAsync(file, socket, start, size, counter, stop.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            sendFailure = ExceptionDispatchInfo.Capture(ex);
            await stop.CancelAsync().ConfigureAwait(false);
        }

        try
        {
            await hashing.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (sendFailure is not null)
        {
            // Stopped because the send failed; that failure is the one to report.
        }

        sendFailure?.Throw();
        file.Position = start + size;
    }

    /// <summary>Reads and hashes the range; on a failure it stops the send too.</summary>
    private static void HashRange(SafeFileHandle handle, long start, long size, SendCounter counter, CancellationTokenSource stop)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(HashReadSize);
        try
        {
            for (long done = 0; done < size;)
            {
                stop.Token.ThrowIfCancellationRequested();
                var read = RandomAccess.Read(handle, buffer.AsSpan(0, (int)Math.Min(HashReadSize, size - done)), start + done);
                if (read == 0)
                {
                    throw new EndOfStreamException($"The file ended after {done} of {size} bytes.");
                }

                counter.AddRead(buffer.AsSpan(0, read));
                done += read;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            stop.Cancel();
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The sendfile loop: one <see cref="Socket.SendPacketsAsync"/> per chunk, progress after each.</summary>
    private static async Task SendRangeAsync(FileStream file, Socket socket, long start, long size, SendCounter counter, CancellationToken cancellationToken)
    {
        using var args = new SocketAsyncEventArgs();
        TaskCompletionSource? pending = null;
        args.Completed += (_, _) => pending!.TrySetResult();

        // SendPacketsAsync takes no token: closing the socket aborts the pending sendfile.
        using var registration = cancellationToken.Register(static state => ((Socket)state!).Dispose(), socket);
        for (long sent = 0; sent < size;)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var count = (int)Math.Min(SendFileChunk, size - sent);
            args.SendPacketsElements = [new SendPacketsElement(file, start + sent, count)];
            pending = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            bool completesLater;
            try
            {
                completesLater = socket.SendPacketsAsync(args);
            }
            catch (ObjectDisposedException) when (cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException(cancellationToken);
            }

            if (completesLater)
            {
                await pending.Task.ConfigureAwait(false);
            }

            if (args.SocketError != SocketError.Success)
            {
                cancellationToken.ThrowIfCancellationRequested();
                throw new SocketException((int)args.SocketError);
            }

            if (args.BytesTransferred != count)
            {
                throw new EndOfStreamException($"The file ended after {sent + args.BytesTransferred} of {size} bytes.");
            }

            sent += count;
            if (!counter.NeedsHash)
            {
                // No hashing pass counts the bytes read: count them as they are sent.
                counter.AddSentUnread(count);
            }

            counter.Acknowledge(count, FileTransferMethod.Socks5Bytestreams);
        }
    }
}
