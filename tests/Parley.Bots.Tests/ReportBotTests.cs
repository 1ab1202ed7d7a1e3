using System.Security.Cryptography;
using Parley.Testing;
using Parley.Xmpp.Core;
using Parley.Xmpp.Upload;

namespace Parley.Bots.Tests;

/// <summary>The report bot end to end: a person asks, the bot fetches from a folder or a local HTTP "intranet" and sends an upload link.</summary>
[Collection(ServerFixture.CollectionName)]
public sealed class ReportBotTests(ServerFixture servers) : IDisposable
{
    private readonly string _reports = Directory.CreateTempSubdirectory("parley-reports-").FullName;
    private readonly FakeIntranet _intranet = new();

    public static TheoryData<string> Kinds => Servers.Kinds;

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Delivers_a_report_from_a_folder_as_an_upload_link_with_progress_messages(string kind)
    {
        var server = await servers.GetAsync(kind);
        var content = RandomNumberGenerator.GetBytes(150_000);
        await File.WriteAllBytesAsync(Path.Combine(_reports, "1234.pdf"), content);
        var settings = new Dictionary<string, string?> { ["Parley:Bots:reports:Report:Folder"] = _reports };
        var bot = await BotHost.ConfigureAsync(settings, server, "reports", "Report");
        await using var host = await BotHost.StartAsync(settings);
        await using var user = await Person.ConnectAsync(server);

        await user.SayAsync(bot.Jid, "1234");

        Assert.Equal("Fetching report 1234…", await user.NextBodyAsync());
        Assert.Equal("Sending 1234.pdf (146.5 KB)…", await user.NextBodyAsync());
        Assert.Equal("Your client accepts no file transfer; here is a link instead:", await user.NextBodyAsync());
        var link = await user.NextAsync();
        var url = OutOfBand.GetUrl(link);
        Assert.NotNull(url);
        Assert.Equal(url.OriginalString, link.Body);
        Assert.EndsWith("1234.pdf", url.AbsolutePath);
        Assert.Equal(Files.Sha256(content), await Files.DownloadSha256Async(url));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task With_file_transfer_off_a_client_that_announces_it_is_told_here_is_the_link(string kind)
    {
        var server = await servers.GetAsync(kind);
        var content = RandomNumberGenerator.GetBytes(2048);
        await File.WriteAllBytesAsync(Path.Combine(_reports, "77.pdf"), content);
        var settings = new Dictionary<string, string?> { ["Parley:Bots:reports:Report:Folder"] = _reports, ["Parley:Bots:reports:Report:FileTransfer"] = "false" };
        var bot = await BotHost.ConfigureAsync(settings, server, "reports", "Report");
        await using var host = await BotHost.StartAsync(settings);
        await using var user = await Person.ConnectAsync(server);
        user.Client.Disco.AddFeature("http://jabber.org/protocol/si/profile/file-transfer");

        await user.SayAsync(bot.Jid, "77");
        Assert.Equal("Fetching report 77…", await user.NextBodyAsync());
        Assert.Equal("Sending 77.pdf (2 KB)…", await user.NextBodyAsync());
        Assert.Equal("Here is the link to 77.pdf:", await user.NextBodyAsync());
        var url = OutOfBand.GetUrl(await user.NextAsync());
        Assert.NotNull(url);
        Assert.Equal(Files.Sha256(content), await Files.DownloadSha256Async(url));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Answers_help_invalid_input_unknown_projects_and_traversal_attempts_clearly(string kind)
    {
        var server = await servers.GetAsync(kind);
        var settings = new Dictionary<string, string?> { ["Parley:Bots:reports:Report:Folder"] = _reports };
        var bot = await BotHost.ConfigureAsync(settings, server, "reports", "Report");
        await using var host = await BotHost.StartAsync(settings);
        await using var user = await Person.ConnectAsync(server);

        await user.SayAsync(bot.Jid, "help");
        Assert.Contains("project number", await user.NextBodyAsync());
        await user.SayAsync(bot.Jid, "Report 9999");
        Assert.Equal("Fetching report 9999…", await user.NextBodyAsync());
        Assert.Equal("No report for project 9999.", await user.NextBodyAsync());
        await user.SayAsync(bot.Jid, "report ../../etc/passwd");
        Assert.StartsWith("'../../etc/passwd' is not a project number.", await user.NextBodyAsync());
        await user.SayAsync(bot.Jid, "/etc/passwd");
        Assert.StartsWith("'/etc/passwd' is not a project number.", await user.NextBodyAsync());
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Delivers_a_report_from_an_http_source_with_bearer_auth(string kind)
    {
        var server = await servers.GetAsync(kind);
        var content = RandomNumberGenerator.GetBytes(64_000);
        _intranet.File("/reports/4711.pdf", content);
        var settings = HttpSettings();
        settings["Parley:Bots:reports:Report:Authentication"] = "Bearer";
        settings["Parley:Bots:reports:Report:Secret"] = "s3cret-token";
        var bot = await BotHost.ConfigureAsync(settings, server, "reports", "Report");
        await using var host = await BotHost.StartAsync(settings);
        await using var user = await Person.ConnectAsync(server);

        await user.SayAsync(bot.Jid, "report 4711");
        Assert.Equal("Fetching report 4711…", await user.NextBodyAsync());
        Assert.Equal("Sending 4711.pdf (62.5 KB)…", await user.NextBodyAsync());
        Assert.StartsWith("Your client accepts no file transfer", await user.NextBodyAsync());
        var url = OutOfBand.GetUrl(await user.NextAsync());
        Assert.NotNull(url);
        Assert.Equal(Files.Sha256(content), await Files.DownloadSha256Async(url));
        Assert.Contains(_intranet.Requests, r => r.Path == "/reports/4711.pdf" && r.Authorization == "Bearer s3cret-token");

        await user.SayAsync(bot.Jid, "4712");
        Assert.Equal("Fetching report 4712…", await user.NextBodyAsync());
        Assert.Equal("No report for project 4712.", await user.NextBodyAsync());
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_source_that_hangs_or_fails_gets_try_again_later_while_other_users_are_served(string kind)
    {
        var server = await servers.GetAsync(kind);
        _intranet.Hang("/reports/5555.pdf");
        _intranet.Status("/reports/6666.pdf", 500);
        _intranet.File("/reports/1234.pdf", RandomNumberGenerator.GetBytes(1000));
        var settings = HttpSettings();
        settings["Parley:Bots:reports:Report:Timeout"] = "00:00:03";
        var bot = await BotHost.ConfigureAsync(settings, server, "reports", "Report");
        await using var host = await BotHost.StartAsync(settings);
        await using var slow = await Person.ConnectAsync(server);
        await using var quick = await Person.ConnectAsync(server);

        await slow.SayAsync(bot.Jid, "5555");
        Assert.Equal("Fetching report 5555…", await slow.NextBodyAsync());
        await slow.SayAsync(bot.Jid, "5555");
        Assert.Equal("I am still working on your previous request; one moment please.", await slow.NextBodyAsync());

        // Served while the first request still waits for the hanging source.
        await quick.SayAsync(bot.Jid, "1234");
        Assert.Equal("Fetching report 1234…", await quick.NextBodyAsync());
        Assert.StartsWith("Sending 1234.pdf", await quick.NextBodyAsync());
        Assert.StartsWith("Your client accepts no file transfer", await quick.NextBodyAsync());
        Assert.NotNull(OutOfBand.GetUrl(await quick.NextAsync()));

        Assert.Equal("The report source did not answer — try again later.", await slow.NextBodyAsync(10));

        await quick.SayAsync(bot.Jid, "6666");
        Assert.Equal("Fetching report 6666…", await quick.NextBodyAsync());
        Assert.Equal("The report source did not answer — try again later.", await quick.NextBodyAsync());
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_report_over_the_size_limit_is_refused(string kind)
    {
        var server = await servers.GetAsync(kind);
        _intranet.File("/reports/2222.pdf", new byte[5000]);
        var settings = HttpSettings();
        settings["Parley:Bots:reports:Report:MaxBytes"] = "4096";
        var bot = await BotHost.ConfigureAsync(settings, server, "reports", "Report");
        await using var host = await BotHost.StartAsync(settings);
        await using var user = await Person.ConnectAsync(server);

        await user.SayAsync(bot.Jid, "2222");
        Assert.Equal("Fetching report 2222…", await user.NextBodyAsync());
        Assert.StartsWith("The report for project 2222 is too large to send.", await user.NextBodyAsync());
    }

    [Fact]
    public async Task Stopping_the_host_cancels_a_request_waiting_on_a_hanging_source()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        _intranet.Hang("/reports/5555.pdf");
        var settings = HttpSettings();
        settings["Parley:Bots:reports:Report:Timeout"] = "00:05:00";
        var bot = await BotHost.ConfigureAsync(settings, server, "reports", "Report");
        var host = await BotHost.StartAsync(settings);
        await using var user = await Person.ConnectAsync(server);
        await user.SayAsync(bot.Jid, "5555");
        Assert.Equal("Fetching report 5555…", await user.NextBodyAsync());

        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        await host.StopAsync(TimeSpan.FromSeconds(1));
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10), $"stopping took {stopwatch.Elapsed}");
        Assert.All(host.Service.Runners, r => Assert.Equal(XmppConnectionState.Disconnected, r.Client.State));
        await host.DisposeAsync();
    }

    public void Dispose()
    {
        _intranet.Dispose();
        Directory.Delete(_reports, recursive: true);
    }

    private Dictionary<string, string?> HttpSettings() => new()
    {
        ["Parley:Bots:reports:Report:UrlTemplate"] = _intranet.Url("/reports/{project}.pdf"),
    };
}
