using Parley.Testing;

namespace Parley.Xmpp.FileTransfer.Tests;

/// <summary>File transfers as the framework's listeners see them: bytes, method and outcome, on both sides, through a real Prosody.</summary>
[Collection(ServerFixture.CollectionName)]
public sealed class TelemetryTests(ServerFixture servers) : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly string _root = Directory.CreateTempSubdirectory("parley-ft-telemetry-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task A_sent_and_a_declined_file_are_counted_with_their_bytes_method_and_outcome()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        using var telemetry = new TelemetryRecorder(FileTransferTelemetry.ActivitySourceName, FileTransferTelemetry.MeterName);
        await using var pair = await TransferPair.ConnectAsync(server, _root);
        var (path, _) = TestFiles.Create(_root, "counted.bin", 70_001);
        var result = await pair.SenderFt.SendFileAsync(pair.ReceiverJid, path, new FileSendOptions { Methods = [.. Routes.MethodsOf(Route.JingleInBand)] });
        var received = await pair.Received.Task.WaitAsync(Patience);
        Assert.True(received.Succeeded, received.ToString());
        Assert.Equal((FileTransferMethod.Jingle, FileTransferMethod.InBandBytestreams), (result.Method, result.Transport));

        (string, string)[] sent = [("parley.xmpp.file_transfer.direction", "send"), ("parley.xmpp.file_transfer.method", "jingle"), ("parley.xmpp.file_transfer.transport", "ibb")];
        (string, string)[] got = [("parley.xmpp.file_transfer.direction", "receive"), ("parley.xmpp.file_transfer.method", "jingle"), ("parley.xmpp.file_transfer.transport", "ibb")];
        Assert.Equal(70_001, telemetry.Sum("parley.xmpp.file_transfer.bytes", sent));
        Assert.Equal(70_001, telemetry.Sum("parley.xmpp.file_transfer.bytes", got));
        Assert.Equal(1, telemetry.Sum("parley.xmpp.file_transfers", [.. sent, ("parley.xmpp.outcome", "completed")]));
        Assert.Equal(1, telemetry.Sum("parley.xmpp.file_transfers", [.. got, ("parley.xmpp.outcome", "completed")]));

        pair.ReceiverFt.IncomingPolicy = (offer, _) => ValueTask.FromResult(offer.Decline("not now"));
        await Assert.ThrowsAsync<FileTransferException>(() => pair.SenderFt.SendFileAsync(pair.ReceiverJid, path));
        Assert.Equal(1, telemetry.Sum("parley.xmpp.file_transfers", ("parley.xmpp.file_transfer.direction", "send"), ("parley.xmpp.outcome", "declined")));
        Assert.Equal(2, telemetry.Sum("parley.xmpp.file_transfers", ("parley.xmpp.file_transfer.direction", "send")));

        var spans = telemetry.Activities.Where(a => a.OperationName == "xmpp.file_transfer.send").ToList();
        Assert.Equal(2, spans.Count);
        Assert.Equal(["completed", "declined"], spans.Select(a => (string?)a.GetTagItem("parley.xmpp.outcome")).Order());
        Assert.Equal(System.Diagnostics.ActivityStatusCode.Error, Assert.Single(spans, a => Equals(a.GetTagItem("parley.xmpp.outcome"), "declined")).Status);
    }
}
