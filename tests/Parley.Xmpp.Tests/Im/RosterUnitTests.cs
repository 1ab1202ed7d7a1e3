using Parley.Xmpp.Im;

namespace Parley.Xmpp.Tests.Im;

public sealed class RosterUnitTests
{
    private static readonly Jid Bob = Jid.Parse("bob@example.net");

    [Theory]
    [InlineData(null)]
    [InlineData("alice@example.org")]
    [InlineData("ALICE@Example.org")]
    public async Task Push_from_own_account_is_applied_answered_and_raised(string? from)
    {
        await using var offline = new OfflineClient();
        var roster = offline.Client.Roster;
        var changes = new List<RosterChangedEventArgs>();
        roster.Changed += (_, e) => changes.Add(e);

        var push = Make.RosterPush(from, Make.Item("bob@example.net", "both", "Bob", null, "Friends", "Work", "Friends", ""));
        var answer = await offline.RequestAsync(push);

        Assert.Equal(IqType.Result, answer.Type);
        Assert.Null(answer.Payload);
        var item = Assert.Single(roster.Items);
        Assert.Equal(Bob, item.Jid);
        Assert.Equal("Bob", item.Name);
        Assert.Equal(RosterSubscription.Both, item.Subscription);
        Assert.False(item.Ask);
        Assert.Equal(["Friends", "Work"], item.Groups); // duplicate and empty groups dropped
        var change = Assert.Single(changes);
        Assert.Same(item, change.Item);
        Assert.False(change.Removed);
    }

    [Theory]
    [InlineData("mallory@evil.example")]
    [InlineData("example.org")] // our server's domain is not our account (RFC 6121 §2.1.6 says bare JID only)
    [InlineData("alice@example.org/other")] // a full JID of our own account is not our bare JID either
    [InlineData("not a jid@@")]
    public async Task Push_from_anyone_else_is_refused_and_ignored(string from)
    {
        await using var offline = new OfflineClient();
        var raised = false;
        offline.Client.Roster.Changed += (_, _) => raised = true;

        var answer = await offline.RequestAsync(Make.RosterPush(from, Make.Item("mallory@evil.example", "both")));

        Assert.Equal(IqType.Error, answer.Type);
        Assert.Equal("service-unavailable", answer.Error!.Condition);
        Assert.Equal(from, answer.GetAttribute("to"));
        Assert.Empty(offline.Client.Roster.Items);
        Assert.False(raised);
    }

    [Fact]
    public async Task Push_without_exactly_one_item_is_a_bad_request()
    {
        await using var offline = new OfflineClient();

        var none = await offline.RequestAsync(Make.RosterPush(null));
        var two = await offline.RequestAsync(Make.RosterPush(null, Make.Item("a@example.net"), Make.Item("b@example.net")));

        Assert.Equal("bad-request", none.Error!.Condition);
        Assert.Equal("bad-request", two.Error!.Condition);
        Assert.Empty(offline.Client.Roster.Items);
    }

    [Theory]
    [InlineData("not a jid@@", null)]
    [InlineData("bob@example.net", "sometimes")]
    public async Task Push_with_an_invalid_item_is_a_bad_request(string jid, string? subscription)
    {
        await using var offline = new OfflineClient();

        var answer = await offline.RequestAsync(Make.RosterPush(null, Make.Item(jid, subscription)));

        Assert.Equal("bad-request", answer.Error!.Condition);
        Assert.Empty(offline.Client.Roster.Items);
    }

    [Fact]
    public async Task Push_with_subscription_remove_removes_the_item()
    {
        await using var offline = new OfflineClient();
        var roster = offline.Client.Roster;
        await offline.RequestAsync(Make.RosterPush(null, Make.Item("bob@example.net", "to")));
        await offline.RequestAsync(Make.RosterPush(null, Make.Item("carol@example.net", "from")));
        var changes = new List<RosterChangedEventArgs>();
        roster.Changed += (_, e) => changes.Add(e);

        var answer = await offline.RequestAsync(Make.RosterPush(null, Make.Item("bob@example.net", "remove")));

        Assert.Equal(IqType.Result, answer.Type);
        Assert.False(roster.TryGetItem(Bob, out _));
        Assert.True(roster.TryGetItem(Jid.Parse("carol@example.net"), out var carol));
        Assert.Equal(RosterSubscription.From, carol.Subscription);
        var change = Assert.Single(changes);
        Assert.True(change.Removed);
        Assert.Equal(Bob, change.Item.Jid);
    }

