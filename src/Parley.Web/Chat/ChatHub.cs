using System.Threading.Channels;
using Parley.Web.Storage;

namespace Parley.Web.Chat;

/// <summary>What a tab is told: a message that is new or changed (carries the change sequence), or the owner's presence.</summary>
internal sealed record PushEvent(string Type, long? Seq, ChatMessage? Message, string? OwnerPresence)
{
    public static PushEvent ForMessage(ChatMessage message) => new("message", message.Seq, message, null);

    public static PushEvent ForPresence(string presence) => new("presence", null, null, presence);
}

/// <summary>
/// The live side of the chat: every open tab (push connection) of a visitor subscribes here and gets every change to
/// that visitor's conversation. A tab that falls too far behind is disconnected; its reconnect catches up from the store.
/// </summary>
internal sealed class ChatHub
{
    private const int QueueCapacity = 256;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, List<Subscription>> _byVisitor = new(StringComparer.Ordinal);

    /// <summary>Raised (outside the lock) when a visitor's first tab opens; the argument is the visitor id.</summary>
    public event Action<string>? VisitorOnline;

    /// <summary>Raised (outside the lock) when a visitor's last tab closes.</summary>
    public event Action<string>? VisitorOffline;

    /// <summary>Opens a subscription for one tab, or returns <see langword="null"/> when the visitor already has <paramref name="maxPerVisitor"/> open.</summary>
    public Subscription? Subscribe(string visitorId, string sessionId, int maxPerVisitor)
    {
        var subscription = new Subscription(this, visitorId, sessionId);
        bool first;
        lock (_lock)
        {
            if (!_byVisitor.TryGetValue(visitorId, out var list))
            {
                list = [];
                _byVisitor.Add(visitorId, list);
            }

            if (list.Count >= maxPerVisitor)
            {
                return null;
            }

            list.Add(subscription);
            first = list.Count == 1;
        }

        if (first)
        {
            VisitorOnline?.Invoke(visitorId);
        }

        return subscription;
    }

    /// <summary>Whether the visitor has at least one tab open.</summary>
    public bool IsOnline(string visitorId)
    {
        lock (_lock)
        {
            return _byVisitor.ContainsKey(visitorId);
        }
    }

    /// <summary>Sends a stored message (new or changed) to every tab of its visitor.</summary>
    public void PublishMessage(ChatMessage message) => Publish(message.VisitorId, PushEvent.ForMessage(message));

    /// <summary>Sends the owner's presence as this visitor sees it to every tab of the visitor.</summary>
    public void PublishPresence(string visitorId, string presence) => Publish(visitorId, PushEvent.ForPresence(presence));

    /// <summary>Closes every tab of a sign-in session (sign-out).</summary>
    public void EndSession(string sessionId)
    {
        List<Subscription> ended = [];
        lock (_lock)
        {
            foreach (var list in _byVisitor.Values)
            {
                ended.AddRange(list.Where(s => s.SessionId == sessionId));
            }
        }

        foreach (var subscription in ended)
        {
            subscription.Complete();
        }
    }

    /// <summary>Closes every tab of one visitor; the browsers reconnect and catch up from the store (a change could not be delivered live).</summary>
    public void DisconnectVisitor(string visitorId)
    {
        Subscription[] ended;
        lock (_lock)
        {
            ended = _byVisitor.TryGetValue(visitorId, out var list) ? [.. list] : [];
        }

        foreach (var subscription in ended)
        {
            subscription.Complete();
        }
    }

    /// <summary>Closes every tab; the browsers reconnect and catch up from the store (live changes may have been missed).</summary>
    public void DisconnectAll()
    {
        List<Subscription> ended = [];
        lock (_lock)
        {
            foreach (var list in _byVisitor.Values)
            {
                ended.AddRange(list);
            }
        }

        foreach (var subscription in ended)
        {
            subscription.Complete();
        }
    }

    private void Publish(string visitorId, PushEvent pushEvent)
    {
        Subscription[] targets;
        lock (_lock)
        {
            if (!_byVisitor.TryGetValue(visitorId, out var list))
            {
                return;
            }

            targets = [.. list];
        }

        foreach (var target in targets)
        {
            if (!target.Writer.TryWrite(pushEvent))
            {
                // Too slow (or already closed): end it; the browser reconnects and reads what it missed from the store.
                target.Complete();
            }
        }
    }

    private void Remove(Subscription subscription)
    {
        bool last = false;
        lock (_lock)
        {
            if (_byVisitor.TryGetValue(subscription.VisitorId, out var list) && list.Remove(subscription) && list.Count == 0)
            {
                _byVisitor.Remove(subscription.VisitorId);
                last = true;
            }
        }

        if (last)
        {
            VisitorOffline?.Invoke(subscription.VisitorId);
        }
    }

    /// <summary>One tab's queue of events. Dispose when the tab's connection ends.</summary>
    internal sealed class Subscription : IDisposable
    {
        private readonly ChatHub _hub;
        private readonly Channel<PushEvent> _channel = Channel.CreateBounded<PushEvent>(new BoundedChannelOptions(QueueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });

        private int _disposed;

        internal Subscription(ChatHub hub, string visitorId, string sessionId)
        {
            _hub = hub;
            VisitorId = visitorId;
            SessionId = sessionId;
        }

        public string VisitorId { get; }

        public string SessionId { get; }

        public ChannelReader<PushEvent> Reader => _channel.Reader;

        internal ChannelWriter<PushEvent> Writer => _channel.Writer;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                _channel.Writer.TryComplete();
                _hub.Remove(this);
            }
        }

        internal void Complete() => _channel.Writer.TryComplete();
    }
}
