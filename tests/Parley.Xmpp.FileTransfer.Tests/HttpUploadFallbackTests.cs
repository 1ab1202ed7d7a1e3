using System.Security.Cryptography;
using Parley.Testing;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Upload;

namespace Parley.Xmpp.FileTransfer.Tests;

/// <summary>HTTP upload as the last method of <see cref="FileTransferManager"/>: Jingle, then SI, then a link, on both servers' upload services.</summary>
[Collection(ServerFixture.CollectionName)]
public sealed class HttpUploadFallbackTests(ServerFixture servers) : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private static readonly FileSendOptions AllMethods = new()
    {
        Methods = [FileTransferMethod.Jingle, FileTransferMethod.Socks5Bytestreams, FileTransferMethod.InBandBytestreams, FileTransferMethod.HttpUpload],
    };

    private readonly string _root = Directory.CreateTempSubdirectory("parley-ft-http-").FullName;

    public static TheoryData<string> Kinds => Servers.Kinds;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_recipient_without_jingle_or_si_gets_the_link(string kind)
    {
        var server = await servers.GetAsync(kind);
        await using var sender = new XmppClient(server.ClientOptions(await server.CreateAccountAsync(), "send"));
        await using var ft = sender.AddExtension(new FileTransferManager(TransferPair.LoopbackOptions()));
        await using var receiver = new XmppClient(server.ClientOptions(await server.CreateAccountAsync(), "plain"));
        var link = new TaskCompletionSource<Message>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var _ = receiver.OnMessage((message, _) =>
        {
            if (OutOfBand.GetUrl(message) is not null)
            {
                link.TrySetResult(message);
            }

            return ValueTask.CompletedTask;
        });
        await sender.ConnectAsync();
        await receiver.ConnectAsync();
        var (path, sha) = TestFiles.Create(_root, "plain.bin", 300_000, seed: 31);

        var result = await ft.SendFileAsync(receiver.Jid!, path, AllMethods).WaitAsync(Patience);

        Assert.Equal(FileTransferMethod.HttpUpload, result.Method);
        Assert.Equal(sha, result.Sha256);
        Assert.Equal(300_000, result.Bytes);
        Assert.NotNull(result.Link);
        Assert.Collection(result.Attempts,
            a => Assert.Equal((FileTransferMethod.Jingle, (FileTransferError?)null), (a.Method, a.Error)),
            a => Assert.Equal((FileTransferMethod.Socks5Bytestreams, (FileTransferError?)null), (a.Method, a.Error)));
        Assert.Contains("does not announce Jingle file transfer", result.Attempts[0].Reason, StringComparison.Ordinal);
        Assert.Contains("does not announce SI file transfer", result.Attempts[1].Reason, StringComparison.Ordinal);

        // Nothing was tried and given up: no fallback in the narrow sense.
        Assert.Null(result.FallbackReason);
        var message = await link.Task.WaitAsync(Patience);
        Assert.Equal(result.Link, OutOfBand.GetUrl(message));
        Assert.Equal(result.Link!.OriginalString, message.Body);
        Assert.Equal(sha, await DownloadSha256Async(result.Link));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_recipient_that_declines_jingle_gets_the_link_after_fallback(string kind)
    {
        await using var pair = await TransferPair.ConnectAsync(await servers.GetAsync(kind), _root);
        var asked = 0;
        pair.ReceiverFt.IncomingPolicy = (offer, _) =>
        {
            Interlocked.Increment(ref asked);
            return ValueTask.FromResult(offer.Decline("not now"));
        };
        var link = new TaskCompletionSource<Message>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var _ = pair.Receiver.OnMessage((message, _) =>
        {
            if (OutOfBand.GetUrl(message) is not null)
            {
                link.TrySetResult(message);
            }

            return ValueTask.CompletedTask;
        });
        IReadOnlyList<FileTransferAttempt>? before = null;
        var options = new FileSendOptions { Methods = AllMethods.Methods, BeforeLinkAsync = (attempts, _) => { before = [.. attempts]; return ValueTask.CompletedTask; } };
        var (path, sha) = TestFiles.Create(_root, "declined.bin", 200_000, seed: 32);

        var result = await pair.SenderFt.SendFileAsync(pair.ReceiverJid, path, options).WaitAsync(Patience);

        Assert.Equal(FileTransferMethod.HttpUpload, result.Method);
        Assert.Equal(sha, result.Sha256);
        Assert.Equal(1, asked);
        Assert.Collection(result.Attempts,
            a =>
            {
                Assert.Equal((FileTransferMethod.Jingle, FileTransferError.Declined), (a.Method, a.Error));
                Assert.Contains("decline", a.Reason, StringComparison.Ordinal);
            },
            a => Assert.Equal((FileTransferMethod.Socks5Bytestreams, (FileTransferError?)null, "not offered again after the decline"), (a.Method, a.Error, a.Reason)));
        Assert.Equal(result.Attempts, before);
        Assert.StartsWith("Jingle: ", result.FallbackReason, StringComparison.Ordinal);
        var message = await link.Task.WaitAsync(Patience);
        Assert.Equal(result.Link, OutOfBand.GetUrl(message));
        Assert.Equal(sha, await DownloadSha256Async(result.Link!));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Without_http_upload_listed_a_decline_still_fails_as_declined(string kind)
    {
        await using var pair = await TransferPair.ConnectAsync(await servers.GetAsync(kind), _root);
        pair.ReceiverFt.IncomingPolicy = (offer, _) => ValueTask.FromResult(offer.Decline("not now"));
        var (path, _) = TestFiles.Create(_root, "no-link.bin", 1000, seed: 33);

        var failure = await Assert.ThrowsAsync<FileTransferException>(() => pair.SenderFt.SendFileAsync(pair.ReceiverJid, path).WaitAsync(Patience));

        Assert.Equal(FileTransferError.Declined, failure.Error);
    }

    private static async Task<string> DownloadSha256Async(Uri url)
    {
        using var http = new HttpClient();
        var bytes = await http.GetByteArrayAsync(url);
        return Convert.ToHexStringLower(SHA256.HashData(bytes));
    }
}
