using System.Text.RegularExpressions;
using Parley.Testing;
using Parley.Web.Xmpp;
using Parley.Xmpp.Core;
using Parley.Xmpp.Im;
using Parley.Xmpp.Stanzas;

namespace Parley.Web.Tests;

/// <summary>
/// The owner's commands reached the way Pidgin users reach them: the real libpurple 2.14 (finch) logged in as the owner
/// learns them from the gateway's presence (entity caps → disco#info → the command list) and lists them in the gateway
/// buddy's context menu, which the test opens with finch's keys and reads off the screen.
/// </summary>
[Collection(ServerFixture.CollectionName)]
public sealed partial class OwnerCommandLibpurpleTests(ServerFixture servers)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    /// <summary>The command names in the order of the gateway's command list (sorted by node), which libpurple keeps.</summary>
    private static readonly string[] s_listed = ["Set the away message", "Block a visitor", "End a conversation", "Unblock a visitor", "Active visitors"];

    [Theory]
    [MemberData(nameof(Servers.Kinds), MemberType = typeof(Servers))]
    public async Task Finch_lists_the_owners_commands_in_the_gateway_buddys_menu(string kind)
    {
        var server = await servers.GetAsync(kind);
        var gatewayJid = Jid.Create(null, server.ComponentDomain);
        // Another client of the owner approves the gateway's request and subscribes back, as the owner does once; from
        // then on the owner's server probes the gateway whenever the owner logs in.
        await using var desk = await Owner.ConnectAsync(server);
        await using var gateway = await GatewayHost.StartAsync(server, desk.Account.Jid.ToString());
        await desk.ApproveGatewayAsync(server.ComponentDomain);
        await desk.Client.Presences.SubscribeAsync(gatewayJid);
        var presence = await desk.NextPresenceAsync(p => p.From?.Bare == gatewayJid && p.Type == PresenceType.Available);
        Assert.Equal(gatewayJid.WithResource(ComponentLink.GatewayResource), presence.From);
        Assert.Equal("sha-1", CapsDescriptor.FromPresence(presence)?.Hash);

        await using var purple = await LibpurpleClient.StartAsync(server, desk.Account, [gatewayJid]);
        await purple.WaitUntilOnlineAsync(gatewayJid, Patience);

        // The buddy list has the focus and shows the group, then the gateway: select it and open its context menu
        // (Ctrl+X, or F11). libpurple asks for the command list after it verified the caps, so the menu is opened again
        // until the list is there.
        await purple.PressAsync(["Down"]);
        var screen = "";
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            await purple.PressAsync(["C-x"]);
            screen = await purple.WaitForScreenAsync(s => s.Contains("Get Info", StringComparison.Ordinal), "the buddy's context menu", Patience);
            if (s_listed.All(name => screen.Contains(name, StringComparison.Ordinal)) || DateTime.UtcNow > deadline)
            {
                break;
            }

            await purple.PressAsync(["Escape"]);
            await Task.Delay(TimeSpan.FromSeconds(1));
        }

        // Each command is a menu item (finch gives each item a trigger key in parentheses), in the order of the list.
        var items = MenuItem().Matches(screen).Select(m => m.Groups[1].Value).ToList();
        var commands = items.Where(s_listed.Contains).ToList();
        Assert.True(s_listed.SequenceEqual(commands), $"The menu lists {string.Join(", ", items)}.\n{purple.Diagnostics()}");
    }

    [GeneratedRegex(@"x([A-Z][A-Za-z .]+?)\s+\(.\)")]
    private static partial Regex MenuItem();
}
