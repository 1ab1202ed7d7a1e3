using Parley.Testing;
using Parley.Xmpp.Im;

namespace Parley.Xmpp.Tests.Im;

[Collection(ServerFixture.CollectionName)]
public sealed class PresenceTests(ServerFixture fixture)
{
    [Theory]
    [MemberData(nameof(Servers.Kinds), MemberType = typeof(Servers))]
    public async Task Mutual_subscription_lets_both_see_each_others_presence(string server)
    {
        await using var session = await ImSession.StartAsync(fixture, server);
        var alice = await session.ConnectOnlineAsync(await session.CreateAccountAsync(), "desk");
        var bob = await session.ConnectOnlineAsync(await session.CreateAccountAsync(), "phone");
        var aliceJid = alice.Jid!.Bare;
        var bobJid = bob.Jid!.Bare;
        var alicePushes = Collect(alice.Roster);
        var bobPushes = Collect(bob.Roster);
        var aliceSubscriptions = new EventLog<SubscriptionChangedEventArgs>();
        alice.Presences.SubscriptionChanged += (_, e) => aliceSubscriptions.Add(e);
        var bobSubscriptions = new EventLog<SubscriptionChangedEventArgs>();
        bob.Presences.SubscriptionChanged += (_, e) => bobSubscriptions.Add(e);
        var aliceRequests = new EventLog<SubscriptionRequestedEventArgs>();
        alice.Presences.SubscriptionRequested += (_, e) => aliceRequests.Add(e);
        var bobRequests = new EventLog<SubscriptionRequestedEventArgs>();
        bob.Presences.SubscriptionRequested += (_, e) => bobRequests.Add(e);
        var aliceSees = new EventLog<PresenceChangedEventArgs>();
        alice.Presences.PresenceChanged += (_, e) => aliceSees.Add(e);
        var bobSees = new EventLog<PresenceChangedEventArgs>();
        bob.Presences.PresenceChanged += (_, e) => bobSees.Add(e);

        // alice → bob: request, pending in alice's roster (RFC 6121 §3.1.2).
        await alice.Presences.SubscribeAsync(bobJid).WaitAsync(ImSession.Timeout);
        var pending = await alicePushes.WaitForAsync(e => e.Item.Jid == bobJid, "alice's roster push for the pending request");
        Assert.True(pending.Item.Ask);
        Assert.Equal(RosterSubscription.None, pending.Item.Subscription);
        var request = await bobRequests.WaitForAsync(e => e.From == aliceJid, "bob getting alice's request");

        // bob approves: alice's item becomes "to", bob's "from", and alice sees bob's presence.
        await bob.Presences.ApproveSubscriptionAsync(request.From).WaitAsync(ImSession.Timeout);
        await aliceSubscriptions.WaitForAsync(e => e.From == bobJid && e.Change == SubscriptionChange.Subscribed, "alice learning bob approved");
        await alicePushes.WaitForAsync(e => e.Item.Jid == bobJid && e.Item.Subscription == RosterSubscription.To && !e.Item.Ask, "alice's roster push with subscription 'to'");
        await bobPushes.WaitForAsync(e => e.Item.Jid == aliceJid && e.Item.Subscription == RosterSubscription.From, "bob's roster push with subscription 'from'");
        var bobOnline = await aliceSees.WaitForAsync(e => e.Jid == bob.Jid && e.IsAvailable, "alice seeing bob's presence");
        Assert.True(alice.Presences.IsAvailable(bobJid));

        // XEP-0115: bob's presence carried his caps.
        Assert.Equal(bob.Capabilities.Current, bobOnline.Current!.Caps);

        // bob → alice, alice approves: both.
        await bob.Presences.SubscribeAsync(aliceJid).WaitAsync(ImSession.Timeout);
        await aliceRequests.WaitForAsync(e => e.From == bobJid, "alice getting bob's request");
        await alice.Presences.ApproveSubscriptionAsync(bobJid).WaitAsync(ImSession.Timeout);
        await bobSubscriptions.WaitForAsync(e => e.From == aliceJid && e.Change == SubscriptionChange.Subscribed, "bob learning alice approved");
        await alicePushes.WaitForAsync(e => e.Item.Jid == bobJid && e.Item.Subscription == RosterSubscription.Both, "alice's item becoming 'both'");
        await bobPushes.WaitForAsync(e => e.Item.Jid == aliceJid && e.Item.Subscription == RosterSubscription.Both, "bob's item becoming 'both'");
        await bobSees.WaitForAsync(e => e.Jid == alice.Jid && e.IsAvailable, "bob seeing alice's presence");

        // A presence change travels; going unavailable removes the resource.
        await bob.SendPresenceAsync(PresenceShow.Away, "lunch").WaitAsync(ImSession.Timeout);
        await aliceSees.WaitForAsync(e => e.Jid == bob.Jid && e.Current?.Show == PresenceShow.Away && e.Current.Status == "lunch", "alice seeing bob away");
        await bob.SendAsync(new Presence(PresenceType.Unavailable)).WaitAsync(ImSession.Timeout);
        await aliceSees.WaitForAsync(e => e.Jid == bob.Jid && !e.IsAvailable, "alice seeing bob go offline");
        Assert.False(alice.Presences.IsAvailable(bobJid));
        Assert.Empty(alice.Presences.GetResources(bobJid));
    }

