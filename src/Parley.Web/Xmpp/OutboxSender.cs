using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Parley.Web.Configuration;
using Parley.Web.Diagnostics;
using Parley.Web.Storage;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Upload;
using Parley.Xmpp.Xml;

namespace Parley.Web.Xmpp;

/// <summary>
/// What visitors send to the owner: their stored messages from the outbox, in order, each as a <c>chat</c> message
/// from the visitor's JID with a receipt request and chat markers asked for (the first one preceded by the one subscription request), and their
/// typing notifications, which are never stored or queued. A message is marked sent only once the server has confirmed
/// it (<see cref="VisitorLink.ConfirmSentAsync"/>); until then it stays pending and is sent again after a lost link.
/// </summary>
internal sealed partial class OutboxSender
{
    private const int OutboxBatch = 100;

    /// <summary>How long a message waits before it goes out with the time the visitor wrote it (XEP-0203).</summary>
    private static readonly TimeSpan Delayed = TimeSpan.FromMinutes(1);

    private readonly VisitorLink _link;
    private readonly Outbox _outbox;
    private readonly VisitorRepository _visitors;
    private readonly GatewayMetrics _metrics;
    private readonly VisitorTypingThrottle _typing;
    private readonly Jid _owner;
    private readonly bool _subscribePerVisitor;
    private readonly MessageRepository _messages;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public OutboxSender(
        IOptions<GatewayOptions> options, VisitorLink link, Outbox outbox, VisitorRepository visitors, MessageRepository messages, GatewayMetrics metrics, TimeProvider time,
        ILogger<OutboxSender> logger)
    {
        _messages = messages;
        _time = time;
        _logger = logger;
        _link = link;
        _outbox = outbox;
        _visitors = visitors;
        _metrics = metrics;
        _typing = new VisitorTypingThrottle(time);
        _owner = options.Value.OwnerJid;
        _subscribePerVisitor = !options.Value.SharesOwnerPresence;
    }