    [Fact]
    public async Task Push_replaces_the_item_and_reads_ask_and_approved()
    {
        await using var offline = new OfflineClient();
        var roster = offline.Client.Roster;
        await offline.RequestAsync(Make.RosterPush(null, Make.Item("bob@example.net", "none", "Bob", "subscribe", "Friends")));
        Assert.True(roster.TryGetItem(Bob, out var pending));
        Assert.True(pending.Ask);

        var approved = Make.Item("bob@example.net", "to", "Robert");
        approved.SetAttribute("approved", "true");
        await offline.RequestAsync(Make.RosterPush(null, approved));

        Assert.True(roster.TryGetItem(Bob, out var item));
        Assert.False(item.Ask);
        Assert.True(item.Approved);
        Assert.Equal("Robert", item.Name);
        Assert.Equal(RosterSubscription.To, item.Subscription);
        Assert.Empty(item.Groups);
        Assert.Single(roster.Items);
    }

    [Fact]
    public async Task Push_with_ver_updates_the_version()
    {
        await using var offline = new OfflineClient();
        var push = Make.RosterPush(null, Make.Item("bob@example.net", "both"));
        push.Payload!.SetAttribute("ver", "v42");

        await offline.RequestAsync(push);

        Assert.Equal("v42", offline.Client.Roster.Version);
    }

    [Fact]
    public async Task A_throwing_subscriber_does_not_change_the_answer()
    {
        await using var offline = new OfflineClient();
        offline.Client.Roster.Changed += (_, _) => throw new InvalidOperationException("subscriber bug");

        var answer = await offline.RequestAsync(Make.RosterPush(null, Make.Item("bob@example.net", "both")));

        Assert.Equal(IqType.Result, answer.Type);
        Assert.Single(offline.Client.Roster.Items);
    }

    [Fact]
    public async Task A_roster_get_from_outside_is_not_answered_with_our_roster()
    {
        await using var offline = new OfflineClient();
        await offline.RequestAsync(Make.RosterPush(null, Make.Item("bob@example.net", "both")));
        var get = new Iq(IqType.Get, null, new XmppElement("query", XmppNamespaces.Roster));

        var answer = await offline.RequestAsync(get);

        Assert.Equal(IqType.Error, answer.Type);
        Assert.Null(answer.Element("query", XmppNamespaces.Roster));
    }

    [Fact]
    public async Task GetAsync_loads_the_roster_without_ver_when_the_server_does_not_offer_versioning()
    {
        await using var offline = new OfflineClient();
        var roster = offline.Client.Roster;
        var loaded = 0;
        roster.Loaded += (_, _) => loaded++;
        offline.Responder = request => request.CreateResult(RosterResult("v1",
            Make.Item("bob@example.net", "both", "Bob", null, "Friends"),
            Make.Item("carol@example.net", "to"),
            Make.Item("invalid jid@@", "both"),
            Make.Item("dave@example.net", "remove")));

        var items = await roster.GetAsync();

        var request = Assert.Single(offline.SentIqs(XmppNamespaces.Roster));
        Assert.Equal(IqType.Get, request.Type);
        Assert.Null(request.To);
        Assert.Null(request.Payload!.GetAttribute("ver"));
        Assert.Equal([Bob, Jid.Parse("carol@example.net")], items.Select(i => i.Jid));
        Assert.True(roster.IsLoaded);
        Assert.Equal("v1", roster.Version);
        Assert.Equal(2, roster.Items.Count);
        Assert.Equal(1, loaded);
    }

