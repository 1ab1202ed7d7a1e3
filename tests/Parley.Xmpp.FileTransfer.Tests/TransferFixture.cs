using System.Net;
using System.Security.Cryptography;
using Parley.Testing;
using Parley.Xmpp.Core;

namespace Parley.Xmpp.FileTransfer.Tests;

/// <summary>Two connected clients on a harness server, each with a file-transfer manager, and a receiving folder.</summary>
internal sealed class TransferPair : IAsyncDisposable
{
    private TransferPair(XmppClient sender, XmppClient receiver, FileTransferManager senderFt, FileTransferManager receiverFt, string inbox)
    {
        Sender = sender;
        Receiver = receiver;
        SenderFt = senderFt;
        ReceiverFt = receiverFt;
        Inbox = inbox;
        receiverFt.TransferReceived += (_, e) => Received.TrySetResult(e);
        receiverFt.IncomingPolicy = (offer, _) => ValueTask.FromResult(offer.Accept(Inbox));
    }

    public XmppClient Sender { get; }

    public XmppClient Receiver { get; }

    public FileTransferManager SenderFt { get; }

    public FileTransferManager ReceiverFt { get; }

    public string Inbox { get; }

    public TaskCompletionSource<IncomingFileTransferEventArgs> Received { get; set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Jid ReceiverJid => Receiver.Jid!;

    /// <summary>Sender options that keep the direct streamhost on loopback.</summary>
    public static FileTransferOptions LoopbackOptions() => new() { Socks5BindAddress = IPAddress.Loopback };

    /// <summary>Connects a sender and a receiver on <paramref name="server"/>; <paramref name="senderClient"/> may change the sender's connection options first.</summary>
    public static async Task<TransferPair> ConnectAsync(XmppTestServer server, string root, FileTransferOptions? senderOptions = null, FileTransferOptions? receiverOptions = null,
        Action<XmppClientOptions>? senderClient = null)
    {
        var inbox = Directory.CreateDirectory(Path.Combine(root, "inbox")).FullName;
        var senderClientOptions = server.ClientOptions(await server.CreateAccountAsync(), "send");
        senderClient?.Invoke(senderClientOptions);
        var sender = new XmppClient(senderClientOptions);
        var receiver = new XmppClient(server.ClientOptions(await server.CreateAccountAsync(), "recv"));
        var senderFt = sender.AddExtension(new FileTransferManager(senderOptions ?? LoopbackOptions()));
        var receiverFt = receiver.AddExtension(new FileTransferManager(receiverOptions ?? LoopbackOptions()));
        await sender.ConnectAsync();
        await receiver.ConnectAsync();
        return new TransferPair(sender, receiver, senderFt, receiverFt, inbox);
    }

    public async ValueTask DisposeAsync()
    {
        await Sender.DisposeAsync();
        await Receiver.DisposeAsync();
        await SenderFt.DisposeAsync();
        await ReceiverFt.DisposeAsync();
    }
}

/// <summary>How a test's bytes go: Jingle or SI, over SOCKS5 or in-band.</summary>
public enum Route
{
    JingleSocks5,
    JingleInBand,
    SiSocks5,
    SiInBand,
}

internal static class Routes
{
    /// <summary>The <see cref="FileSendOptions.Methods"/> that make a send take exactly <paramref name="route"/>.</summary>
    public static IReadOnlyList<FileTransferMethod> MethodsOf(Route route) => route switch
    {
        Route.JingleSocks5 => [FileTransferMethod.Jingle, FileTransferMethod.Socks5Bytestreams],
        Route.JingleInBand => [FileTransferMethod.Jingle, FileTransferMethod.InBandBytestreams],
        Route.SiSocks5 => [FileTransferMethod.Socks5Bytestreams],
        _ => [FileTransferMethod.InBandBytestreams],
    };
}

internal static class TestFiles
{
    /// <summary>Writes <paramref name="size"/> pseudo-random bytes in chunks and returns the path and its SHA-256.</summary>
    public static (string Path, string Sha256) Create(string folder, string name, long size, int seed = 1)
    {
        var path = System.IO.Path.Combine(folder, name);
        var random = new Random(seed);
        var chunk = new byte[64 * 1024];
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using (var file = File.Create(path))
        {
            for (var left = size; left > 0; left -= chunk.Length)
            {
                random.NextBytes(chunk);
                var count = (int)Math.Min(chunk.Length, left);
                file.Write(chunk, 0, count);
                hash.AppendData(chunk, 0, count);
            }
        }

        return (path, Convert.ToHexStringLower(hash.GetHashAndReset()));
    }

    public static string Sha256Of(string path)
    {
        using var file = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(file));
    }
}

/// <summary>Progress reported synchronously on the reporting thread (Progress&lt;T&gt; posts, which would race the assertions).</summary>
internal sealed class SyncProgress(Action<FileTransferProgress> action) : IProgress<FileTransferProgress>
{
    public void Report(FileTransferProgress value) => action(value);
}