    /// <summary>Sends what is pending while the link is up, batch by batch, until the outbox is empty.</summary>
    /// <exception cref="ChatStoreException">The database is unavailable (what was not marked sent stays pending).</exception>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        while (_link.IsConnected && !cancellationToken.IsCancellationRequested)
        {
            var messages = await _outbox.ClaimAsync(OutboxBatch, cancellationToken);
            if (messages.Count == 0 || !await SendBatchAsync(messages, cancellationToken))
            {
                return;
            }
        }
    }

    /// <summary>
    /// Tells the owner that the visitor is typing (<c>composing</c>) or stopped (<c>paused</c>), unless the throttle
    /// drops it; never stored and never queued (a late typing notification is worse than none).
    /// </summary>
    /// <returns>Whether a notification was sent.</returns>
    public async Task<bool> SendChatStateAsync(string visitorId, string state, CancellationToken cancellationToken)
    {
        if (!_link.IsConnected || !_typing.TryTake(visitorId, state))
        {
            return false;
        }

        return await _link.TrySendAsync(visitorId, ChatStates.Notification(_link.VisitorJid(visitorId), _owner, state), openSession: false, cancellationToken);
    }

    /// <summary>
    /// Tells the owner's client that the visitor's tab showed the owner's message with this stanza id (XEP-0333
    /// <c>displayed</c>, which covers the earlier ones too). Sent at once or not at all: a tab shows a reply only while
    /// the visitor is there, and then the link carries it.
    /// </summary>
    /// <returns>Whether the marker was sent.</returns>
    public async Task<bool> SendDisplayedAsync(string visitorId, string stanzaId, CancellationToken cancellationToken)
        => _link.IsConnected && await _link.TrySendAsync(visitorId, ChatMarkers.Displayed(_owner, stanzaId), openSession: false, cancellationToken);

    /// <summary>
    /// Sends one claimed batch, then waits for the server to confirm it and marks sent what it confirmed. Returns
    /// <see langword="false"/> when the link went down or something stayed unconfirmed: that stays pending and goes out
    /// again, with the same stanza id and in order, once the link is back.
    /// </summary>
    private async Task<bool> SendBatchAsync(IReadOnlyList<ChatMessage> messages, CancellationToken cancellationToken)
    {
        // A visitor whose message cannot go out now (in account mode: their session would not open) keeps the rest of
        // their messages back too, so they stay in order; other visitors' messages still go.
        HashSet<string>? heldBack = null;
        var written = new List<ChatMessage>(messages.Count);
        var linkUp = true;
        foreach (var message in messages)
        {
            if (heldBack?.Contains(message.VisitorId) == true)
            {
                continue;
            }

            // The foreign key guarantees the row; a missing one is a broken database, not something to skip silently.
            var visitor = await _visitors.FindAsync(message.VisitorId, cancellationToken)
                ?? throw new InvalidOperationException($"Message {message.Id} belongs to visitor {message.VisitorId}, who is not in the database.");

            if (_subscribePerVisitor && !visitor.SubscriptionRequested && await _visitors.MarkSubscriptionRequestedAsync(visitor.Id, cancellationToken))
            {
                // Ask once to see the owner's presence; XEP-0172 puts the visitor's name into the request.
                var subscribe = new Presence(PresenceType.Subscribe, _owner);
                subscribe.Add(VisitorLink.Nick(visitor.DisplayName));
                if (!await _link.TrySendAsync(visitor.Id, subscribe, openSession: true, cancellationToken))
                {
                    linkUp = false;
                    break;
                }
            }

            if (!await _link.TrySendAsync(visitor.Id, Stanza(message, visitor), openSession: true, cancellationToken))
            {
                if (!_link.IsConnected)
                {
                    linkUp = false;
                    break;
                }

                (heldBack ??= new(StringComparer.Ordinal)).Add(visitor.Id);
                continue;
            }

            written.Add(message);
            _typing.MarkActive(visitor.Id);
        }

        // A lost link ends the batch: asking for confirmation then also lets the link send again, from the oldest pending.
        return await MarkConfirmedAsync(written, heldBack, askAlways: !linkUp, cancellationToken) && linkUp;
    }

    /// <summary>
    /// Marks sent the written messages whose visitors the server confirmed; false when some were not confirmed. Visitors
    /// held back are asked too: what their link sent before may be what holds them back. With <paramref name="askAlways"/>
    /// the link is asked even when there is nothing to confirm.
    /// </summary>
    private async Task<bool> MarkConfirmedAsync(List<ChatMessage> written, HashSet<string>? heldBack, bool askAlways, CancellationToken cancellationToken)
    {
        if (written.Count == 0 && heldBack is null && !askAlways)
        {
            return true;
        }

        var visitors = written.Select(m => m.VisitorId).Concat(heldBack ?? []).Distinct(StringComparer.Ordinal).ToList();
        var confirmed = (await _link.ConfirmSentAsync(visitors, cancellationToken)).ToHashSet(StringComparer.Ordinal);
        var marked = written.Where(m => confirmed.Contains(m.VisitorId)).ToList();
        foreach (var message in marked)
        {
            await _outbox.MarkSentAsync(message, cancellationToken);
            _metrics.MessageToOwner();
        }

        // The owner's client may have acknowledged a later message of the visitor before the server confirmed this batch:
        // what it skipped goes again (see MessageRepository.ResendOvertakenAsync).
        foreach (var visitor in marked.GroupBy(m => m.VisitorId, StringComparer.Ordinal))
        {
            if (await _messages.ResendOvertakenAsync(visitor.Key, visitor.Min(m => m.Id), cancellationToken) is { Count: > 0 } resent)
            {
                Log.ResendingOvertaken(_logger, visitor.Key, resent.Count);
            }
        }

        return confirmed.Count == visitors.Count;
    }

    private Message Stanza(ChatMessage message, Visitor visitor)
    {
        var stanza = new Message(_owner, message.Text) { Id = message.StanzaId };
        stanza.Add(VisitorLink.Nick(visitor.DisplayName));

        // XEP-0359: clients that keep an archive drop a second copy by this id.
        stanza.AddChild("origin-id", XmppNamespaces.StanzaIds).SetAttribute("id", message.StanzaId);
        if (message.Resent || _time.GetUtcNow() - message.Timestamp > Delayed)
        {
            // XEP-0203: a message that waited (in the outbox, or lost and sent again) shows when the visitor wrote it.
            stanza.Add(new Delay(message.Timestamp, null, null).ToElement());
        }

        stanza.Add(new XmppElement("request", XmppNamespaces.Receipts));
        stanza.Add(ChatStates.Element(ChatStates.Active));
        stanza.Add(ChatMarkers.Markable());
        if (message.Attachment is { } file)
        {
            // The body is exactly the URL and the same URL is in jabber:x:oob: clients show a file card.
            var oob = stanza.Add(new XmppElement("x", OutOfBand.DataNamespace));
            oob.AddChild("url", OutOfBand.DataNamespace, file.Url);
            oob.AddChild("desc", OutOfBand.DataNamespace, file.Name);
        }

        return stanza;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 113, Level = LogLevel.Warning, Message = "The owner's client acknowledged a later message of visitor {Visitor} before the server confirmed {Count} earlier one(s), and not them: they go again")]
        public static partial void ResendingOvertaken(ILogger logger, string visitor, int count);
    }
}
