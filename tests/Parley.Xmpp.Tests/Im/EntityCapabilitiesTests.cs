using Parley.Testing;
using Parley.Xmpp.Im;

namespace Parley.Xmpp.Tests.Im;

[Collection(ServerFixture.CollectionName)]
public sealed class EntityCapabilitiesTests(ServerFixture fixture)
{
    private const string TestFeature = "urn:parley:test:caps-change";

    [Theory]
    [MemberData(nameof(Servers.Kinds), MemberType = typeof(Servers))]
    public async Task A_peers_features_are_resolved_from_its_caps_and_follow_a_change(string server)
    {
        await using var session = await ImSession.StartAsync(fixture, server);
        var (alice, bob, aliceSees) = await SubscribedPairAsync(session);
        var bobPresence = await aliceSees.WaitForAsync(e => e.Jid == bob.Jid && e.Current?.Caps is not null, "bob's presence with caps");
        var caps = bobPresence.Current!.Caps!;
        Assert.Equal(bob.Capabilities.Current, caps);

        var info = await alice.Capabilities.GetInfoAsync(bob.Jid!).WaitAsync(ImSession.Timeout);

        Assert.True(info.Supports(XmppNamespaces.Caps));
        Assert.True(info.Supports(XmppNamespaces.Ping));
        Assert.Contains(info.Identities, i => i.Category == "client" && i.Type == "bot");
        Assert.True(alice.Capabilities.IsCached(caps.Hash, caps.Ver)); // verified against the ver, so cached

        // bob gains a feature: his ver changes, he re-broadcasts, alice learns the new feature.
        bob.Disco.AddFeature(TestFeature);
        var changed = await aliceSees.WaitForAsync(e => e.Jid == bob.Jid && e.Current?.Caps is { } c && c.Ver != caps.Ver, "bob's presence with the new ver");
        Assert.Equal(bob.Capabilities.Current.Ver, changed.Current!.Caps!.Ver);
        var updated = await alice.Capabilities.GetInfoAsync(bob.Jid!).WaitAsync(ImSession.Timeout);
        Assert.True(updated.Supports(TestFeature));
        Assert.False(info.Supports(TestFeature));
    }

    [Theory]
    [MemberData(nameof(Servers.Kinds), MemberType = typeof(Servers))]
    public async Task Every_online_resource_of_a_contact_is_described(string server)
    {
        await using var session = await ImSession.StartAsync(fixture, server);
        var (alice, bob, aliceSees) = await SubscribedPairAsync(session);
        var bobLaptop = await session.ConnectAsync(session.AccountOf(bob), "laptop");
        bobLaptop.Disco.AddFeature(TestFeature);
        await bobLaptop.SendPresenceAsync().WaitAsync(ImSession.Timeout);
        await aliceSees.WaitForAsync(e => e.Jid == bob.Jid && e.IsAvailable, "bob's first resource");
        await aliceSees.WaitForAsync(e => e.Jid == bobLaptop.Jid && e.IsAvailable, "bob's second resource");

        var resources = await alice.Capabilities.GetResourcesInfoAsync(bob.Jid!.Bare).WaitAsync(ImSession.Timeout);

        Assert.Equal(2, resources.Count);
        Assert.False(resources.Single(r => r.Resource == bob.Jid!).Info.Supports(TestFeature));
        Assert.True(resources.Single(r => r.Resource == bobLaptop.Jid).Info.Supports(TestFeature));
    }

    [Theory]
    [MemberData(nameof(Servers.Kinds), MemberType = typeof(Servers))]
    public async Task The_server_answers_disco_info(string server)
    {
        await using var session = await ImSession.StartAsync(fixture, server);
        var alice = await session.ConnectAsync(await session.CreateAccountAsync());

        var info = await alice.Disco.QueryInfoAsync(session.Domain).WaitAsync(ImSession.Timeout);
        var viaCaps = await alice.Capabilities.GetInfoAsync(session.Domain).WaitAsync(ImSession.Timeout);

        Assert.Contains(info.Identities, i => i.Category == "server" && i.Type == "im");
        Assert.True(info.Supports(XmppNamespaces.DiscoInfo));
        Assert.Equal(info.Features.Order(StringComparer.Ordinal), viaCaps.Features.Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Servers.Kinds), MemberType = typeof(Servers))]
    public async Task Our_caps_node_is_answered_over_the_network(string server)
    {
        await using var session = await ImSession.StartAsync(fixture, server);
        var (alice, bob, _) = await SubscribedPairAsync(session);
        var own = bob.Capabilities.Current;

        var info = await alice.Disco.QueryInfoAsync(bob.Jid!, $"{own.Node}#{own.Ver}").WaitAsync(ImSession.Timeout);

        Assert.Equal(own.Ver, EntityCapabilities.ComputeVer(info));
        var error = await Assert.ThrowsAsync<XmppStanzaException>(() => alice.Disco.QueryInfoAsync(bob.Jid!, $"{own.Node}#stale").WaitAsync(ImSession.Timeout));
        Assert.Equal("item-not-found", error.Condition);
    }

    /// <summary>Two fresh accounts seeded with a mutual subscription, both online; alice's presence events collected from the start.</summary>
    private static async Task<(XmppClient Alice, XmppClient Bob, EventLog<PresenceChangedEventArgs> AliceSees)> SubscribedPairAsync(ImSession session)
    {
        var aliceAccount = await session.CreateAccountAsync();
        var bobAccount = await session.CreateAccountAsync();
        await session.Server.AddRosterItemAsync(aliceAccount.Localpart, bobAccount.Jid.ToString(), "Bob", "both");
        await session.Server.AddRosterItemAsync(bobAccount.Localpart, aliceAccount.Jid.ToString(), "Alice", "both");
        var alice = await session.ConnectOnlineAsync(aliceAccount, "desk");
        var aliceSees = new EventLog<PresenceChangedEventArgs>();
        alice.Presences.PresenceChanged += (_, e) => aliceSees.Add(e);
        var bob = await session.ConnectOnlineAsync(bobAccount, "phone");
        return (alice, bob, aliceSees);
    }
}