    [Theory]
    [MemberData(nameof(Servers.Kinds), MemberType = typeof(Servers))]
    public async Task Disconnecting_with_stream_management_ends_the_session_at_once_so_contacts_see_it(string server)
    {
        // A client that only drops the socket leaves a resumable session behind (ejabberd keeps it 300 s, Prosody
        // hibernates it): contacts go on seeing it online. A polite close (RFC 6120 4.4) must end it.
        await using var session = await ImSession.StartAsync(fixture, server);
        var (aliceAccount, bobAccount) = (await session.CreateAccountAsync(), await session.CreateAccountAsync());
        await session.Server.AddRosterItemAsync(aliceAccount.Localpart, bobAccount.Jid.ToString(), "bob");
        await session.Server.AddRosterItemAsync(bobAccount.Localpart, aliceAccount.Jid.ToString(), "alice");
        var alice = await session.ConnectOnlineAsync(aliceAccount, "desk");
        var aliceSees = new EventLog<PresenceChangedEventArgs>();
        alice.Presences.PresenceChanged += (_, e) => aliceSees.Add(e);
        var bob = await session.ConnectOnlineAsync(bobAccount, "phone");
        Assert.True(bob.IsStreamManagementEnabled);
        await aliceSees.WaitForAsync(e => e.Jid == bob.Jid && e.IsAvailable, "alice seeing bob online");

        // Traffic on its way to bob while he closes (here: his own messages coming back): a socket closed with unread
        // data is reset, and the reset throws away his closing tag on the server's side unless he waits for the
        // server's own closing tag before closing the socket.
        for (var i = 0; i < 5; i++)
        {
            await bob.SendAsync(new Message(bob.Jid!, "note to self " + i)).WaitAsync(ImSession.Timeout);
        }

        await bob.DisconnectAsync().WaitAsync(ImSession.Timeout);
        await aliceSees.WaitForAsync(e => e.Jid == bob.Jid && !e.IsAvailable, "alice seeing bob go offline when he disconnects");
    }

    [Theory]
    [MemberData(nameof(Servers.Kinds), MemberType = typeof(Servers))]
    public async Task A_denied_request_is_reported_to_the_requester(string server)
    {
        await using var session = await ImSession.StartAsync(fixture, server);
        var carol = await session.ConnectOnlineAsync(await session.CreateAccountAsync());
        var bob = await session.ConnectOnlineAsync(await session.CreateAccountAsync());
        var carolSubscriptions = new EventLog<SubscriptionChangedEventArgs>();
        carol.Presences.SubscriptionChanged += (_, e) => carolSubscriptions.Add(e);
        var carolPushes = Collect(carol.Roster);
        var bobRequests = new EventLog<SubscriptionRequestedEventArgs>();
        bob.Presences.SubscriptionRequested += (_, e) => bobRequests.Add(e);

        await carol.Presences.SubscribeAsync(bob.Jid!).WaitAsync(ImSession.Timeout);
        var request = await bobRequests.WaitForAsync(e => e.From == carol.Jid!.Bare, "bob getting carol's request");
        await bob.Presences.DenySubscriptionAsync(request.From).WaitAsync(ImSession.Timeout);

        await carolSubscriptions.WaitForAsync(e => e.From == bob.Jid!.Bare && e.Change == SubscriptionChange.Unsubscribed, "carol learning bob refused");
        await carolPushes.WaitForAsync(e => e.Item.Jid == bob.Jid!.Bare && !e.Item.Ask && e.Item.Subscription == RosterSubscription.None, "carol's request no longer pending");
        Assert.False(carol.Presences.IsAvailable(bob.Jid!.Bare));
    }

