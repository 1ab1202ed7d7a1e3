using System.Security.Cryptography;
using Parley.Testing;
using Parley.Xmpp.FileTransfer;
using Parley.Xmpp.Upload;

namespace Parley.Bots.Tests;

/// <summary>The report bot sends the report as a file to clients that take one, and a link with the reason to the rest.</summary>
[Collection(ServerFixture.CollectionName)]
public sealed class FileTransferDeliveryTests(ServerFixture servers) : IDisposable
{
    private readonly string _reports = Directory.CreateTempSubdirectory("parley-reports-").FullName;
    private readonly string _inbox = Directory.CreateTempSubdirectory("parley-inbox-").FullName;

    [Fact]
    public async Task A_client_with_file_transfer_receives_the_file_and_Delivered()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        var content = RandomNumberGenerator.GetBytes(300_000);
        await File.WriteAllBytesAsync(Path.Combine(_reports, "1234.pdf"), content);
        var settings = new Dictionary<string, string?> { ["Parley:Bots:reports:Report:Folder"] = _reports };
        var bot = await BotHost.ConfigureAsync(settings, server, "reports", "Report");
        await using var host = await BotHost.StartAsync(settings);
        var received = new TaskCompletionSource<IncomingFileTransferEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        IncomingFileOffer? offered = null;
        await using var user = await Person.ConnectAsync(server, configure: client =>
        {
            var ft = client.AddExtension(new FileTransferManager());
            ft.IncomingPolicy = (offer, _) =>
            {
                offered = offer;
                return ValueTask.FromResult(offer.Accept(_inbox));
            };
            ft.TransferReceived += (_, e) => received.TrySetResult(e);
        });

        await user.SayAsync(bot.Jid, "1234");

        Assert.Equal("Fetching report 1234…", await user.NextBodyAsync());
        Assert.Equal("Sending 1234.pdf (293 KB)…", await user.NextBodyAsync());
        Assert.Equal("Delivered.", await user.NextBodyAsync());
        var transfer = await received.Task.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.True(transfer.Succeeded, transfer.ToString());
        Assert.Equal(FileTransferMethod.Jingle, transfer.Method);
        Assert.NotNull(offered);
        Assert.Equal("1234.pdf", offered.FileName);
        Assert.Equal(Files.Sha256(content), offered.Sha256);
        Assert.Equal(Path.Combine(_inbox, "1234.pdf"), transfer.Path);
        Assert.Equal(Files.Sha256(content), Files.Sha256(await File.ReadAllBytesAsync(transfer.Path!)));
        await user.AssertNothingMoreAsync();
    }

    [Fact]
    public async Task A_report_from_the_http_source_is_offered_with_the_hash_computed_while_downloading()
    {
        // Jingle offers <hash-used/> (no value) unless the sender knows the hash: a value in the offer means the
        // delivery passed the one the HTTP source computed.
        var server = await servers.GetAsync(Servers.Prosody);
        using var intranet = new FakeIntranet();
        var content = RandomNumberGenerator.GetBytes(200_003);
        intranet.File("/reports/4321.pdf", content);
        var settings = new Dictionary<string, string?> { ["Parley:Bots:reports:Report:UrlTemplate"] = intranet.Url("/reports/{project}.pdf") };
        var bot = await BotHost.ConfigureAsync(settings, server, "reports", "Report");
        await using var host = await BotHost.StartAsync(settings);
        var received = new TaskCompletionSource<IncomingFileTransferEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        var offeredSha256 = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var user = await Person.ConnectAsync(server, configure: client =>
        {
            var ft = client.AddExtension(new FileTransferManager());
            ft.IncomingPolicy = (offer, _) =>
            {
                offeredSha256.TrySetResult(offer.Sha256);
                return ValueTask.FromResult(offer.Accept(_inbox));
            };
            ft.TransferReceived += (_, e) => received.TrySetResult(e);
        });

        await user.SayAsync(bot.Jid, "4321");

        Assert.Equal("Fetching report 4321…", await user.NextBodyAsync());
        Assert.Equal("Sending 4321.pdf (195.3 KB)…", await user.NextBodyAsync());
        Assert.Equal("Delivered.", await user.NextBodyAsync());
        Assert.Equal(Files.Sha256(content), await offeredSha256.Task.WaitAsync(TimeSpan.FromSeconds(20)));
        var transfer = await received.Task.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.True(transfer.Succeeded, transfer.ToString());
        Assert.Equal(FileTransferMethod.Jingle, transfer.Method);
        Assert.Equal(Files.Sha256(content), transfer.Sha256);
        Assert.Equal(Files.Sha256(content), Files.Sha256(await File.ReadAllBytesAsync(transfer.Path!)));
        await user.AssertNothingMoreAsync();
    }

    [Fact]
    public async Task A_declined_transfer_falls_back_to_a_link_and_says_why()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        var content = RandomNumberGenerator.GetBytes(5000);
        await File.WriteAllBytesAsync(Path.Combine(_reports, "88.pdf"), content);
        var settings = new Dictionary<string, string?> { ["Parley:Bots:reports:Report:Folder"] = _reports };
        var bot = await BotHost.ConfigureAsync(settings, server, "reports", "Report");
        await using var host = await BotHost.StartAsync(settings);
        await using var user = await Person.ConnectAsync(server, configure: client =>
            client.AddExtension(new FileTransferManager()).IncomingPolicy = (offer, _) => ValueTask.FromResult(offer.Decline("not now")));

        await user.SayAsync(bot.Jid, "88");

        Assert.Equal("Fetching report 88…", await user.NextBodyAsync());
        Assert.Equal("Sending 88.pdf (4.9 KB)…", await user.NextBodyAsync());
        Assert.Equal("The transfer failed (you declined it); here is a link instead:", await user.NextBodyAsync());
        var url = OutOfBand.GetUrl(await user.NextAsync());
        Assert.NotNull(url);
        Assert.Equal(Files.Sha256(content), await Files.DownloadSha256Async(url));
        await user.AssertNothingMoreAsync();
    }

    [Fact]
    public async Task A_client_that_announces_si_but_cannot_take_it_gets_a_link_with_the_reason()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        var content = RandomNumberGenerator.GetBytes(2048);
        await File.WriteAllBytesAsync(Path.Combine(_reports, "77.pdf"), content);
        var settings = new Dictionary<string, string?> { ["Parley:Bots:reports:Report:Folder"] = _reports };
        var bot = await BotHost.ConfigureAsync(settings, server, "reports", "Report");
        await using var host = await BotHost.StartAsync(settings);
        await using var user = await Person.ConnectAsync(server, configure: client => client.Disco.AddFeature("http://jabber.org/protocol/si/profile/file-transfer"));

        await user.SayAsync(bot.Jid, "77");

        Assert.Equal("Fetching report 77…", await user.NextBodyAsync());
        Assert.Equal("Sending 77.pdf (2 KB)…", await user.NextBodyAsync());
        Assert.Equal("The transfer failed (your client could not take it); here is a link instead:", await user.NextBodyAsync());
        var url = OutOfBand.GetUrl(await user.NextAsync());
        Assert.NotNull(url);
        Assert.Equal(Files.Sha256(content), await Files.DownloadSha256Async(url));
    }

    public void Dispose()
    {
        Directory.Delete(_reports, recursive: true);
        Directory.Delete(_inbox, recursive: true);
    }
}
