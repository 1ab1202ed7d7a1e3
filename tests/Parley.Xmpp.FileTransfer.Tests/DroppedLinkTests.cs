using System.Security.Cryptography;
using Parley.Testing;
using Parley.Xmpp.Core;

namespace Parley.Xmpp.FileTransfer.Tests;

/// <summary>
/// The sender's connection to the server is cut in the middle of a transfer (<see cref="FaultyLink.DropAll"/>, as a Wi-Fi
/// drop would): the client reconnects and resumes the session (XEP-0198), and the file arrives whole, verified against
/// the sender's SHA-256, over every route. Through ejabberd always. Through Prosody 0.12 the resumed session is damaged
/// when the cut left a stanza half-received: Prosody feeds the new connection into the parser of the cut one (mod_c2s
/// keeps it in <c>session.data</c>'s closure; mod_smacks only swaps <c>session.stream</c>). Either that parser never
/// leaves the half stanza and nothing more is read — the unanswered acknowledgement request
/// (<see cref="XmppClientOptions.AckTimeout"/>) then replaces the session and the blocks go again — or it takes the
/// next stanzas into the half one and reads on after them, and the receiver sees in-band blocks missing. Then the
/// transfer must fail on both sides, say so, and leave nothing behind; it must never hang or deliver a wrong file.
/// </summary>
[Collection(ServerFixture.CollectionName)]
public sealed class DroppedLinkTests(ServerFixture servers) : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly string _root = Directory.CreateTempSubdirectory("parley-dropped-").FullName;

    public static TheoryData<string, Route> KindsAndRoutes => Servers.With(Enum.GetValues<Route>());

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [MemberData(nameof(KindsAndRoutes))]
    public async Task A_transfer_whose_sender_loses_its_connection_arrives_whole_after_it_reconnects(string kind, Route route)
    {
        var server = await servers.GetAsync(kind);
        await using var link = new FaultyLink(server.ClientPort);
        var options = TransferPair.LoopbackOptions();
        options.UseServerProxy = false;
        await using var pair = await TransferPair.ConnectAsync(server, _root, options, senderClient: client =>
        {
            client.Port = link.Port;
            client.Reconnect = FaultyLink.FastReconnect;
            client.AckTimeout = TimeSpan.FromSeconds(3);
        });
        Assert.True(pair.Sender.IsStreamManagementEnabled);
        var reconnected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        pair.Sender.StateChanged += (_, e) =>
        {
            if (e.NewState == XmppConnectionState.Connected && e.OldState == XmppConnectionState.Reconnecting)
            {
                reconnected.TrySetResult();
            }
        };

        // In-band every block crosses the cut link; over SOCKS5 the bytes take their own connection and the signalling
        // (Jingle's checksum and session-terminate, SI's nothing) waits for the resumed session.
        var size = route is Route.JingleSocks5 or Route.SiSocks5 ? 40_000_003 : 400_001;
        var (path, sha) = TestFiles.Create(_root, "cut.bin", size, seed: 61);
        var dropped = 0;
        var progress = new SyncProgress(p =>
        {
            if (p.BytesTransferred >= size / 3 && Interlocked.Exchange(ref dropped, 1) == 0)
            {
                link.DropAll();
            }
        });

        FileTransferResult? result = null;
        FileTransferException? failure = null;
        try
        {
            result = await pair.SenderFt.SendFileAsync(pair.ReceiverJid, path, new FileSendOptions { Methods = Routes.MethodsOf(route) }, progress).WaitAsync(Patience);
        }
        catch (FileTransferException ex)
        {
            failure = ex;
        }

        Assert.Equal(1, dropped);
        await reconnected.Task.WaitAsync(Patience);
        var received = await pair.Received.Task.WaitAsync(Patience);
        if (result is not null)
        {
            Assert.Equal(sha, result.Sha256);
            Assert.Equal(size, result.Bytes);
            Assert.True(received.Succeeded, received.ToString());
            Assert.Equal(sha, received.Offer.Sha256);
            Assert.Equal(sha, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(received.Path!))));
        }
        else
        {
            // Only Prosody's damaged resumption (above) may end a transfer; then both sides know, and nothing is kept.
            Assert.True(kind == Servers.Prosody, $"{kind}: {failure}");
            Assert.False(received.Succeeded, $"The sender failed ({failure!.Message}) but the receiver kept the file.");
            Assert.Empty(Directory.GetFileSystemEntries(pair.Inbox));
        }
    }
}
