using Microsoft.Extensions.Options;
using Parley.Web.Api;
using Parley.Web.Configuration;
using Parley.Web.Text;
using Parley.Web.Xmpp;
using Parley.Xmpp.Stanzas;

namespace Parley.Web.Tests;

/// <summary>Pieces that need no server: text rules, the owner-presence summary, options validation.</summary>
public sealed class GatewayUnitTests
{
    [Theory]
    [InlineData("plain text", true)]
    [InlineData("tabs\tand\nnew\r\nlines", true)]
    [InlineData("emoji 😀 and ünïcödé", true)]
    [InlineData("nul \u0000", false)]
    [InlineData("bell \u0007", false)]
    [InlineData("not a char \uffff", false)]
    public void Only_text_XML_can_carry_is_accepted(string text, bool expected) => Assert.Equal(expected, TextRules.IsXmlSafe(text));

    [Fact]
    public void Lone_surrogates_are_refused()
    {
        // Built at run time: attribute arguments are stored as UTF-8, which would turn a lone surrogate into U+FFFD.
        Assert.False(TextRules.IsXmlSafe("lone high " + (char)0xD83D + " here"));
        Assert.False(TextRules.IsXmlSafe("lone low " + (char)0xDE00 + " here"));
        Assert.False(TextRules.IsXmlSafe("swapped " + (char)0xDE00 + (char)0xD83D));
        Assert.True(TextRules.IsXmlSafe("pair " + (char)0xD83D + (char)0xDE00));
    }

    [Fact]
    public void Owner_presence_is_online_if_any_resource_is_online_and_offline_when_all_left()
    {
        var presence = new OwnerPresence();
        Assert.Equal(OwnerPresence.Offline, presence.For("v"));
        Assert.Equal(OwnerPresence.Away, presence.Apply("v", "phone", PresenceShow.ExtendedAway));
        Assert.Equal(OwnerPresence.Online, presence.Apply("v", "desk", PresenceShow.Online));
        Assert.Null(presence.Apply("v", "phone", PresenceShow.DoNotDisturb));
        Assert.Equal(OwnerPresence.Away, presence.Apply("v", "desk", null));
        Assert.Equal(OwnerPresence.Offline, presence.Apply("v", "phone", null));
        Assert.Equal(OwnerPresence.Offline, presence.For("v"));
        Assert.Equal(OwnerPresence.Offline, presence.For("someone else"));
    }

    [Theory]
    [InlineData("Alex", true)]
    [InlineData("", true)]
    [InlineData("two\nlines", false)]
    [InlineData("a name that is far too long to be shown in the header of a chat page, really", false)]
    public void The_owners_name_is_short_text_on_one_line(string name, bool valid)
    {
        var options = new GatewayOptions { Owner = "owner@example.org", OwnerName = name };
        options.Component.Domain = "chat.example.org";
        options.Component.Secret = "secret";
        var result = new GatewayOptionsValidator().Validate(null, options);
        Assert.Equal(valid, !(result.Failures?.Any(f => f.Contains("OwnerName", StringComparison.Ordinal)) ?? false));
    }

    [Fact]
    public void Shared_owner_presence_is_what_every_visitor_sees_and_a_visitors_own_copy_changes_nothing()
    {
        var presence = new OwnerPresence(shared: true);
        Assert.Equal(OwnerPresence.Offline, presence.For("new visitor"));
        Assert.False(presence.IsAvailableToAnyVisitor);
        Assert.Equal(OwnerPresence.Away, presence.ApplyShared("phone", PresenceShow.Away));
        Assert.Equal(OwnerPresence.Online, presence.ApplyShared("desk", PresenceShow.Chat));
        Assert.Equal(OwnerPresence.Online, presence.For("new visitor"));
        Assert.Equal(OwnerPresence.Online, presence.For("another"));
        Assert.True(presence.IsAvailableToAnyVisitor);
        presence.Apply("another", "desk", null);
        Assert.Equal(OwnerPresence.Online, presence.For("another"));
        Assert.Equal(OwnerPresence.Away, presence.ApplyShared("desk", null));
        Assert.Equal(OwnerPresence.Offline, presence.ForgetShared());
        Assert.Null(presence.ForgetShared());
        Assert.Equal(OwnerPresence.Offline, presence.For("new visitor"));
    }

    [Fact]
    public void Owner_presence_is_per_visitor_and_cleared_when_the_link_drops()
    {
        var presence = new OwnerPresence();
        presence.Apply("a", "desk", PresenceShow.Online);
        Assert.Equal(OwnerPresence.Offline, presence.For("b"));
        Assert.Equal(["a"], presence.Clear());
        Assert.Equal(OwnerPresence.Offline, presence.For("a"));
        Assert.Null(presence.Forget("a"));
    }

    [Fact]
    public void Invalid_settings_are_reported_together()
    {
        var options = new GatewayOptions
        {
            Owner = "not a jid@@",
            Component = new GatewayOptions.ComponentSettings { Domain = "user@chat.example.org", Secret = "", Port = 70000 },
            MaxMessageLength = 0,
        };
        var result = new GatewayOptionsValidator().Validate(null, options);
        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, f => f.Contains("Parley:Owner", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.Contains("Component:Domain", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.Contains("Component:Secret", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.Contains("Component:Port", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.Contains("MaxMessageLength", StringComparison.Ordinal));

        var good = new GatewayOptions
        {
            Owner = "owner@example.org",
            Component = new GatewayOptions.ComponentSettings { Domain = "chat.example.org", Secret = "s" },
        };
        Assert.True(new GatewayOptionsValidator().Validate(null, good).Succeeded);
    }

    [Fact]
    public async Task The_app_refuses_to_start_with_invalid_settings()
    {
        await using var app = GatewayApp.Create(["--urls=http://127.0.0.1:0", "--Parley:Owner=", "--Parley:Component:Domain=chat.example.org", "--Parley:Component:Secret=s"]);
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());
        Assert.Contains("Parley:Owner", error.Message, StringComparison.Ordinal);
    }
}
