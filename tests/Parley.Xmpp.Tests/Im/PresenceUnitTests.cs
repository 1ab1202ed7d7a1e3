using Parley.Xmpp.Im;

namespace Parley.Xmpp.Tests.Im;

public sealed class PresenceUnitTests
{
    private static readonly Jid Bob = Jid.Parse("bob@example.net");
    private static readonly Jid BobPhone = Jid.Parse("bob@example.net/phone");
    private static readonly Jid BobLaptop = Jid.Parse("bob@example.net/laptop");

    [Fact]
    public async Task Available_presence_is_tracked_per_resource_and_raised()
    {
        await using var offline = new OfflineClient();
        var presences = offline.Client.Presences;
        var changes = new List<PresenceChangedEventArgs>();
        presences.PresenceChanged += (_, e) => changes.Add(e);

        await offline.ReceiveAsync(Make.PresenceFrom("bob@example.net/phone", configure: p => { p.Show = PresenceShow.Away; p.Status = "on the train"; p.Priority = 5; }));
        await offline.ReceiveAsync(Make.PresenceFrom("bob@example.net/laptop", configure: p => p.Priority = 10));

        Assert.True(presences.IsAvailable(Bob));
        Assert.True(presences.IsAvailable(BobPhone));
        Assert.False(presences.IsAvailable(Jid.Parse("bob@example.net/tablet")));
        Assert.False(presences.IsAvailable(Jid.Parse("carol@example.net")));
        var resources = presences.GetResources(BobPhone); // a full JID means its contact
        Assert.Equal([BobLaptop, BobPhone], resources.Select(r => r.Jid)); // highest priority first
        var phone = presences.GetPresence(BobPhone)!;
        Assert.Equal(PresenceShow.Away, phone.Show);
        Assert.Equal("on the train", phone.Status);
        Assert.Equal(5, phone.Priority);
        Assert.Equal(2, changes.Count);
        Assert.All(changes, c => Assert.True(c.IsAvailable));
        Assert.Equal(BobPhone, changes[0].Jid);
        Assert.Same(phone, changes[0].Current);
    }

    [Fact]
    public async Task The_table_keeps_a_copy_of_the_stanza()
    {
        await using var offline = new OfflineClient();
        var presence = Make.PresenceFrom("bob@example.net/phone", configure: p => p.Status = "original");

        await offline.ReceiveAsync(presence);
        presence.Status = "changed by a later handler";

        Assert.Equal("original", offline.Client.Presences.GetPresence(BobPhone)!.Status);
    }

    [Fact]
    public async Task Handlers_registered_with_OnPresence_see_the_updated_table()
    {
        await using var offline = new OfflineClient();
        bool? seen = null;
        offline.Client.OnPresence((p, _) =>
        {
            seen = offline.Client.Presences.IsAvailable(BobPhone);
            return ValueTask.CompletedTask;
        });

        await offline.ReceiveAsync(Make.PresenceFrom("bob@example.net/phone"));

        Assert.True(seen);
    }

    [Fact]
    public async Task Unavailable_from_a_resource_removes_that_resource_only()
    {
        await using var offline = new OfflineClient();
        var presences = offline.Client.Presences;
        await offline.ReceiveAsync(Make.PresenceFrom("bob@example.net/phone"));
        await offline.ReceiveAsync(Make.PresenceFrom("bob@example.net/laptop"));
        var changes = new List<PresenceChangedEventArgs>();
        presences.PresenceChanged += (_, e) => changes.Add(e);

        await offline.ReceiveAsync(Make.PresenceFrom("bob@example.net/phone", PresenceType.Unavailable));

        Assert.False(presences.IsAvailable(BobPhone));
        Assert.True(presences.IsAvailable(Bob));
        var change = Assert.Single(changes);
        Assert.Equal(BobPhone, change.Jid);
        Assert.False(change.IsAvailable);
        Assert.Null(change.Current);

        await offline.ReceiveAsync(Make.PresenceFrom("bob@example.net/laptop", PresenceType.Unavailable));
        Assert.False(presences.IsAvailable(Bob));
        Assert.Empty(presences.GetResources(Bob));
    }

    [Fact]
    public async Task Unavailable_for_an_unknown_resource_raises_nothing()
    {
        await using var offline = new OfflineClient();
        var raised = false;
        offline.Client.Presences.PresenceChanged += (_, _) => raised = true;

        await offline.ReceiveAsync(Make.PresenceFrom("bob@example.net/phone", PresenceType.Unavailable));

        Assert.False(raised);
    }

