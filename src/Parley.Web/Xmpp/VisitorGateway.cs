using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Parley.Web.Chat;
using Parley.Web.Diagnostics;
using Parley.Web.Storage;
using Parley.Xmpp;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Upload;
using Parley.Xmpp.Xml;

namespace Parley.Web.Xmpp;

/// <summary>
/// The gateway's XMPP side, the same in both identity modes (the <see cref="VisitorLink"/> carries the stanzas: one
/// component for every visitor, or a session per visitor on a real account). It sends what visitors write (from the
/// outbox of pending messages, in order), stores what the owner answers, keeps each visitor's presence in step with
/// their open tabs, answers subscription requests and probes, and tracks the owner's presence for each visitor.
/// </summary>
internal sealed partial class VisitorGateway : BackgroundService
{
    internal const string NickNamespace = "http://jabber.org/protocol/nick";
    private const int OutboxBatch = 100;
    private static readonly TimeSpan MaxConnectDelay = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan IdleCheck = TimeSpan.FromSeconds(5);

    private readonly GatewayOptions _options;
    private readonly ChatStore _store;
    private readonly ChatHub _hub;
    private readonly OwnerPresence _ownerPresence;
    private readonly TimeProvider _time;
    private readonly ILogger<VisitorGateway> _logger;
    private readonly VisitorLink _link;
    private readonly Jid _owner;
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Lock _presenceLock = new();
    private readonly HashSet<string> _announced = new(StringComparer.Ordinal);
    private readonly HashSet<string> _arriving = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _leaving = new(StringComparer.Ordinal);
    private readonly VisitorTypingThrottle _typing;
    private readonly GatewayMetrics _metrics;
    private long _disconnectedSinceTicks; // UTC ticks; a long so the health check never reads a torn value

    public VisitorGateway(IOptions<GatewayOptions> options, VisitorLink link, ChatStore store, ChatHub hub, OwnerPresence ownerPresence, GatewayMetrics metrics, TimeProvider time, ILoggerFactory loggerFactory)
    {
        _metrics = metrics;
        _options = options.Value;
        _store = store;
        _hub = hub;
        _ownerPresence = ownerPresence;
        _time = time;
        _disconnectedSinceTicks = time.GetUtcNow().UtcTicks;
        _logger = loggerFactory.CreateLogger<VisitorGateway>();
        _owner = _options.OwnerJid;
        _typing = new VisitorTypingThrottle(time);
        _link = link;
        _link.SetHandlers(OnMessageAsync, OnPresenceAsync);
        _link.ConnectionChanged += OnLinkChanged;
        _link.VisitorLost += OnVisitorLost;
        _hub.VisitorOnline += id => ChangeVisitorPresence(id, online: true);
        _hub.VisitorOffline += id => ChangeVisitorPresence(id, online: false);
        OwnerChatStates.Changed += _hub.WakeForTyping;
    }

    /// <summary>Whether the link to the XMPP server is up (the component, or in account mode the administrator's session).</summary>
    public bool IsConnected => _link.IsConnected;

    /// <summary>Since when the link has been down (the gateway's start when it never connected); <see langword="null"/> while connected.</summary>
    public DateTimeOffset? DisconnectedSince => IsConnected ? null : new DateTimeOffset(Interlocked.Read(ref _disconnectedSinceTicks), TimeSpan.Zero);

    /// <summary>What the link is, for logs and the health check ("component chat.example.org", "accounts on example.org").</summary>
    public string LinkName => _link.Name;

    /// <summary>The visitor's XMPP address.</summary>
    public Jid VisitorJid(string visitorId) => _link.VisitorJid(visitorId);

    /// <summary>The owner's typing state towards each visitor (XEP-0085), for the push streams.</summary>
    public OwnerChatStates OwnerChatStates { get; } = new();

