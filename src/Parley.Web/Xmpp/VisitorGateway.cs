using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Parley.Web.Chat;
using Parley.Web.Diagnostics;
using Parley.Web.Storage;
using Parley.Xmpp;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Web.Xmpp;

/// <summary>
/// The gateway's XMPP side: one XEP-0114 component for every visitor. It sends what visitors write (from the outbox of
/// pending messages, in order), stores what the owner answers, keeps each visitor's presence in step with their open
/// tabs, answers subscription requests and probes, and tracks the owner's presence for each visitor.
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
    private readonly XmppComponent _component;
    private readonly Jid _owner;
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Lock _presenceLock = new();
    private readonly HashSet<string> _announced = new(StringComparer.Ordinal);
    private readonly HashSet<string> _arriving = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _leaving = new(StringComparer.Ordinal);
    private readonly VisitorTypingThrottle _typing;
    private readonly GatewayMetrics _metrics;
    private long _disconnectedSinceTicks; // UTC ticks; a long so the health check never reads a torn value

    public VisitorGateway(IOptions<GatewayOptions> options, ChatStore store, ChatHub hub, OwnerPresence ownerPresence, GatewayMetrics metrics, TimeProvider time, ILoggerFactory loggerFactory)
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
        _component = new XmppComponent(
            new XmppComponentOptions
            {
                Domain = _options.Component.Domain,
                Secret = _options.Component.Secret,
                Host = _options.Component.Host,
                Port = _options.Component.Port,
            },
            loggerFactory);
        _component.Disco.AddFeature(XmppNamespaces.Receipts);
        _component.Disco.AddFeature(XmppNamespaces.ChatStates);
        _typing = new VisitorTypingThrottle(time);
        _component.OnMessage(OnMessageAsync);
        _component.OnPresence(OnPresenceAsync);
        _component.StateChanged += OnStateChanged;
        _hub.VisitorOnline += id => ChangeVisitorPresence(id, online: true);
        _hub.VisitorOffline += id => ChangeVisitorPresence(id, online: false);
    }

    /// <summary>Whether the component is connected to the XMPP server.</summary>
    public bool IsConnected => _component.State == XmppConnectionState.Connected;

    /// <summary>Since when the link has been down (the gateway's start when it never connected); <see langword="null"/> while connected.</summary>
    public DateTimeOffset? DisconnectedSince => IsConnected ? null : new DateTimeOffset(Interlocked.Read(ref _disconnectedSinceTicks), TimeSpan.Zero);

    /// <summary>The component's domain: visitors are <c>id@</c> this.</summary>
    public string Domain => _options.Component.Domain;

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

        return await TrySendAsync(ChatStates.Notification(VisitorJid(visitorId), _owner, state), cancellationToken);
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
                await TrySendAsync(new Presence(PresenceType.Unavailable, _owner) { From = VisitorJid(visitorId) }, cancellationToken);
            }
        }

        await _component.DisposeAsync();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var delay = TimeSpan.FromSeconds(1);
        while (!stoppingToken.IsCancellationRequested)
        {
            if (_component.State == XmppConnectionState.Disconnected)
            {
                try
                {
                    await _component.ConnectAsync(stoppingToken);
                    delay = TimeSpan.FromSeconds(1);
                    Log.Connected(_logger, Domain);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception ex) when (ex is XmppException or TimeoutException)
                {
                    Log.ConnectFailed(_logger, Domain, delay.TotalSeconds, ex);
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

    private Jid VisitorJid(string visitorId) => Jid.Create(visitorId, Domain);

    private static XmppElement Nick(string name) => new("nick", NickNamespace) { Text = name };

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

            foreach (var message in claim.Messages)
            {
                // The foreign key guarantees the row; a missing one is a broken database, not something to skip silently.
                var visitor = await _store.FindVisitorAsync(message.VisitorId, cancellationToken)
                    ?? throw new InvalidOperationException($"Message {message.Id} belongs to visitor {message.VisitorId}, who is not in the database.");

                var from = VisitorJid(visitor.Id);
                if (!visitor.SubscriptionRequested && await claim.MarkSubscriptionRequestedAsync(visitor.Id, cancellationToken))
                {
                    // Ask once to see the owner's presence; XEP-0172 puts the visitor's name into the request.
                    var subscribe = new Presence(PresenceType.Subscribe, _owner) { From = from };
                    subscribe.Add(Nick(visitor.DisplayName));
                    if (!await TrySendAsync(subscribe, cancellationToken))
                    {
                        await claim.CompleteAsync(cancellationToken);
                        return;
                    }
                }

                var stanza = new Message(_owner, message.Text) { From = from, Id = message.StanzaId };
                stanza.Add(Nick(visitor.DisplayName));
                stanza.Add(new XmppElement("request", XmppNamespaces.Receipts));
                stanza.Add(ChatStates.Element(ChatStates.Active));
                if (!await TrySendAsync(stanza, cancellationToken))
                {
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

    /// <summary>Sends a stanza; false when the connection is not there (the caller retries later).</summary>
    private async Task<bool> TrySendAsync(Stanza stanza, CancellationToken cancellationToken)
    {
        try
        {
            await _component.SendAsync(stanza, cancellationToken);
            return true;
        }
        catch (InvalidOperationException ex)
        {
            Log.SendDeferred(_logger, ex.Message);
            return false;
        }
        catch (XmppTransportException ex)
        {
            Log.SendDeferred(_logger, ex.Message);
            return false;
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
        if (visitor is null || !IsConnected)
        {
            return false;
        }

        var from = VisitorJid(visitorId);
        var available = new Presence { To = _owner, From = from };
        available.Add(Nick(visitor.DisplayName));

        // The probe makes the owner's server send the owner's current presence, if the owner let this visitor see it.
        return await TrySendAsync(available, cancellationToken)
            && await TrySendAsync(new Presence(PresenceType.Probe, _owner) { From = from }, cancellationToken);
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
            await TrySendAsync(new Presence(PresenceType.Unavailable, _owner) { From = VisitorJid(visitorId) }, cancellationToken);
        }
    }

    private void OnStateChanged(object? sender, ConnectionStateChangedEventArgs e)
    {
        if (e.NewState == XmppConnectionState.Connected)
        {
            // A new stream: tell the owner again who is here, and ask again for the owner's presence.
            lock (_presenceLock)
            {
                _arriving.UnionWith(_announced);
                _announced.Clear();
            }

            Wake();
        }
        else if (e.OldState == XmppConnectionState.Connected)
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

    private async ValueTask OnMessageAsync(Message message, CancellationToken cancellationToken)
    {
        var to = message.To;
        var from = message.From;
        if (to?.Local is null || from is null || message.Type == MessageType.Error)
        {
            return;
        }

        if (from.Bare != _owner)
        {
            Log.RefusedStranger(_logger, from.Bare.ToString());
            await ReplyErrorAsync(message, new StanzaError("not-allowed", StanzaErrorType.Cancel, "This address only talks to its owner."), cancellationToken);
            return;
        }

        try
        {
            var visitor = await _store.FindVisitorAsync(to.Local, cancellationToken);
            if (visitor is null)
            {
                await ReplyErrorAsync(message, StanzaError.ItemNotFound("No such visitor."), cancellationToken);
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
                var stored = await _store.AddOwnerMessageAsync(visitor.Id, body, Api.OfflineAutoReply.OwnerStanzaId(message.Id), cancellationToken);
                if (stored is not null)
                {
                    _metrics.MessageToVisitor();
                    Log.OwnerReplied(_logger, visitor.Id, stored.Id);
                }
            }
        }
        catch (ChatStoreException ex)
        {
            // Not stored: tell the owner's client, so the reply is not silently lost (RFC 6120 8.3.3.18, type wait).
            Log.StoreFailed(_logger, ex.Message);
            await ReplyErrorAsync(message, new StanzaError("resource-constraint", StanzaErrorType.Wait, "The gateway cannot store messages right now; send it again later."), cancellationToken);
        }
    }

    private async ValueTask OnPresenceAsync(Presence presence, CancellationToken cancellationToken)
    {
        var to = presence.To;
        var from = presence.From;
        if (to?.Local is null || from is null)
        {
            return;
        }

        var visitor = from.Bare == _owner ? await _store.FindVisitorAsync(to.Local, cancellationToken) : null;
        var visitorJid = to.Bare;
        if (visitor is null)
        {
            // Only the owner may subscribe to visitors, and only to visitors that exist.
            if (presence.Type == PresenceType.Subscribe)
            {
                await TrySendAsync(new Presence(PresenceType.Unsubscribed, from.Bare) { From = visitorJid }, cancellationToken);
            }

            return;
        }

        switch (presence.Type)
        {
            case PresenceType.Subscribe:
                var subscribed = new Presence(PresenceType.Subscribed, _owner) { From = visitorJid };
                subscribed.Add(Nick(visitor.DisplayName));
                await TrySendAsync(subscribed, cancellationToken);
                await SendCurrentPresenceAsync(visitor, cancellationToken);
                break;
            case PresenceType.Unsubscribe:
                await TrySendAsync(new Presence(PresenceType.Unsubscribed, _owner) { From = visitorJid }, cancellationToken);
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

        var presence = new Presence(online ? PresenceType.Available : PresenceType.Unavailable, _owner) { From = VisitorJid(visitor.Id) };
        if (online)
        {
            presence.Add(Nick(visitor.DisplayName));
        }

        await TrySendAsync(presence, cancellationToken);
    }

    private async Task ReplyErrorAsync(Message message, StanzaError error, CancellationToken cancellationToken)
    {
        var reply = new Message { To = message.From, From = message.To, Id = message.Id, TypeName = "error" };
        reply.Add(error.ToElement());
        await TrySendAsync(reply, cancellationToken);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Component {Domain} connected")]
        public static partial void Connected(ILogger logger, string domain);

        [LoggerMessage(EventId = 101, Level = LogLevel.Warning, Message = "Component {Domain} could not connect; retrying in {Seconds} s")]
        public static partial void ConnectFailed(ILogger logger, string domain, double seconds, Exception error);

        [LoggerMessage(EventId = 102, Level = LogLevel.Debug, Message = "Not connected, the outbox keeps the stanza for later: {Reason}")]
        public static partial void SendDeferred(ILogger logger, string reason);

        [LoggerMessage(EventId = 103, Level = LogLevel.Debug, Message = "Refused a message from {Sender}: visitors only talk to the owner")]
        public static partial void RefusedStranger(ILogger logger, string sender);

        [LoggerMessage(EventId = 104, Level = LogLevel.Debug, Message = "The owner replied to visitor {Visitor} (message {MessageId})")]
        public static partial void OwnerReplied(ILogger logger, string visitor, long messageId);

        [LoggerMessage(EventId = 105, Level = LogLevel.Error, Message = "The store failed; retrying later: {Reason}")]
        public static partial void StoreFailed(ILogger logger, string reason);
    }
}