    [Theory]
    [InlineData("bob@example.net", PresenceType.Unavailable)]
    [InlineData("bob@example.net", PresenceType.Error)]
    [InlineData("bob@example.net/other", PresenceType.Error)]
    [InlineData("bob@example.net", PresenceType.Unsubscribed)]
    public async Task Presence_for_the_whole_contact_removes_all_its_resources(string from, PresenceType type)
    {
        await using var offline = new OfflineClient();
        var presences = offline.Client.Presences;
        await offline.ReceiveAsync(Make.PresenceFrom("bob@example.net/phone"));
        await offline.ReceiveAsync(Make.PresenceFrom("bob@example.net/laptop"));
        await offline.ReceiveAsync(Make.PresenceFrom("carol@example.net/home"));
        var removed = new List<Jid>();
        presences.PresenceChanged += (_, e) =>
        {
            Assert.False(e.IsAvailable);
            Assert.Equal(type, e.Presence.Type);
            removed.Add(e.Jid);
        };

        await offline.ReceiveAsync(Make.PresenceFrom(from, type, p =>
        {
            if (type == PresenceType.Error)
            {
                p.Add(StanzaError.ServiceUnavailable().ToElement());
            }
        }));

        Assert.False(presences.IsAvailable(Bob));
        Assert.Equal([BobLaptop, BobPhone], removed.Order(Comparer<Jid>.Create((a, b) => string.CompareOrdinal(a.ToString(), b.ToString()))));
        Assert.True(presences.IsAvailable(Jid.Parse("carol@example.net")));
    }

    [Fact]
    public async Task Entities_without_resources_are_tracked_by_bare_jid()
    {
        await using var offline = new OfflineClient();
        var presences = offline.Client.Presences;
        var service = Jid.Parse("weather.example.net");

        await offline.ReceiveAsync(Make.PresenceFrom("weather.example.net"));

        Assert.True(presences.IsAvailable(service));
        Assert.NotNull(presences.GetPresence(service));
        await offline.ReceiveAsync(Make.PresenceFrom("weather.example.net", PresenceType.Unavailable));
        Assert.False(presences.IsAvailable(service));
    }

    [Fact]
    public async Task Caps_are_read_and_kept_when_a_later_presence_omits_them()
    {
        await using var offline = new OfflineClient();
        var presences = offline.Client.Presences;

        await offline.ReceiveAsync(Make.PresenceFrom("bob@example.net/phone").WithCaps("https://client.example", "sha-1", "abc="));
        await offline.ReceiveAsync(Make.PresenceFrom("bob@example.net/phone", configure: p => p.Show = PresenceShow.DoNotDisturb));

        var phone = presences.GetPresence(BobPhone)!;
        Assert.Equal(PresenceShow.DoNotDisturb, phone.Show);
        Assert.Equal(new CapsDescriptor("https://client.example", "sha-1", "abc="), phone.Caps);

        await offline.ReceiveAsync(Make.PresenceFrom("bob@example.net/phone").WithCaps("https://client.example", "sha-1", "def="));
        Assert.Equal("def=", presences.GetPresence(BobPhone)!.Caps!.Ver);
    }

    [Fact]
    public async Task Caps_leave_with_the_resource()
    {
        await using var offline = new OfflineClient();
        var presences = offline.Client.Presences;
        await offline.ReceiveAsync(Make.PresenceFrom("bob@example.net/phone").WithCaps("https://client.example", "sha-1", "abc="));
        await offline.ReceiveAsync(Make.PresenceFrom("bob@example.net/phone", PresenceType.Unavailable));

        await offline.ReceiveAsync(Make.PresenceFrom("bob@example.net/phone"));

        Assert.Null(presences.GetPresence(BobPhone)!.Caps);
    }

    [Fact]
    public void Legacy_or_oversized_caps_are_ignored()
    {
        var legacy = new Presence();
        var c = legacy.AddChild("c", XmppNamespaces.Caps);
        c.SetAttribute("node", "http://old.example");
        c.SetAttribute("ver", "1.0");
        var huge = new Presence().WithCaps("https://client.example", "sha-1", new string('A', 300));

        Assert.Null(CapsDescriptor.FromPresence(legacy));
        Assert.Null(CapsDescriptor.FromPresence(huge));
        Assert.Null(CapsDescriptor.FromPresence(new Presence()));
    }