    [Theory]
    [MemberData(nameof(Servers.Kinds), MemberType = typeof(Servers))]
    public async Task Unsubscribing_stops_presence_and_tells_the_contact(string server)
    {
        await using var session = await ImSession.StartAsync(fixture, server);
        var aliceAccount = await session.CreateAccountAsync();
        var bobAccount = await session.CreateAccountAsync();
        await session.Server.AddRosterItemAsync(aliceAccount.Localpart, bobAccount.Jid.ToString(), "Bob", "both");
        await session.Server.AddRosterItemAsync(bobAccount.Localpart, aliceAccount.Jid.ToString(), "Alice", "both");
        var alice = await session.ConnectOnlineAsync(aliceAccount);
        var aliceSees = new EventLog<PresenceChangedEventArgs>();
        alice.Presences.PresenceChanged += (_, e) => aliceSees.Add(e);
        var bob = await session.ConnectOnlineAsync(bobAccount);
        var bobSubscriptions = new EventLog<SubscriptionChangedEventArgs>();
        bob.Presences.SubscriptionChanged += (_, e) => bobSubscriptions.Add(e);
        await aliceSees.WaitForAsync(e => e.Jid == bob.Jid && e.IsAvailable, "alice seeing bob come online");

        await alice.Presences.UnsubscribeAsync(bobAccount.Jid).WaitAsync(ImSession.Timeout);

        await bobSubscriptions.WaitForAsync(e => e.From == aliceAccount.Jid && e.Change == SubscriptionChange.Unsubscribe, "bob learning alice unsubscribed");
        await aliceSees.WaitForAsync(e => e.Jid == bob.Jid && !e.IsAvailable, "alice no longer seeing bob");
        Assert.False(alice.Presences.IsAvailable(bobAccount.Jid));
    }

    [Theory]
    [MemberData(nameof(Servers.Kinds), MemberType = typeof(Servers))]
    public async Task Directed_presence_reaches_someone_outside_the_roster(string server)
    {
        await using var session = await ImSession.StartAsync(fixture, server);
        var alice = await session.ConnectOnlineAsync(await session.CreateAccountAsync());
        var stranger = await session.ConnectOnlineAsync(await session.CreateAccountAsync());
        var seen = new EventLog<PresenceChangedEventArgs>();
        stranger.Presences.PresenceChanged += (_, e) => seen.Add(e);

        await alice.Presences.SendDirectedPresenceAsync(stranger.Jid!, PresenceShow.Chat, "hello").WaitAsync(ImSession.Timeout);
        var online = await seen.WaitForAsync(e => e.Jid == alice.Jid && e.IsAvailable, "the directed presence");
        Assert.Equal(PresenceShow.Chat, online.Current!.Show);
        Assert.Equal(alice.Capabilities.Current, online.Current.Caps);

        await alice.Presences.SendDirectedUnavailableAsync(stranger.Jid!).WaitAsync(ImSession.Timeout);
        await seen.WaitForAsync(e => e.Jid == alice.Jid && !e.IsAvailable, "the directed unavailable presence");
    }

    private static EventLog<RosterChangedEventArgs> Collect(RosterManager roster)
    {
        var log = new EventLog<RosterChangedEventArgs>();
        roster.Changed += (_, e) => log.Add(e);
        return log;
    }
}