    /// <summary>
    /// Tells the owner that the visitor is typing (<c>composing</c>) or stopped (<c>paused</c>), unless the throttle
    /// drops it; never stored and never queued (a late typing notification is worse than none).
    /// </summary>
    /// <returns>Whether a notification was sent.</returns>
    public async Task<bool> SendVisitorChatStateAsync(string visitorId, string state, CancellationToken cancellationToken)
    {
        if (!IsConnected || !_typing.TryTake(visitorId, state))
        {
            return false;
        }

        return await _link.TrySendAsync(visitorId, ChatStates.Notification(VisitorJid(visitorId), _owner, state), openSession: false, cancellationToken);
    }

    /// <summary>Asks the outbox loop to send what is pending now (a visitor just wrote).</summary>
    public void Wake() => _wake.Writer.TryWrite(true);

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (IsConnected)
        {
            string[] online;
            lock (_presenceLock)
            {
                online = [.. _announced];
                _announced.Clear();
                _leaving.Clear();
            }

            foreach (var visitorId in online)
            {
                await _link.LeaveAsync(visitorId, cancellationToken);
            }
        }

        await _link.DisposeAsync();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var delay = TimeSpan.FromSeconds(1);
        while (!stoppingToken.IsCancellationRequested)
        {
            if (_link.NeedsConnect)
            {
                try
                {
                    await _link.ConnectAsync(stoppingToken);
                    delay = TimeSpan.FromSeconds(1);
                    Log.Connected(_logger, LinkName);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception ex) when (ex is XmppException or TimeoutException)
                {
                    Log.ConnectFailed(_logger, LinkName, delay.TotalSeconds, ex);
                    await Task.Delay(delay, _time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                    delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxConnectDelay.Ticks));
                    continue;
                }
            }

            if (IsConnected)
            {
                try
                {
                    await SendArrivingPresencesAsync(stoppingToken);
                    await FlushOutboxAsync(stoppingToken);
                    await SendLeavingPresencesAsync(stoppingToken);
                    await _link.SweepAsync(stoppingToken);
                }
                catch (ChatStoreException ex)
                {
                    // The outbox stays in the database; the next check (or wake) tries again.
                    Log.StoreFailed(_logger, ex.Message);
                }
            }