    [Fact]
    public async Task Presence_without_a_valid_sender_is_ignored()
    {
        await using var offline = new OfflineClient();
        var raised = false;
        offline.Client.Presences.PresenceChanged += (_, _) => raised = true;
        var invalid = new Presence();
        invalid.SetAttribute("from", "bad@@jid");

        await offline.ReceiveAsync(new Presence());
        await offline.ReceiveAsync(invalid);

        Assert.False(raised);
    }

    [Fact]
    public async Task Subscription_request_is_raised_with_the_bare_jid_and_the_stanza()
    {
        await using var offline = new OfflineClient();
        SubscriptionRequestedEventArgs? request = null;
        offline.Client.Presences.SubscriptionRequested += (_, e) => request = e;
        var stanza = Make.PresenceFrom("bob@example.net/phone", PresenceType.Subscribe, p => p.Status = "it's Bob");

        await offline.ReceiveAsync(stanza);

        Assert.NotNull(request);
        Assert.Equal(Bob, request.From);
        Assert.Equal("it's Bob", request.Presence.Status);
        Assert.False(offline.Client.Presences.IsAvailable(Bob));
    }

    [Theory]
    [InlineData(PresenceType.Subscribed, SubscriptionChange.Subscribed)]
    [InlineData(PresenceType.Unsubscribe, SubscriptionChange.Unsubscribe)]
    [InlineData(PresenceType.Unsubscribed, SubscriptionChange.Unsubscribed)]
    public async Task Subscription_changes_are_raised(PresenceType type, SubscriptionChange expected)
    {
        await using var offline = new OfflineClient();
        var changes = new List<SubscriptionChangedEventArgs>();
        offline.Client.Presences.SubscriptionChanged += (_, e) => changes.Add(e);

        await offline.ReceiveAsync(Make.PresenceFrom("bob@example.net", type));

        var change = Assert.Single(changes);
        Assert.Equal(expected, change.Change);
        Assert.Equal(Bob, change.From);
        Assert.Equal(type, change.Presence.Type);
    }

    [Fact]
    public async Task Unsubscribe_from_the_contact_keeps_their_presence()
    {
        // They stop seeing ours; we still see theirs.
        await using var offline = new OfflineClient();
        await offline.ReceiveAsync(Make.PresenceFrom("bob@example.net/phone"));

        await offline.ReceiveAsync(Make.PresenceFrom("bob@example.net", PresenceType.Unsubscribe));

        Assert.True(offline.Client.Presences.IsAvailable(BobPhone));
    }

    [Fact]
    public async Task A_new_session_or_a_disconnect_clears_the_table_but_a_resumed_one_does_not()
    {
        await using var offline = new OfflineClient();
        var presences = offline.Client.Presences;
        var cleared = 0;
        presences.Cleared += (_, _) => cleared++;
        await offline.ReceiveAsync(Make.PresenceFrom("bob@example.net/phone"));

        presences.OnStateChanged(offline.Client, new ConnectionStateChangedEventArgs(XmppConnectionState.Connected, XmppConnectionState.Reconnecting, null, resumed: false));
        presences.OnStateChanged(offline.Client, new ConnectionStateChangedEventArgs(XmppConnectionState.Reconnecting, XmppConnectionState.Connected, null, resumed: true));
        Assert.True(presences.IsAvailable(Bob));
        Assert.Equal(0, cleared);

        presences.OnStateChanged(offline.Client, new ConnectionStateChangedEventArgs(XmppConnectionState.Reconnecting, XmppConnectionState.Connected, null, resumed: false));
        Assert.False(presences.IsAvailable(Bob));
        Assert.Equal(1, cleared);

        await offline.ReceiveAsync(Make.PresenceFrom("bob@example.net/phone"));
        presences.OnStateChanged(offline.Client, new ConnectionStateChangedEventArgs(XmppConnectionState.Connected, XmppConnectionState.Disconnected, null, resumed: false));
        Assert.False(presences.IsAvailable(Bob));
        Assert.Equal(2, cleared);
    }

