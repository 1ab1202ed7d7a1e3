using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Parley.Bots.Reports;
using Parley.Testing;
using Parley.Xmpp.Accounts;
using Parley.Xmpp.Core;

namespace Parley.Bots.Tests;

/// <summary>
/// The bots' ad-hoc commands (XEP-0050), run by a real client (slixmpp's xep_0050): the report bot's "Get a report"
/// form gives the same outcomes as a chat message and the file arrives; the rules for messages hold for commands.
/// </summary>
[Collection(ServerFixture.CollectionName)]
public sealed class BotCommandTests(ServerFixture servers) : IDisposable
{
    private readonly string _reports = Directory.CreateTempSubdirectory("parley-reports-").FullName;

    public static TheoryData<string> Kinds => Servers.Kinds;

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Slixmpp_gets_a_report_through_the_command_form_and_the_file_arrives(string kind)
    {
        var server = await servers.GetAsync(kind);
        var content = RandomNumberGenerator.GetBytes(40_000);
        await File.WriteAllBytesAsync(Path.Combine(_reports, "1234.pdf"), content);
        var settings = new Dictionary<string, string?> { ["Parley:Bots:reports:Report:Folder"] = _reports };
        var bot = await BotHost.ConfigureAsync(settings, server, "reports", "Report");
        await using var host = await BotHost.StartAsync(settings);
        var asker = await server.CreateAccountAsync();

        using var result = await RunSlixmppAsync(server, asker, bot.Jid.WithResource("bot"), "12ab", "1234");
        var root = result.RootElement;
        Assert.Equal(["help", "report"], root.GetProperty("commands").EnumerateArray().Select(e => e.GetString()).Order());
        Assert.Equal([ReportBot.HelpText], Strings(root.GetProperty("help")));

        var bad = root.GetProperty("bad");
        Assert.Equal(["project"], Strings(bad.GetProperty("form")));
        Assert.Equal("completed", bad.GetProperty("status").GetString());
        Assert.StartsWith("'12ab' is not a project number.", Strings(bad.GetProperty("notes")).Single());

        var good = root.GetProperty("good");
        Assert.Equal(["Fetching report 1234; it follows in a chat with you."], Strings(good.GetProperty("notes")));
        var chat = Strings(root.GetProperty("chat"));
        Assert.Equal("Fetching report 1234…", chat[0]);
        Assert.Equal("Sending 1234.pdf (39.1 KB)…", chat[1]);
        var url = new Uri(root.GetProperty("url").GetString()!);
        Assert.Equal(Files.Sha256(content), await Files.DownloadSha256Async(url));
    }

    [Fact]
    public async Task Commands_follow_the_allow_list_and_the_rate_limit()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        var friend = await server.CreateAccountAsync();
        var settings = new Dictionary<string, string?>
        {
            ["Parley:Bots:echo:AllowedSenders:0"] = friend.Jid.ToString(),
            ["Parley:Bots:echo:RateLimit:Burst"] = "1",
            ["Parley:Bots:echo:RateLimit:PerMinute"] = "0.5",
        };
        var bot = (await BotHost.ConfigureAsync(settings, server, "echo", "Echo")).Jid.WithResource("bot");
        await using var host = await BotHost.StartAsync(settings);
        await using var stranger = await Person.ConnectAsync(server);
        await using var allowed = await Person.ConnectAsync(server, friend);

        var refused = await Assert.ThrowsAsync<XmppStanzaException>(() => stranger.Client.ExecuteCommandAsync(bot, "help"));
        Assert.Equal("forbidden", refused.Error.Condition);

        var help = await allowed.Client.ExecuteCommandAsync(bot, "help");
        Assert.Equal(AdHocCommandStatus.Completed, help.Status);
        Assert.Equal("I send back every message you send me.", help.Notes.Single().Text);
        var limited = await allowed.Client.ExecuteCommandAsync(bot, "help");
        Assert.Matches(@"^Too many messages — I answer again in \d+ s\.$", limited.ErrorText);
    }

    public void Dispose() => Directory.Delete(_reports, recursive: true);

    private static string[] Strings(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetString()!)];

    private static async Task<JsonDocument> RunSlixmppAsync(XmppTestServer server, TestAccount account, Jid bot, string bad, string project)
    {
        var script = Path.Combine(AppContext.BaseDirectory, "Interop", "slixmpp_report_command.py");
        var info = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { script, $"{account.Jid}/slix", account.Password, server.Host, server.ClientPort.ToString(CultureInfo.InvariantCulture), bot.ToString(), bad, project })
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(120));
        Assert.True(process.ExitCode == 0, $"slixmpp: {await stdout}\n{await stderr}");
        return JsonDocument.Parse(await stdout);
    }
}
