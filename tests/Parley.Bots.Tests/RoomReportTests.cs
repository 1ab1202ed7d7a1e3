using System.Security.Cryptography;
using Parley.Bots.Reports;
using Parley.Testing;
using Parley.Xmpp.Core;
using Parley.Xmpp.FileTransfer;
using Parley.Xmpp.Upload;

namespace Parley.Bots.Tests;

/// <summary>
/// The report bot in a room on Prosody and ejabberd, reports from the local "intranet": the asker gets the file privately
/// when the room shows real JIDs, a link in the room only with LinksInRooms, else "ask me in a private chat"; another
/// occupant never gets the file.
/// </summary>
[Collection(ServerFixture.CollectionName)]
public sealed class RoomReportTests(ServerFixture servers) : IDisposable
{
    private readonly FakeIntranet _intranet = new();
    private readonly string _inbox = Directory.CreateTempSubdirectory("parley-room-inbox-").FullName;

    public static TheoryData<string> Kinds => Servers.Kinds;

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task In_a_room_that_shows_real_jids_the_file_goes_privately_to_the_asker_and_to_no_one_else(string kind)
    {
        var server = await servers.GetAsync(kind);
        var content = RandomNumberGenerator.GetBytes(120_000);
        _intranet.File("/reports/1234.pdf", content);
        var room = RoomTests.NewRoom(server);
        var aliceFiles = new Receiver(_inbox);
        await using var alice = await RoomOccupant.JoinAsync(server, room, "alice", aliceFiles.Attach);
        await alice.ConfigureRoomAsync(("muc#roomconfig_whois", "anyone"));
        var bobFiles = new Receiver(_inbox);
        await using var bob = await RoomOccupant.JoinAsync(server, room, "bob", bobFiles.Attach);
        await using var host = await StartBotAsync(server, room);
        await bob.WaitForOccupantAsync("reports");
        Assert.Equal(alice.Jid, bob.Room.GetOccupant("alice")?.RealJid); // the room shows real JIDs to everyone

        await bob.Room.SendAsync("!report 1234");

        Assert.Equal(("reports", "Fetching report 1234 for bob…"), await alice.NextFromOthersAsync(except: "bob"));
        Assert.Equal(("reports", "Fetching report 1234 for bob…"), await bob.NextFromOthersAsync());
        var sending = await bob.NextPrivateAsync();
        Assert.StartsWith("Sending 1234.pdf (", sending.Body);
        Assert.Equal(MessageType.Chat, sending.Type);
        Assert.Equal(bob.Jid, sending.To);
        Assert.Equal("Delivered.", (await bob.NextPrivateAsync()).Body);
        var transfer = await bobFiles.Received.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.True(transfer.Succeeded, transfer.ToString());
        Assert.Equal(Files.Sha256(content), Files.Sha256(await File.ReadAllBytesAsync(transfer.Path!)));

        await alice.AssertNothingMoreAsync(except: "bob");
        await bob.AssertNothingMoreAsync();
        Assert.Equal(0, aliceFiles.Offers);
        Assert.Equal(1, bobFiles.Offers);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task In_a_room_that_hides_real_jids_with_links_in_rooms_the_report_is_a_link_in_the_room(string kind)
    {
        var server = await servers.GetAsync(kind);
        var content = RandomNumberGenerator.GetBytes(50_000);
        _intranet.File("/reports/4711.pdf", content);
        var room = RoomTests.NewRoom(server);
        await using var alice = await RoomOccupant.JoinAsync(server, room, "alice");
        var bobFiles = new Receiver(_inbox);
        await using var bob = await RoomOccupant.JoinAsync(server, room, "bob", bobFiles.Attach);
        await using var host = await StartBotAsync(server, room, ("Report:LinksInRooms", "true"));
        await bob.WaitForOccupantAsync("reports");
        Assert.Null(bob.Room.GetOccupant("alice")?.RealJid); // semi-anonymous: a participant sees no real JIDs

        await bob.Room.SendAsync("reports: 4711");

        Assert.Equal(("reports", "Fetching report 4711 for bob…"), await alice.NextFromOthersAsync(except: "bob"));
        Assert.Equal(("reports", "Sending 4711.pdf (48.8 KB)…"), await alice.NextFromOthersAsync(except: "bob"));
        Assert.Equal(("reports", "bob: here is the link to 4711.pdf:"), await alice.NextFromOthersAsync(except: "bob"));
        var link = await alice.NextMessageFromOthersAsync(except: "bob");
        Assert.Equal("reports", link.Nick);
        var url = OutOfBand.GetUrl(link.Message);
        Assert.NotNull(url);
        Assert.Equal(Files.Sha256(content), await Files.DownloadSha256Async(url));
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal("reports", (await bob.NextMessageFromOthersAsync()).Nick);
        }

        await alice.AssertNothingMoreAsync(except: "bob");
        await bob.AssertNothingMoreAsync();
        Assert.Equal(0, bobFiles.Offers);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task In_a_room_that_hides_real_jids_the_asker_is_told_to_ask_privately_and_nothing_is_fetched(string kind)
    {
        var server = await servers.GetAsync(kind);
        _intranet.File("/reports/4711.pdf", RandomNumberGenerator.GetBytes(1000));
        var room = RoomTests.NewRoom(server);
        await using var alice = await RoomOccupant.JoinAsync(server, room, "alice");
        var bobFiles = new Receiver(_inbox);
        await using var bob = await RoomOccupant.JoinAsync(server, room, "bob", bobFiles.Attach);
        await using var host = await StartBotAsync(server, room);
        await bob.WaitForOccupantAsync("reports");

        await bob.Room.SendAsync("!report 4711");

        Assert.Equal(("reports", $"bob: {ReportBot.AskPrivately}"), await alice.NextFromOthersAsync(except: "bob"));
        Assert.Equal(("reports", $"bob: {ReportBot.AskPrivately}"), await bob.NextFromOthersAsync());
        await alice.AssertNothingMoreAsync(except: "bob");
        await bob.AssertNothingMoreAsync();
        Assert.Equal(0, bobFiles.Offers);
        Assert.Empty(_intranet.Requests);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task An_unknown_project_gets_a_clear_answer_in_the_room_and_nothing_is_sent(string kind)
    {
        var server = await servers.GetAsync(kind);
        var room = RoomTests.NewRoom(server);
        await using var alice = await RoomOccupant.JoinAsync(server, room, "alice");
        await alice.ConfigureRoomAsync(("muc#roomconfig_whois", "anyone"));
        var bobFiles = new Receiver(_inbox);
        await using var bob = await RoomOccupant.JoinAsync(server, room, "bob", bobFiles.Attach);
        await using var host = await StartBotAsync(server, room);
        await bob.WaitForOccupantAsync("reports");

        await bob.Room.SendAsync("!report help");
        Assert.Equal(("reports", "bob: say \"reports: 1234\" with a project number and I send you that project's status report."), await alice.NextFromOthersAsync(except: "bob"));
        await bob.Room.SendAsync("!report ../../etc/passwd");
        Assert.Equal(("reports", "bob: '../../etc/passwd' is not a project number."), await alice.NextFromOthersAsync(except: "bob"));
        await bob.Room.SendAsync("!echo 1234"); // another bot's command: not this bot's business
        await bob.Room.SendAsync("reports: 9999");
        Assert.Equal(("reports", "Fetching report 9999 for bob…"), await alice.NextFromOthersAsync(except: "bob"));
        Assert.Equal(("reports", "bob: No report for project 9999."), await alice.NextFromOthersAsync(except: "bob"));

        await alice.AssertNothingMoreAsync(except: "bob");
        Assert.Equal(["/reports/9999.pdf"], _intranet.Requests.Select(r => r.Path));
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal("reports", (await bob.NextMessageFromOthersAsync()).Nick);
        }

        await bob.AssertNothingMoreAsync();
        Assert.Equal(0, bobFiles.Offers);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task One_request_per_asker_at_a_time_and_a_failing_source_is_said_in_the_room(string kind)
    {
        var server = await servers.GetAsync(kind);
        _intranet.Hang("/reports/5555.pdf");
        var room = RoomTests.NewRoom(server);
        await using var alice = await RoomOccupant.JoinAsync(server, room, "alice");
        await alice.ConfigureRoomAsync(("muc#roomconfig_whois", "anyone"));
        await using var bob = await RoomOccupant.JoinAsync(server, room, "bob");
        await using var host = await StartBotAsync(server, room, ("Report:Timeout", "00:00:03"));
        await bob.WaitForOccupantAsync("reports");

        await bob.Room.SendAsync("!report 5555");
        Assert.Equal(("reports", "Fetching report 5555 for bob…"), await alice.NextFromOthersAsync(except: "bob"));
        await bob.Room.SendAsync("reports: 5555");
        Assert.Equal(("reports", "bob: I am still working on your previous request; one moment please."), await alice.NextFromOthersAsync(except: "bob"));
        Assert.Equal(("reports", "bob: The report source did not answer — try again later."), await alice.NextFromOthersAsync(except: "bob"));

        // The first request is over: the next one is served.
        await bob.Room.SendAsync("!report 5555");
        Assert.Equal(("reports", "Fetching report 5555 for bob…"), await alice.NextFromOthersAsync(except: "bob"));
        await alice.AssertNothingMoreAsync(except: "bob");
    }

    public void Dispose()
    {
        _intranet.Dispose();
        Directory.Delete(_inbox, recursive: true);
    }

    private async Task<BotHost> StartBotAsync(XmppTestServer server, Jid room, params (string Key, string Value)[] extra)
    {
        var settings = RoomTests.RoomSettings(room, "reports");
        settings["Parley:Bots:reports:Report:UrlTemplate"] = _intranet.Url("/reports/{project}.pdf");
        foreach (var (key, value) in extra)
        {
            settings["Parley:Bots:reports:" + key] = value;
        }

        await BotHost.ConfigureAsync(settings, server, "reports", "Report");
        return await BotHost.StartAsync(settings);
    }

    /// <summary>A person's file-transfer manager that accepts every offer, counting them.</summary>
    private sealed class Receiver(string inbox)
    {
        private readonly string _folder = Directory.CreateDirectory(Path.Combine(inbox, Guid.NewGuid().ToString("N"))).FullName;
        private readonly TaskCompletionSource<IncomingFileTransferEventArgs> _received = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _offers;

        public int Offers => Volatile.Read(ref _offers);

        public Task<IncomingFileTransferEventArgs> Received => _received.Task;

        public void Attach(XmppClient client)
        {
            var ft = client.AddExtension(new FileTransferManager());
            ft.IncomingPolicy = (offer, _) =>
            {
                Interlocked.Increment(ref _offers);
                return ValueTask.FromResult(offer.Accept(_folder));
            };
            ft.TransferReceived += (_, e) => _received.TrySetResult(e);
        }
    }
}