    [Fact]
    public async Task Resources_per_contact_are_limited()
    {
        await using var offline = new OfflineClient();
        var presences = offline.Client.Presences;
        for (var i = 0; i <= PresenceManager.MaxResourcesPerContact; i++)
        {
            await offline.ReceiveAsync(Make.PresenceFrom($"bob@example.net/r{i}"));
        }

        Assert.Equal(PresenceManager.MaxResourcesPerContact, presences.GetResources(Bob).Count);
        Assert.False(presences.IsAvailable(Jid.Parse($"bob@example.net/r{PresenceManager.MaxResourcesPerContact}")));

        // A known resource still updates, and a freed slot can be taken.
        await offline.ReceiveAsync(Make.PresenceFrom("bob@example.net/r0", configure: p => p.Status = "updated"));
        Assert.Equal("updated", presences.GetPresence(Jid.Parse("bob@example.net/r0"))!.Status);
        await offline.ReceiveAsync(Make.PresenceFrom("bob@example.net/r1", PresenceType.Unavailable));
        await offline.ReceiveAsync(Make.PresenceFrom($"bob@example.net/r{PresenceManager.MaxResourcesPerContact}"));
        Assert.True(presences.IsAvailable(Jid.Parse($"bob@example.net/r{PresenceManager.MaxResourcesPerContact}")));
    }

    [Fact]
    public async Task Subscription_stanzas_go_to_the_bare_jid_with_an_id()
    {
        await using var offline = new OfflineClient();
        var presences = offline.Client.Presences;

        await presences.SubscribeAsync(BobPhone);
        await presences.ApproveSubscriptionAsync(BobPhone);
        await presences.DenySubscriptionAsync(Bob);
        await presences.UnsubscribeAsync(Bob);

        var sent = offline.Sent.Cast<Presence>().ToList();
        Assert.Equal([PresenceType.Subscribe, PresenceType.Subscribed, PresenceType.Unsubscribed, PresenceType.Unsubscribe], sent.Select(p => p.Type));
        Assert.All(sent, p =>
        {
            Assert.Equal(Bob, p.To);
            Assert.False(string.IsNullOrEmpty(p.Id));
            Assert.Null(p.Element("c", XmppNamespaces.Caps));
        });
        Assert.Equal(sent.Count, sent.Select(p => p.Id).Distinct().Count());
    }

    [Fact]
    public async Task Unsubscribing_forgets_the_contacts_presence()
    {
        // Not every server sends the unavailable presence RFC 6121 §3.3.3 asks for (Prosody 0.12 does not).
        await using var offline = new OfflineClient();
        var presences = offline.Client.Presences;
        await offline.ReceiveAsync(Make.PresenceFrom("bob@example.net/phone"));
        await offline.ReceiveAsync(Make.PresenceFrom("carol@example.net/home"));
        var changes = new List<PresenceChangedEventArgs>();
        presences.PresenceChanged += (_, e) => changes.Add(e);

        await presences.UnsubscribeAsync(BobPhone);

        var sent = Assert.IsType<Presence>(Assert.Single(offline.Sent));
        Assert.Equal(PresenceType.Unsubscribe, sent.Type);
        Assert.False(presences.IsAvailable(Bob));
        Assert.True(presences.IsAvailable(Jid.Parse("carol@example.net")));
        var change = Assert.Single(changes);
        Assert.Equal(BobPhone, change.Jid);
        Assert.Same(sent, change.Presence);
    }

    [Fact]
    public async Task Directed_presence_carries_show_status_and_our_caps()
    {
        await using var offline = new OfflineClient();

        await offline.Client.Presences.SendDirectedPresenceAsync(BobPhone, PresenceShow.Chat, "hello");
        await offline.Client.Presences.SendDirectedUnavailableAsync(BobPhone, "bye");

        var sent = offline.Sent.Cast<Presence>().ToList();
        Assert.Equal(BobPhone, sent[0].To);
        Assert.Equal(PresenceType.Available, sent[0].Type);
        Assert.Equal(PresenceShow.Chat, sent[0].Show);
        Assert.Equal("hello", sent[0].Status);
        Assert.Equal(offline.Client.Capabilities.Current, CapsDescriptor.FromPresence(sent[0]));
        Assert.Equal(PresenceType.Unavailable, sent[1].Type);
        Assert.Equal("bye", sent[1].Status);
        Assert.Null(sent[1].Element("c", XmppNamespaces.Caps));
    }

    [Fact]
    public async Task A_throwing_subscriber_does_not_stop_tracking()
    {
        await using var offline = new OfflineClient();
        offline.Client.Presences.PresenceChanged += (_, _) => throw new InvalidOperationException("subscriber bug");
        var later = false;
        offline.Client.OnPresence((_, _) =>
        {
            later = true;
            return ValueTask.CompletedTask;
        });

        await offline.ReceiveAsync(Make.PresenceFrom("bob@example.net/phone"));

        Assert.True(offline.Client.Presences.IsAvailable(BobPhone));
        Assert.True(later);
    }
}
