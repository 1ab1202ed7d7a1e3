using Parley.Bots.Hosting;

namespace Parley.Bots.Tests;

public sealed class RoomAddressingUnitTests
{
    [Theory]
    [InlineData("reports: 1234", "1234")]
    [InlineData("reports, 1234", "1234")]
    [InlineData("REPORTS:1234", "1234")]
    [InlineData("  Reports,   report 1234  ", "report 1234")]
    [InlineData("!report 1234", "report 1234")]
    [InlineData("!echo hi", "echo hi")]
    public void Finds_the_request_after_a_mention_or_the_prefix(string body, string expected)
        => Assert.Equal(expected, RoomAddressing.Request(body, "reports", "!"));

    [Theory]
    [InlineData("reports 1234")]
    [InlineData("reportsbot: 1234")]
    [InlineData("hey reports: 1234")]
    [InlineData("reports:")]
    [InlineData("reports,   ")]
    [InlineData("! report 1234")]
    [InlineData("!")]
    [InlineData("just talking")]
    public void Ignores_what_is_not_addressed_to_the_bot(string body)
        => Assert.Null(RoomAddressing.Request(body, "reports", "!"));

    [Fact]
    public void Without_a_prefix_only_the_mention_addresses_the_bot()
    {
        Assert.Null(RoomAddressing.Request("!report 1234", "reports", null));
        Assert.Equal("1234", RoomAddressing.Request("reports: 1234", "reports", null));
    }

    [Fact]
    public void The_validator_names_each_bad_room_setting()
    {
        var options = new BotHostOptions();
        options.Bots["r"] = new BotOptions
        {
            Kind = BotKind.Echo,
            Jid = "bot@example.org",
            Password = "x",
            CommandPrefix = "! !",
            Rooms =
            [
                new RoomOptions { Jid = "team@conference.example.org/nick", Nick = "echo" },
                new RoomOptions { Jid = "team@conference.example.org", Nick = " " },
                new RoomOptions { Jid = "ok@conference.example.org", Nick = "echo", Password = new string('p', 1025) },
                new RoomOptions { Jid = "ok@conference.example.org", Nick = "echo" },
            ],
        };

        var failures = new BotHostOptionsValidator().Validate(null, options).Failures!.ToList();
        Assert.Contains(failures, f => f.Contains("CommandPrefix '! !'", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.Contains("Rooms:0:Jid", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.Contains("Rooms:1:Nick", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.Contains("Rooms:2:Password", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.Contains("Rooms:3:Jid 'ok@conference.example.org' is listed twice", StringComparison.Ordinal));
        Assert.Equal(5, failures.Count);
    }
}
