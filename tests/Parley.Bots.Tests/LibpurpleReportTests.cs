using System.Security.Cryptography;
using Parley.Testing;

namespace Parley.Bots.Tests;

/// <summary>
/// The report bot and the real libpurple 2.14 (finch, Pidgin's engine), which takes only SI file transfer: the user
/// sends "1234" from finch, and the file lands in libpurple's download folder.
/// </summary>
[Collection(ServerFixture.CollectionName)]
public sealed class LibpurpleReportTests(ServerFixture servers) : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);
    private readonly string _reports = Directory.CreateTempSubdirectory("parley-reports-").FullName;

    [Fact]
    public async Task Libpurple_asks_and_receives_the_report_file_over_si()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        var content = RandomNumberGenerator.GetBytes(1_000_000);
        await File.WriteAllBytesAsync(Path.Combine(_reports, "1234.pdf"), content);
        var settings = new Dictionary<string, string?>
        {
            ["Parley:Bots:reports:Report:Folder"] = _reports,
            ["Parley:Bots:reports:Report:StreamhostAddresses:0"] = "127.0.0.1",
        };
        var bot = await BotHost.ConfigureAsync(settings, server, "reports", "Report");
        var userAccount = await server.CreateAccountAsync();
        await server.AddRosterItemAsync(bot.Localpart, userAccount.Jid.ToString(), "user");
        await server.AddRosterItemAsync(userAccount.Localpart, bot.Jid.ToString(), "reports");
        await using var host = await BotHost.StartAsync(settings);
        await using var purple = await LibpurpleClient.StartAsync(server, userAccount, [bot.Jid]);
        await purple.WaitUntilOnlineAsync(bot.Jid, Patience);

        await purple.SendMessageAsync(bot.Jid, "1234");
        var saved = await purple.WaitForReceivedFileAsync("1234.pdf", content.Length, Patience);

        Assert.Equal(Files.Sha256(content), Files.Sha256(await File.ReadAllBytesAsync(saved)));
    }

    public void Dispose() => Directory.Delete(_reports, recursive: true);
}
