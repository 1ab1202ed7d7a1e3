using Parley.Web.Api;
using Parley.Web.Configuration;
using Parley.Xmpp.Core;

namespace Parley.Web.Tests;

/// <summary>The owner's controls without a server: their settings and what a visit may record.</summary>
public sealed class OwnerControlUnitTests
{
    private static GatewayOptions Valid() => new() { Owner = "me@example.org/desk", Component = { Domain = "chat.example.org", Secret = "s" } };

    [Fact]
    public void The_owner_and_the_administrators_control_the_gateway_by_bare_jid()
    {
        var options = Valid();
        options.Admins = ["ops@example.org", "Boss@Example.org"];
        Assert.True(new GatewayOptionsValidator().Validate(null, options).Succeeded);
        Assert.Equal(
            new[] { "boss@example.org", "me@example.org", "ops@example.org" },
            options.Controllers.Select(j => j.ToString()).Order(StringComparer.Ordinal));
        Assert.DoesNotContain(Jid.Parse("someone@example.org"), options.Controllers);
    }

    [Theory]
    [InlineData("example.org")]
    [InlineData("ops@example.org/phone")]
    [InlineData("not a jid@")]
    public void An_administrator_must_be_a_bare_user_jid(string admin)
    {
        var options = Valid();
        options.Admins = [admin];
        Assert.Contains("Admins", new GatewayOptionsValidator().Validate(null, options).FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void The_block_time_and_the_active_window_are_bounded()
    {
        var validator = new GatewayOptionsValidator();
        var block = Valid();
        block.AddressBlockTime = TimeSpan.FromSeconds(5);
        Assert.Contains("AddressBlockTime", validator.Validate(null, block).FailureMessage, StringComparison.Ordinal);
        var window = Valid();
        window.ActiveVisitorWindow = TimeSpan.FromDays(31);
        Assert.Contains("ActiveVisitorWindow", validator.Validate(null, window).FailureMessage, StringComparison.Ordinal);
        var admins = Valid();
        admins.Admins = [.. Enumerable.Range(0, 101).Select(i => $"a{i}@example.org")];
        Assert.Contains("at most 100", validator.Validate(null, admins).FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://shop.example/help?token=secret#top", "https://shop.example/help")]
    [InlineData("http://shop.example", "http://shop.example/")]
    [InlineData("javascript:alert(1)", null)]
    [InlineData("/relative/page", null)]
    [InlineData("ftp://shop.example/file", null)]
    [InlineData(null, null)]
    public void Only_the_http_address_of_the_page_is_kept(string? page, string? kept)
        => Assert.Equal(kept, ConversationControls.CleanPage(page));

    [Fact]
    public void A_page_address_over_the_limit_is_dropped()
        => Assert.Null(ConversationControls.CleanPage("https://shop.example/" + new string('a', ConversationControls.MaxPageLength)));
}
