using Parley.Testing;
using Parley.Xmpp.Im;

namespace Parley.Xmpp.Tests.Im;

[Collection(ServerFixture.CollectionName)]
public sealed class RosterTests(ServerFixture fixture)
{
    [Theory]
    [MemberData(nameof(Servers.Kinds), MemberType = typeof(Servers))]
    public async Task Set_push_and_remove_reach_every_interested_resource(string server)
    {
        await using var session = await ImSession.StartAsync(fixture, server);
        var account = await session.CreateAccountAsync();
        var desk = await session.ConnectOnlineAsync(account, "desk");
        var phone = await session.ConnectOnlineAsync(account, "phone");
        Assert.Empty(desk.Roster.Items);
        var deskPushes = new EventLog<RosterChangedEventArgs>();
        var phonePushes = new EventLog<RosterChangedEventArgs>();
        desk.Roster.Changed += (_, e) => deskPushes.Add(e);
        phone.Roster.Changed += (_, e) => phonePushes.Add(e);
        var carol = Jid.Parse($"carol@{session.Server.Domain}");

        await desk.Roster.SetAsync(new RosterItem(carol) { Name = "Carol", Groups = ["Friends", "Work"] }).WaitAsync(ImSession.Timeout);

        // RFC 6121 §2.3.2: the push goes to every interested resource, the one that asked included.
        var added = await phonePushes.WaitForAsync(e => e.Item.Jid == carol, "the push of the new item on the other resource");
        await deskPushes.WaitForAsync(e => e.Item.Jid == carol, "the push of the new item on the resource that set it");
        Assert.Equal("Carol", added.Item.Name);
        Assert.Equal(RosterSubscription.None, added.Item.Subscription);
        Assert.Equal(["Friends", "Work"], added.Item.Groups.Order(StringComparer.Ordinal));
        Assert.True(phone.Roster.TryGetItem(carol, out var cached));
        Assert.Equal("Carol", cached.Name);

        await desk.Roster.SetAsync(cached with { Name = "Caroline", Groups = ["Work"] }).WaitAsync(ImSession.Timeout);
        var renamed = await phonePushes.WaitForAsync(e => e.Item.Name == "Caroline", "the push of the renamed item");
        Assert.Equal(["Work"], renamed.Item.Groups);

        await phone.Roster.RemoveAsync(carol).WaitAsync(ImSession.Timeout);
        var removed = await deskPushes.WaitForAsync(e => e.Removed, "the push of the removal");
        Assert.Equal(carol, removed.Item.Jid);
        Assert.False(desk.Roster.TryGetItem(carol, out _));

        // A fresh fetch agrees with what the pushes built.
        Assert.Empty(await desk.Roster.GetAsync().WaitAsync(ImSession.Timeout));
    }

    [Theory]
    [MemberData(nameof(Servers.Kinds), MemberType = typeof(Servers))]
    public async Task A_roster_push_from_another_user_is_refused(string server)
    {
        await using var session = await ImSession.StartAsync(fixture, server);
        var alice = await session.ConnectOnlineAsync(await session.CreateAccountAsync());
        var mallory = await session.ConnectOnlineAsync(await session.CreateAccountAsync());
        var changed = false;
        alice.Roster.Changed += (_, _) => changed = true;
        var forged = new XmppElement("query", XmppNamespaces.Roster);
        var item = forged.AddChild("item");
        item.SetAttribute("jid", mallory.Jid!.Bare.ToString());
        item.SetAttribute("subscription", "both");

        // The server routes an IQ to a full JID and stamps the real sender, so this arrives as a push "from mallory".
        var error = await Assert.ThrowsAsync<XmppStanzaException>(() => mallory.SendIqAsync(new Iq(IqType.Set, alice.Jid, forged), ImSession.Timeout));

        Assert.Equal("service-unavailable", error.Condition);
        Assert.False(changed);
        Assert.Empty(alice.Roster.Items);
    }

    [Theory]
    [MemberData(nameof(Servers.Kinds), MemberType = typeof(Servers))]
    public async Task A_new_session_fetches_the_roster_again_with_what_changed_meanwhile(string server)
    {
        await using var session = await ImSession.StartAsync(fixture, server);
        var account = await session.CreateAccountAsync();
        var desk = await session.ConnectOnlineAsync(account, "desk");
        var phone = await session.ConnectOnlineAsync(account, "phone");
        var dave = Jid.Parse($"dave@{session.Server.Domain}");

        await desk.DisconnectAsync();
        await phone.Roster.SetAsync(new RosterItem(dave) { Name = "Dave" }).WaitAsync(ImSession.Timeout);
        var loaded = new EventLog<bool>();
        desk.Roster.Loaded += (_, _) => loaded.Add(true);
        await desk.ConnectAsync().WaitAsync(ImSession.Timeout);

        await loaded.WaitForAsync(_ => true, "the automatic roster fetch after the new session");
        Assert.True(desk.Roster.TryGetItem(dave, out var item));
        Assert.Equal("Dave", item.Name);
        if (desk.RosterVersioningOffered)
        {
            Assert.NotNull(desk.Roster.Version);
        }
    }

    [Theory]
    [MemberData(nameof(Servers.Kinds), MemberType = typeof(Servers))]
    public async Task Items_the_server_seeds_arrive_as_pushes_and_in_the_fetch(string server)
    {
        await using var session = await ImSession.StartAsync(fixture, server);
        var account = await session.CreateAccountAsync();
        var client = await session.ConnectOnlineAsync(account);
        var pushes = new EventLog<RosterChangedEventArgs>();
        client.Roster.Changed += (_, e) => pushes.Add(e);
        var erin = $"erin@{session.Server.Domain}";

        await session.Server.AddRosterItemAsync(account.Localpart, erin, "Erin", "both");

        var push = await pushes.WaitForAsync(e => e.Item.Jid == Jid.Parse(erin), "the push of the seeded item");
        Assert.Equal(RosterSubscription.Both, push.Item.Subscription);
        var fetched = Assert.Single(await client.Roster.GetAsync().WaitAsync(ImSession.Timeout));
        Assert.Equal("Erin", fetched.Name);
        Assert.Equal(RosterSubscription.Both, fetched.Subscription);
    }
}