    [Fact]
    public async Task GetAsync_replaces_what_was_cached()
    {
        await using var offline = new OfflineClient();
        var roster = offline.Client.Roster;
        offline.Responder = request => request.CreateResult(RosterResult(null, Make.Item("bob@example.net", "both")));
        await roster.GetAsync();
        offline.Responder = request => request.CreateResult(RosterResult(null, Make.Item("carol@example.net", "both")));

        await roster.GetAsync();

        Assert.Equal(Jid.Parse("carol@example.net"), Assert.Single(roster.Items).Jid);
        Assert.False(roster.TryGetItem(Bob, out _));
    }

    [Fact]
    public async Task GetAsync_uses_roster_versioning_when_offered()
    {
        await using var offline = new OfflineClient();
        offline.Client.RosterVersioningOffered = true;
        var roster = offline.Client.Roster;
        offline.Responder = request => request.CreateResult(RosterResult("v1", Make.Item("bob@example.net", "both")));
        await roster.GetAsync();

        // Unchanged since v1: the server answers with an empty result.
        offline.Responder = request => request.CreateResult();
        var again = await roster.GetAsync();

        var requests = offline.SentIqs(XmppNamespaces.Roster);
        Assert.Equal(2, requests.Count);
        Assert.Equal(string.Empty, requests[0].Payload!.GetAttribute("ver")); // bootstrap (RFC 6121 §2.6.2)
        Assert.Equal("v1", requests[1].Payload!.GetAttribute("ver"));
        Assert.Equal(Bob, Assert.Single(again).Jid);
        Assert.Equal("v1", roster.Version);
    }

    [Fact]
    public async Task The_version_of_an_empty_roster_is_not_kept()
    {
        // Prosody 0.12 calls a never-saved roster version 1, and the roster after its first change version 1 too.
        await using var offline = new OfflineClient();
        offline.Client.RosterVersioningOffered = true;
        var roster = offline.Client.Roster;
        offline.Responder = request => request.CreateResult(RosterResult("1"));
        await roster.GetAsync();
        Assert.Null(roster.Version);
        offline.Responder = request => request.CreateResult(RosterResult("1", Make.Item("bob@example.net", "both")));

        var items = await roster.GetAsync();

        var requests = offline.SentIqs(XmppNamespaces.Roster);
        Assert.Equal(string.Empty, requests[1].Payload!.GetAttribute("ver"));
        Assert.Equal(Bob, Assert.Single(items).Jid);
        Assert.Equal("1", roster.Version);
    }

    [Fact]
    public async Task GetAsync_fails_with_the_servers_error()
    {
        await using var offline = new OfflineClient();
        offline.Responder = request => request.CreateError(StanzaError.InternalServerError());

        var error = await Assert.ThrowsAsync<XmppStanzaException>(() => offline.Client.Roster.GetAsync());

        Assert.Equal("internal-server-error", error.Condition);
        Assert.False(offline.Client.Roster.IsLoaded);
    }

    [Fact]
    public async Task SetAsync_sends_jid_name_and_groups_but_never_the_subscription()
    {
        await using var offline = new OfflineClient();
        offline.Responder = request => request.CreateResult();

        await offline.Client.Roster.SetAsync(new RosterItem(Bob) { Name = "Bob", Groups = ["Friends", "Work"], Subscription = RosterSubscription.Both, Ask = true });

        var request = Assert.Single(offline.SentIqs(XmppNamespaces.Roster));
        Assert.Equal(IqType.Set, request.Type);
        var item = Assert.Single(request.Payload!.Elements("item", XmppNamespaces.Roster));
        Assert.Equal("bob@example.net", item.GetAttribute("jid"));
        Assert.Equal("Bob", item.GetAttribute("name"));
        Assert.Null(item.GetAttribute("subscription"));
        Assert.Null(item.GetAttribute("ask"));
        Assert.Equal(["Friends", "Work"], item.Elements("group", XmppNamespaces.Roster).Select(g => g.Text));
        Assert.Empty(offline.Client.Roster.Items); // the cache follows the server's push, not our request
    }

