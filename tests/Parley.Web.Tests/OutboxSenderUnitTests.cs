using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Parley.Web.Configuration;
using Parley.Web.Diagnostics;
using Parley.Web.Storage;
using Parley.Web.Xmpp;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;
using StoredVisitor = Parley.Web.Storage.Visitor;

namespace Parley.Web.Tests;

/// <summary>
/// <see cref="OutboxSender"/> over a real SQLite store and a scripted link that says what the XMPP server took and
/// confirmed: the order of a batch, what each message carries, a visitor held back, a link lost mid-batch, typing and
/// markers, and a message sent again after a receipt overtook the confirmation. The integration tests
/// (<see cref="DeliveryFaultTests"/>, <see cref="LateDeliveryTests"/>) show the same against real servers.
/// </summary>
public sealed class OutboxSenderUnitTests : IAsyncLifetime
{
    private static readonly Jid Owner = Jid.Parse("owner@example.org");

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 8, 9, 0, 0, TimeSpan.Zero));
    private readonly ScriptedLink _link = new();
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private StoreUnderTest _db = null!;

    public async Task InitializeAsync() => _db = await StoreUnderTest.OpenAsync(StoreUnderTest.Sqlite, StoreUnderTest.NewSqlitePath(), _time);

    public async Task DisposeAsync()
    {
        await _db.DisposeAsync();
        await _services.DisposeAsync();
    }

    [Fact]
    public async Task A_batch_goes_out_in_order_each_asking_for_a_receipt_and_markers_and_is_sent_once_confirmed()
    {
        var alice = await VisitorAsync("alice");
        var bob = await VisitorAsync("bob");
        var a1 = await _db.Messages.AddVisitorMessageAsync(alice.Id, "a1", default);
        var b1 = await _db.Messages.AddVisitorMessageAsync(bob.Id, "b1", default);
        var a2 = await _db.Messages.AddVisitorMessageAsync(alice.Id, "a2", default);
        var sender = Sender();
        using var toOwner = new MetricCollector<long>(_services.GetRequiredService<IMeterFactory>(), GatewayMetrics.MeterName, "parley.web.messages");

        await sender.FlushAsync(default);

        Assert.Equal([a1.StanzaId, b1.StanzaId, a2.StanzaId], _link.Sent.Select(s => s.Stanza.Id));
        foreach (var (visitorId, stanza) in _link.Sent)
        {
            var message = Assert.IsType<Message>(stanza);
            Assert.Equal(Owner, message.To);
            Assert.Equal(MessageType.Chat, message.Type);
            Assert.Equal(visitorId == alice.Id ? "Alice" : "Bob", message.Element("nick", VisitorLink.NickNamespace)?.Text);
            Assert.Equal(message.Id, message.Element("origin-id", XmppNamespaces.StanzaIds)?.GetAttribute("id"));
            Assert.NotNull(message.Element("request", XmppNamespaces.Receipts));
            Assert.NotNull(message.Element(ChatStates.Active, XmppNamespaces.ChatStates));
            Assert.NotNull(message.Element("markable", ChatMarkers.Namespace));
            Assert.Null(message.Delay);
        }

        Assert.Equal([new[] { alice.Id, bob.Id }.Order(StringComparer.Ordinal)], _link.ConfirmRequests.Select(r => r.Order(StringComparer.Ordinal)));
        Assert.All(_link.OpenedSession, Assert.True);
        Assert.All(await HistoryAsync(alice, bob), m => Assert.Equal(MessageState.Sent, m.State));
        Assert.Equal(3, toOwner.GetMeasurementSnapshot().EvaluateAsCounter());
    }

    [Fact]
    public async Task More_than_a_batch_goes_out_batch_after_batch()
    {
        var alice = await VisitorAsync("alice");
        for (var i = 0; i < 150; i++)
        {
            await _db.Messages.AddVisitorMessageAsync(alice.Id, $"m{i}", default);
        }

        await Sender().FlushAsync(default);

        Assert.Equal(Enumerable.Range(0, 150).Select(i => $"m{i}"), _link.Sent.Select(s => ((Message)s.Stanza).Body));
        Assert.Equal(2, _link.ConfirmRequests.Count);
        Assert.Empty(await _db.Outbox.ClaimAsync(10, default));
    }

    [Fact]
    public async Task A_message_that_waited_more_than_a_minute_or_goes_again_carries_the_time_it_was_written()
    {
        var alice = await VisitorAsync("alice");
        var written = _time.GetUtcNow();
        await _db.Messages.AddVisitorMessageAsync(alice.Id, "a minute", default);
        _time.Advance(TimeSpan.FromMinutes(1));
        await Sender().FlushAsync(default);

        await _db.Messages.AddVisitorMessageAsync(alice.Id, "longer", default);
        _time.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromMilliseconds(1));
        await Sender().FlushAsync(default);

        Assert.Equal([null, written.AddMinutes(1)], _link.Sent.Select(s => ((Message)s.Stanza).Delay?.Stamp));
    }

    [Fact]
    public async Task A_visitor_whose_message_cannot_go_out_keeps_its_later_ones_back_while_the_others_go()
    {
        var alice = await VisitorAsync("alice");
        var bob = await VisitorAsync("bob");
        var carol = await VisitorAsync("carol");
        await _db.Messages.AddVisitorMessageAsync(alice.Id, "a1", default);
        await _db.Messages.AddVisitorMessageAsync(carol.Id, "c1", default);
        await _db.Messages.AddVisitorMessageAsync(bob.Id, "b1", default);
        await _db.Messages.AddVisitorMessageAsync(alice.Id, "a2", default);
        await _db.Messages.AddVisitorMessageAsync(carol.Id, "c2", default);
        await _db.Messages.AddVisitorMessageAsync(bob.Id, "b2", default);
        _link.Refused.Add(alice.Id);
        _link.Refused.Add(carol.Id);

        await Sender().FlushAsync(default).WaitAsync(TimeSpan.FromSeconds(10));

        // Alice's and Carol's first messages were tried, their second were not; the server is asked about them too.
        Assert.Equal(["a1", "c1", "b1", "b2"], _link.Attempts.Select(s => ((Message)s.Stanza).Body));
        Assert.Equal(["b1", "b2"], _link.Sent.Select(s => ((Message)s.Stanza).Body));
        Assert.Equal([new[] { alice.Id, bob.Id, carol.Id }.Order(StringComparer.Ordinal)], _link.ConfirmRequests.Select(r => r.Order(StringComparer.Ordinal)));
        Assert.All(await HistoryAsync(alice, carol), m => Assert.Equal(MessageState.Pending, m.State));
        Assert.Equal([MessageState.Sent, MessageState.Sent], (await HistoryAsync(bob)).Select(m => m.State));
    }

    [Fact]
    public async Task A_link_lost_in_a_batch_ends_it_and_asks_the_server_what_it_took()
    {
        var alice = await VisitorAsync("alice");
        var bob = await VisitorAsync("bob");
        await _db.Messages.AddVisitorMessageAsync(alice.Id, "a1", default);
        await _db.Messages.AddVisitorMessageAsync(bob.Id, "b1", default);
        await _db.Messages.AddVisitorMessageAsync(alice.Id, "a2", default);
        _link.DropAfter = 1;

        await Sender().FlushAsync(default);

        Assert.Equal(["a1", "b1"], _link.Attempts.Select(s => ((Message)s.Stanza).Body));
        Assert.Equal([[alice.Id]], _link.ConfirmRequests);
        Assert.All(await HistoryAsync(alice, bob), m => Assert.Equal(MessageState.Pending, m.State));
    }

    [Fact]
    public async Task A_link_lost_before_anything_was_written_still_asks_the_server()
    {
        var alice = await VisitorAsync("alice");
        await _db.Messages.AddVisitorMessageAsync(alice.Id, "a1", default);
        _link.DropAfter = 0;

        await Sender().FlushAsync(default);

        Assert.Single(_link.Attempts);
        Assert.Equal([[]], _link.ConfirmRequests);
    }

    [Fact]
    public async Task With_the_link_down_nothing_is_tried_and_typing_and_markers_are_dropped()
    {
        var alice = await VisitorAsync("alice");
        await _db.Messages.AddVisitorMessageAsync(alice.Id, "a1", default);
        _link.Connected = false;
        var sender = Sender();

        await sender.FlushAsync(default);
        Assert.False(await sender.SendChatStateAsync(alice.Id, ChatStates.Composing, default));
        Assert.False(await sender.SendDisplayedAsync(alice.Id, "owner-1", default));

        Assert.Empty(_link.Attempts);
        Assert.Empty(_link.ConfirmRequests);
    }

    [Fact]
    public async Task Typing_goes_when_the_throttle_lets_it_and_a_message_ends_it()
    {
        var alice = await VisitorAsync("alice");
        var sender = Sender();

        Assert.True(await sender.SendChatStateAsync(alice.Id, ChatStates.Composing, default));
        Assert.False(await sender.SendChatStateAsync(alice.Id, ChatStates.Composing, default));
        await _db.Messages.AddVisitorMessageAsync(alice.Id, "done typing", default);
        await sender.FlushAsync(default);

        // The message said "active": a "paused" now would tell the owner something false.
        Assert.False(await sender.SendChatStateAsync(alice.Id, ChatStates.Paused, default));
        Assert.Equal([false, true], _link.OpenedSession);
        var typing = Assert.IsType<Message>(_link.Sent[0].Stanza);
        Assert.Equal(_link.VisitorJid(alice.Id), typing.From);
        Assert.NotNull(typing.Element(ChatStates.Composing, XmppNamespaces.ChatStates));

        // A notification the link could not send is reported as not sent.
        _time.Advance(VisitorTypingThrottle.ComposingInterval);
        _link.Refused.Add(alice.Id);
        Assert.False(await sender.SendChatStateAsync(alice.Id, ChatStates.Composing, default));
    }

    [Fact]
    public async Task A_displayed_marker_goes_to_the_owner_at_once()
    {
        var alice = await VisitorAsync("alice");

        Assert.True(await Sender().SendDisplayedAsync(alice.Id, "owner-1", default));

        var marker = Assert.IsType<Message>(Assert.Single(_link.Sent).Stanza);
        Assert.False(Assert.Single(_link.OpenedSession));
        Assert.Equal(Owner, marker.To);
        Assert.Equal("owner-1", marker.Element("displayed", ChatMarkers.Namespace)?.GetAttribute("id"));
    }

    [Fact]
    public async Task With_visitors_in_the_roster_a_visitors_first_message_comes_after_one_subscription_request()
    {
        var alice = await VisitorAsync("alice");
        await _db.Messages.AddVisitorMessageAsync(alice.Id, "first", default);
        var sender = Sender(visitorsInRoster: true);
        await sender.FlushAsync(default);
        await _db.Messages.AddVisitorMessageAsync(alice.Id, "second", default);
        await sender.FlushAsync(default);

        var subscribe = Assert.IsType<Presence>(_link.Sent[0].Stanza);
        Assert.Equal((PresenceType.Subscribe, Owner, "Alice"), (subscribe.Type, subscribe.To, subscribe.Element("nick", VisitorLink.NickNamespace)?.Text));
        Assert.Equal(["first", "second"], _link.Sent.Skip(1).Select(s => ((Message)s.Stanza).Body));
        Assert.All(_link.OpenedSession, Assert.True);
    }

    [Fact]
    public async Task A_subscription_request_the_lost_link_did_not_take_ends_the_batch()
    {
        var alice = await VisitorAsync("alice");
        await _db.Messages.AddVisitorMessageAsync(alice.Id, "first", default);
        _link.DropAfter = 0;

        await Sender(visitorsInRoster: true).FlushAsync(default);

        Assert.IsType<Presence>(Assert.Single(_link.Attempts).Stanza);
        Assert.Equal(MessageState.Pending, (await HistoryAsync(alice)).Single().State);
    }

    [Fact]
    public async Task A_receipt_that_overtook_the_confirmation_sends_the_skipped_earlier_message_again()
    {
        var alice = await VisitorAsync("alice");
        var skipped = await _db.Messages.AddVisitorMessageAsync(alice.Id, "skipped", default);
        var acknowledged = await _db.Messages.AddVisitorMessageAsync(alice.Id, "acknowledged", default);
        await _db.Messages.AddVisitorMessageAsync(alice.Id, "last", default);

        // The owner's client acknowledges the second message while the server's confirmation of the batch is on its way.
        _link.BeforeConfirm = () => _db.Messages.MarkDeliveredAsync(alice.Id, acknowledged.StanzaId, default);
        await Sender().FlushAsync(default);

        Assert.Equal(["skipped", "acknowledged", "last", "skipped"], _link.Sent.Select(s => ((Message)s.Stanza).Body));
        var copy = (Message)_link.Sent[3].Stanza;
        Assert.Equal((skipped.StanzaId, skipped.Timestamp), (copy.Id, copy.Delay?.Stamp));
        var history = await HistoryAsync(alice);
        Assert.Equal([(MessageState.Sent, true), (MessageState.Delivered, false), (MessageState.Sent, false)], history.Select(m => (m.State, m.Resent)));
    }

    private OutboxSender Sender(bool visitorsInRoster = false) => new(
        Options.Create(new GatewayOptions { Owner = Owner.ToString(), VisitorsInRoster = visitorsInRoster }),
        _link,
        _db.Outbox,
        _db.Visitors,
        _db.Messages,
        new GatewayMetrics(_services.GetRequiredService<IMeterFactory>()),
        _time,
        NullLogger<OutboxSender>.Instance);

    private async Task<StoredVisitor> VisitorAsync(string name)
        => await _db.Visitors.GetOrCreateAsync("guest", name, char.ToUpperInvariant(name[0]) + name[1..], default);

    private async Task<List<ChatMessage>> HistoryAsync(params StoredVisitor[] visitors)
    {
        var all = new List<ChatMessage>();
        foreach (var visitor in visitors)
        {
            all.AddRange(await _db.Messages.GetHistoryAsync(visitor.Id, null, 200, default));
        }

        return all;
    }

    /// <summary>
    /// A link whose server takes what is written while it is connected, up to <see cref="DropAfter"/> stanzas, refuses the
    /// visitors in <see cref="Refused"/> (their session would not open), and confirms every other visitor it is asked
    /// about. Every attempt is recorded, also one made while the link is down.
    /// </summary>
    private sealed class ScriptedLink : VisitorLink
    {
        public List<(string VisitorId, Stanza Stanza)> Attempts { get; } = [];

        public List<(string VisitorId, Stanza Stanza)> Sent { get; } = [];

        /// <summary>For each attempt, whether it asked for the visitor's session to be opened (account mode).</summary>
        public List<bool> OpenedSession { get; } = [];

        public List<string[]> ConfirmRequests { get; } = [];

        public HashSet<string> Refused { get; } = new(StringComparer.Ordinal);

        public bool Connected { get; set; } = true;

        public int? DropAfter { get; set; }

        public Func<Task>? BeforeConfirm { get; set; }

        public override string Name => "scripted";

        public override bool IsConnected => Connected;

        public override bool NeedsConnect => false;

        public override Jid VisitorJid(string visitorId) => Jid.Create(visitorId, "chat.example.org");

        public override string? VisitorIdOf(Jid address) => address.Local;

        public override Task ConnectAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override Task<bool> AnnounceAsync(StoredVisitor visitor, CancellationToken cancellationToken) => Task.FromResult(true);

        public override Task LeaveAsync(string visitorId, CancellationToken cancellationToken) => Task.CompletedTask;

        public override Task<bool> TrySendAsync(string visitorId, Stanza stanza, bool openSession, CancellationToken cancellationToken)
        {
            Attempts.Add((visitorId, stanza));
            OpenedSession.Add(openSession);
            if (!Connected)
            {
                return Task.FromResult(false);
            }

            if (DropAfter == 0)
            {
                Connected = false;
                return Task.FromResult(false);
            }

            if (Refused.Contains(visitorId))
            {
                return Task.FromResult(false);
            }

            DropAfter--;
            Sent.Add((visitorId, stanza));
            return Task.FromResult(true);
        }

        public override async Task<IReadOnlyCollection<string>> ConfirmSentAsync(IReadOnlyCollection<string> visitorIds, CancellationToken cancellationToken)
        {
            ConfirmRequests.Add([.. visitorIds]);
            if (BeforeConfirm is { } before)
            {
                await before();
            }

            return Connected ? visitorIds.Where(id => !Refused.Contains(id)).ToList() : [];
        }

        public override ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