            using var idle = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            idle.CancelAfter(IdleCheck);
            try
            {
                await _wake.Reader.ReadAsync(idle.Token);
            }
            catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
            {
                // The periodic check: retries pending messages and sends presences whose linger ran out.
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static XmppElement Nick(string name) => VisitorLink.Nick(name);

    private async Task FlushOutboxAsync(CancellationToken cancellationToken)
    {
        while (IsConnected && !cancellationToken.IsCancellationRequested)
        {
            // Claimed: another gateway sharing a PostgreSQL database does not send these too.
            await using var claim = await _store.ClaimOutboxAsync(OutboxBatch, cancellationToken);
            if (claim.Messages.Count == 0)
            {
                return;
            }

            // A visitor whose message cannot go out now (in account mode: their session would not open) keeps the rest of
            // their messages back too, so they stay in order; other visitors' messages still go.
            HashSet<string>? heldBack = null;
            foreach (var message in claim.Messages)
            {
                if (heldBack?.Contains(message.VisitorId) == true)
                {
                    continue;
                }

                // The foreign key guarantees the row; a missing one is a broken database, not something to skip silently.
                var visitor = await _store.FindVisitorAsync(message.VisitorId, cancellationToken)
                    ?? throw new InvalidOperationException($"Message {message.Id} belongs to visitor {message.VisitorId}, who is not in the database.");

                if (!visitor.SubscriptionRequested && await claim.MarkSubscriptionRequestedAsync(visitor.Id, cancellationToken))
                {
                    // Ask once to see the owner's presence; XEP-0172 puts the visitor's name into the request.
                    var subscribe = new Presence(PresenceType.Subscribe, _owner);
                    subscribe.Add(Nick(visitor.DisplayName));
                    if (!await _link.TrySendAsync(visitor.Id, subscribe, openSession: true, cancellationToken))
                    {
                        await claim.CompleteAsync(cancellationToken);
                        return;
                    }
                }

                var stanza = new Message(_owner, message.Text) { Id = message.StanzaId };
                stanza.Add(Nick(visitor.DisplayName));
                stanza.Add(new XmppElement("request", XmppNamespaces.Receipts));
                stanza.Add(ChatStates.Element(ChatStates.Active));
                if (message.Attachment is { } file)
                {
                    // The body is exactly the URL and the same URL is in jabber:x:oob: clients show a file card.
                    var oob = stanza.Add(new XmppElement("x", OutOfBand.DataNamespace));
                    oob.AddChild("url", OutOfBand.DataNamespace, file.Url);
                    oob.AddChild("desc", OutOfBand.DataNamespace, file.Name);
                }

                if (!await _link.TrySendAsync(visitor.Id, stanza, openSession: true, cancellationToken))
                {
                    if (_link.IsConnected)
                    {
                        (heldBack ??= new(StringComparer.Ordinal)).Add(visitor.Id);
                        continue;
                    }

                    await claim.CompleteAsync(cancellationToken);
                    return;
                }

                await claim.MarkSentAsync(message, cancellationToken);
                _typing.MarkActive(visitor.Id);
                _metrics.MessageToOwner();
            }

            await claim.CompleteAsync(cancellationToken);
        }
    }

    private void ChangeVisitorPresence(string visitorId, bool online)
    {
        lock (_presenceLock)
        {
            if (online)
            {
                _leaving.Remove(visitorId);
                if (!_announced.Contains(visitorId))
                {
                    _arriving.Add(visitorId);
                }
            }
            else
            {
                _arriving.Remove(visitorId);
                if (_announced.Contains(visitorId))
                {
                    _leaving[visitorId] = _time.GetUtcNow() + _options.PresenceLinger;
                }
            }
        }

        Wake();
    }

    private async Task SendArrivingPresencesAsync(CancellationToken cancellationToken)
    {
        string[] arriving;
        lock (_presenceLock)
        {
            arriving = [.. _arriving];
            _arriving.Clear();
        }

        foreach (var visitorId in arriving)
        {
            if (!_hub.IsOnline(visitorId))
            {
                continue;
            }

            if (await AnnounceOneAsync(visitorId, cancellationToken))
            {
                lock (_presenceLock)
                {
                    _announced.Add(visitorId);
                    if (!_hub.IsOnline(visitorId))
                    {
                        // The last tab closed while we were announcing.
                        _leaving[visitorId] = _time.GetUtcNow() + _options.PresenceLinger;
                    }
                }
            }
            else
            {
                lock (_presenceLock)
                {
                    _arriving.Add(visitorId);
                }

                return;
            }
        }
    }

    private async Task<bool> AnnounceOneAsync(string visitorId, CancellationToken cancellationToken)
    {
        var visitor = await _store.FindVisitorAsync(visitorId, cancellationToken);
        return visitor is not null && IsConnected && await _link.AnnounceAsync(visitor, cancellationToken);
    }

    private async Task SendLeavingPresencesAsync(CancellationToken cancellationToken)
    {
        List<string> gone = [];
        var now = _time.GetUtcNow();
        lock (_presenceLock)
        {
            foreach (var (visitorId, deadline) in _leaving)
            {
                if (deadline <= now)
                {
                    gone.Add(visitorId);
                }
            }

            foreach (var visitorId in gone)
            {
                _leaving.Remove(visitorId);
                _announced.Remove(visitorId);
            }
        }

        foreach (var visitorId in gone)
        {
            await _link.LeaveAsync(visitorId, cancellationToken);
        }
    }

    private void OnLinkChanged(bool connected)
    {
        if (connected)
        {
            // A new stream: tell the owner again who is here, and ask again for the owner's presence.
            lock (_presenceLock)
            {
                _arriving.UnionWith(_announced);
                _announced.Clear();
            }

            Wake();
        }
        else
        {
            Interlocked.Exchange(ref _disconnectedSinceTicks, _time.GetUtcNow().UtcTicks);
            // While the link is down nobody can tell whether the owner is there (or still typing).
            OwnerChatStates.Clear();
            foreach (var visitorId in _ownerPresence.Clear())
            {
                _hub.PublishPresence(visitorId, OwnerPresence.Offline);
            }
        }
    }

    /// <summary>A visitor's own session was lost (account mode): nobody knows the owner's presence for them any more.</summary>
    private void OnVisitorLost(string visitorId)
    {
        OwnerChatStates.Set(visitorId, ChatStates.Active);
        PublishOwnerPresence(visitorId, _ownerPresence.Forget(visitorId));
        lock (_presenceLock)
        {
            if (_announced.Remove(visitorId) && _hub.IsOnline(visitorId))
            {
                _arriving.Add(visitorId);
            }
        }

        Wake();
    }

    private async ValueTask OnMessageAsync(Message message, CancellationToken cancellationToken)
    {
        var to = message.To;
        var from = message.From;
        if (to is null || _link.VisitorIdOf(to) is not { } visitorId || from is null || message.Type == MessageType.Error)
        {
            return;
        }

        if (from.Bare != _owner)
        {
            Log.RefusedStranger(_logger, from.Bare.ToString());
            if (from.Local is not null)
            {
                // Servers and services get no error back (a server's welcome or notice message is not worth a bounce).
                await ReplyErrorAsync(visitorId, message, new StanzaError("not-allowed", StanzaErrorType.Cancel, "This address only talks to its owner."), cancellationToken);
            }

            return;
        }

        try
        {
            var visitor = await _store.FindVisitorAsync(visitorId, cancellationToken);
            if (visitor is null)
            {
                await ReplyErrorAsync(visitorId, message, StanzaError.ItemNotFound("No such visitor."), cancellationToken);
                return;
            }

            if (message.Element("received", XmppNamespaces.Receipts)?.GetAttribute("id") is { } receiptFor)
            {
                await _store.MarkDeliveredAsync(visitor.Id, receiptFor, cancellationToken);
            }

            // A message with a body means the owner is active again even if the client did not say so.
            var hasBody = message.Body is { Length: > 0 } && message.Type is MessageType.Chat or MessageType.Normal;
            if (ChatStates.Of(message) is { } state)
            {
                OwnerChatStates.Set(visitor.Id, state);
            }
            else if (hasBody)
            {
                OwnerChatStates.Set(visitor.Id, ChatStates.Active);
            }

            if (hasBody && message.Body is { } body)
            {
                var stored = await _store.AddOwnerMessageAsync(visitor.Id, body, Api.OfflineAutoReply.OwnerStanzaId(message.Id), OwnerFiles.Find(message, body), cancellationToken);
                if (stored is not null)
                {
                    _metrics.MessageToVisitor();
                    if (stored.Attachment is not null)
                    {
                        _metrics.File("to_visitor");
                    }

                    Log.OwnerReplied(_logger, visitor.Id, stored.Id);
                }
            }
        }
        catch (ChatStoreException ex)
        {
            // Not stored: tell the owner's client, so the reply is not silently lost (RFC 6120 8.3.3.18, type wait).
            Log.StoreFailed(_logger, ex.Message);
            await ReplyErrorAsync(visitorId, message, new StanzaError("resource-constraint", StanzaErrorType.Wait, "The gateway cannot store messages right now; send it again later."), cancellationToken);
        }
    }

    private async ValueTask OnPresenceAsync(Presence presence, CancellationToken cancellationToken)
    {
        var to = presence.To;
        var from = presence.From;
        if (to is null || _link.VisitorIdOf(to) is not { } visitorId || from is null)
        {
            return;
        }

        var visitor = from.Bare == _owner ? await _store.FindVisitorAsync(visitorId, cancellationToken) : null;
        if (visitor is null)
        {
            // Only the owner may subscribe to visitors, and only to visitors that exist.
            if (presence.Type == PresenceType.Subscribe)
            {
                await _link.TrySendAsync(visitorId, new Presence(PresenceType.Unsubscribed, from.Bare), openSession: false, cancellationToken);
            }

            return;
        }

        switch (presence.Type)
        {
            case PresenceType.Subscribe:
                var subscribed = new Presence(PresenceType.Subscribed, _owner);
                subscribed.Add(Nick(visitor.DisplayName));
                await _link.TrySendAsync(visitor.Id, subscribed, openSession: false, cancellationToken);
                await SendCurrentPresenceAsync(visitor, cancellationToken);
                break;
            case PresenceType.Unsubscribe:
                await _link.TrySendAsync(visitor.Id, new Presence(PresenceType.Unsubscribed, _owner), openSession: false, cancellationToken);
                break;
            case PresenceType.Probe:
                await SendCurrentPresenceAsync(visitor, cancellationToken);
                break;
            case PresenceType.Available:
                PublishOwnerPresence(visitor.Id, _ownerPresence.Apply(visitor.Id, from.Resource ?? "", presence.Show));
                break;
            case PresenceType.Unavailable:
            case PresenceType.Unsubscribed:
                PublishOwnerPresence(visitor.Id, presence.Type == PresenceType.Unsubscribed
                    ? _ownerPresence.Forget(visitor.Id)
                    : _ownerPresence.Apply(visitor.Id, from.Resource ?? "", null));
                break;
            default:
                break;
        }
    }

    private void PublishOwnerPresence(string visitorId, string? changed)
    {
        if (changed is not null)
        {
            if (changed == OwnerPresence.Offline)
            {
                OwnerChatStates.Set(visitorId, ChatStates.Active);
            }

            _hub.PublishPresence(visitorId, changed);
        }
    }

    private async Task SendCurrentPresenceAsync(Visitor visitor, CancellationToken cancellationToken)
    {
        bool online;
        lock (_presenceLock)
        {
            online = _announced.Contains(visitor.Id);
        }

        var presence = new Presence(online ? PresenceType.Available : PresenceType.Unavailable, _owner);
        if (online)
        {
            presence.Add(Nick(visitor.DisplayName));
        }

        await _link.TrySendAsync(visitor.Id, presence, openSession: false, cancellationToken);
    }

    private async Task ReplyErrorAsync(string visitorId, Message message, StanzaError error, CancellationToken cancellationToken)
    {
        var reply = new Message { To = message.From, Id = message.Id, TypeName = "error" };
        reply.Add(error.ToElement());
        await _link.TrySendAsync(visitorId, reply, openSession: false, cancellationToken);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "XMPP link ({Link}) connected")]
        public static partial void Connected(ILogger logger, string link);

        [LoggerMessage(EventId = 101, Level = LogLevel.Warning, Message = "XMPP link ({Link}) could not connect; retrying in {Seconds} s")]
        public static partial void ConnectFailed(ILogger logger, string link, double seconds, Exception error);

        [LoggerMessage(EventId = 103, Level = LogLevel.Debug, Message = "Refused a message from {Sender}: visitors only talk to the owner")]
        public static partial void RefusedStranger(ILogger logger, string sender);

        [LoggerMessage(EventId = 104, Level = LogLevel.Debug, Message = "The owner replied to visitor {Visitor} (message {MessageId})")]
        public static partial void OwnerReplied(ILogger logger, string visitor, long messageId);

        [LoggerMessage(EventId = 105, Level = LogLevel.Error, Message = "The store failed; retrying later: {Reason}")]
        public static partial void StoreFailed(ILogger logger, string reason);
    }
}