    [Fact]
    public async Task SetAsync_rejects_invalid_items_before_sending()
    {
        await using var offline = new OfflineClient();
        var roster = offline.Client.Roster;

        await Assert.ThrowsAsync<ArgumentException>(() => roster.SetAsync(new RosterItem(Bob) { Subscription = RosterSubscription.Remove }));
        await Assert.ThrowsAsync<ArgumentException>(() => roster.SetAsync(new RosterItem(Bob) { Groups = ["A", "A"] }));
        await Assert.ThrowsAsync<ArgumentException>(() => roster.SetAsync(new RosterItem(Bob) { Groups = [""] }));
        await Assert.ThrowsAsync<ArgumentException>(() => roster.SetAsync(new RosterItem(Bob) { Name = "" }));
        await Assert.ThrowsAsync<ArgumentException>(() => roster.SetAsync(new RosterItem(Bob) { Groups = [new string('g', RosterItem.MaxTextLength + 1)] }));
        Assert.Empty(offline.Sent);
    }

    [Fact]
    public async Task RemoveAsync_sends_subscription_remove_and_reports_item_not_found()
    {
        await using var offline = new OfflineClient();
        offline.Responder = request => request.CreateError(StanzaError.ItemNotFound());

        var error = await Assert.ThrowsAsync<XmppStanzaException>(() => offline.Client.Roster.RemoveAsync(Bob));

        Assert.Equal("item-not-found", error.Condition);
        var item = Assert.Single(Assert.Single(offline.SentIqs(XmppNamespaces.Roster)).Payload!.Children);
        Assert.Equal("bob@example.net", item.GetAttribute("jid"));
        Assert.Equal("remove", item.GetAttribute("subscription"));
    }

    [Fact]
    public async Task Operations_fail_while_disconnected()
    {
        await using var client = new XmppClient(new XmppClientOptions { Jid = OfflineClient.Account, Password = "x" });

        await Assert.ThrowsAsync<XmppNotConnectedException>(() => client.Roster.GetAsync());
        await Assert.ThrowsAsync<XmppNotConnectedException>(() => client.Roster.RemoveAsync(Bob));
    }

    [Fact]
    public async Task A_new_session_refetches_a_roster_that_was_loaded()
    {
        await using var offline = new OfflineClient();
        var roster = offline.Client.Roster;
        offline.Responder = request => request.CreateResult(RosterResult(null, Make.Item("bob@example.net", "both")));
        await roster.GetAsync();
        offline.Responder = request => request.CreateResult(RosterResult(null, Make.Item("carol@example.net", "both")));

        roster.OnStateChanged(offline.Client, new ConnectionStateChangedEventArgs(XmppConnectionState.Reconnecting, XmppConnectionState.Connected, null, resumed: false));
        await roster.RefetchTask!.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(2, offline.SentIqs(XmppNamespaces.Roster).Count);
        Assert.Equal(Jid.Parse("carol@example.net"), Assert.Single(roster.Items).Jid);
    }

    [Fact]
    public async Task A_resumed_session_or_a_roster_never_loaded_is_not_refetched()
    {
        await using var offline = new OfflineClient();
        var roster = offline.Client.Roster;
        offline.Responder = request => request.CreateResult(RosterResult(null));

        roster.OnStateChanged(offline.Client, new ConnectionStateChangedEventArgs(XmppConnectionState.Connecting, XmppConnectionState.Connected, null, resumed: false));
        Assert.Null(roster.RefetchTask);

        await roster.GetAsync();
        roster.OnStateChanged(offline.Client, new ConnectionStateChangedEventArgs(XmppConnectionState.Reconnecting, XmppConnectionState.Connected, null, resumed: true));
        roster.OnStateChanged(offline.Client, new ConnectionStateChangedEventArgs(XmppConnectionState.Connected, XmppConnectionState.Reconnecting, null, resumed: false));

        Assert.Null(roster.RefetchTask);
        Assert.Single(offline.SentIqs(XmppNamespaces.Roster));
    }

    [Fact]
    public async Task The_roster_is_not_announced_in_disco()
    {
        await using var offline = new OfflineClient();

        Assert.DoesNotContain(XmppNamespaces.Roster, offline.Client.Disco.Features);
    }

    private static XmppElement RosterResult(string? ver, params XmppElement[] items)
    {
        var query = new XmppElement("query", XmppNamespaces.Roster);
        query.SetAttribute("ver", ver);
        foreach (var item in items)
        {
            query.Add(item);
        }

        return query;
    }
}
