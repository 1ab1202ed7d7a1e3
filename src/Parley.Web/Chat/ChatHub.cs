using System.Threading.Tasks.Sources;
using Parley.Web.Storage;

namespace Parley.Web.Chat;

/// <summary>
/// What a tab is told: a message that is new or changed (it carries its change number), the owner's presence, or that
/// the owner's profile changed (the tab reads the current one).
/// </summary>
internal sealed record PushEvent(ChatMessage? Message, string? OwnerPresence, bool OwnerProfile = false)
{
    public static readonly PushEvent ProfileChanged = new(null, null, OwnerProfile: true);

    public static PushEvent ForMessage(ChatMessage message) => new(message, null);

    public static PushEvent ForPresence(string presence) => new(null, presence);
}

/// <summary>
/// The live side of the chat: every open tab (push connection) of a visitor subscribes here and gets every change to
/// that visitor's conversation, as the store's change feed announces it (<see cref="IChangeListener"/>). A tab that falls
/// too far behind is disconnected; its reconnect catches up from the store.
/// </summary>
internal sealed class ChatHub : IChangeListener
{
    private const int QueueCapacity = 256;

    private readonly Lock _lock = new();
    // Each visitor's tabs as a chain through Subscription.NextOfVisitor (guarded by _lock): almost every visitor has
    // one tab, and a list per visitor would cost more than the tab's own entry.
    private readonly Dictionary<string, Subscription> _byVisitor = new(StringComparer.Ordinal);
    private int _nextSlot;

    /// <summary>Raised (outside the lock) when a visitor's first tab opens; the argument is the visitor id.</summary>
    public event Action<string>? VisitorOnline;

    /// <summary>Raised (outside the lock) when a visitor's last tab closes.</summary>
    public event Action<string>? VisitorOffline;

    /// <summary>Opens a subscription for one tab, or returns <see langword="null"/> when the visitor already has <paramref name="maxPerVisitor"/> open.</summary>
    public Subscription? Subscribe(string visitorId, string sessionId, int maxPerVisitor)
    {
        var slot = (int)((uint)Interlocked.Increment(ref _nextSlot) % StreamKeepAlive.Slots);
        var subscription = new Subscription(this, visitorId, sessionId, slot);
        bool first;
        lock (_lock)
        {
            _byVisitor.TryGetValue(visitorId, out var head);
            var open = 0;
            for (var tab = head; tab is not null; tab = tab.NextOfVisitor)
            {
                open++;
            }

            if (open >= maxPerVisitor)
            {
                return null;
            }

            subscription.NextOfVisitor = head;
            _byVisitor[visitorId] = subscription;
            first = head is null;
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

    /// <summary>Sends the owner's presence as this visitor sees it to every tab of the visitor (<see langword="null"/>: of every visitor).</summary>
    public void PublishPresence(string? visitorId, string presence)
        => Deliver(visitorId is null ? Select(static _ => true) : TabsOf(visitorId), PushEvent.ForPresence(presence));

    /// <summary>Tells every tab that the owner's profile (name, avatar, status text) changed.</summary>
    public void PublishProfile() => Deliver(Select(static _ => true), PushEvent.ProfileChanged);

    /// <summary>
    /// Queues an event for each tab. A tab too slow (or already closed) is ended: the browser reconnects and reads what it
    /// missed from the store.
    /// </summary>
    private static void Deliver(List<Subscription> targets, PushEvent pushEvent)
    {
        foreach (var target in targets)
        {
            if (!target.TryWrite(pushEvent))
            {
                target.Complete();
            }
        }
    }

    /// <summary>Changes are wanted for visitors with a tab open here.</summary>
    bool IChangeListener.Wants(string visitorId) => IsOnline(visitorId);

    /// <summary>A committed change goes to the visitor's tabs.</summary>
    void IChangeListener.OnChange(ChatMessage change) => PublishMessage(change);

    /// <summary>Changes may have been missed: the tabs concerned reconnect and catch up from the store.</summary>
    void IChangeListener.OnMissed(string? visitorId)
    {
        if (visitorId is null)
        {
            DisconnectAll();
        }
        else
        {
            DisconnectVisitor(visitorId);
        }
    }

    /// <summary>Closes every tab of a sign-in session (sign-out).</summary>
    public void EndSession(string sessionId)
    {
        foreach (var subscription in Select(tab => tab.SessionId == sessionId))
        {
            subscription.Complete();
        }
    }

    /// <summary>Closes every tab of one visitor; the browsers reconnect and catch up from the store (a change could not be delivered live).</summary>
    public void DisconnectVisitor(string visitorId)
    {
        foreach (var subscription in TabsOf(visitorId))
        {
            subscription.Complete();
        }
    }

    /// <summary>Closes every tab; the browsers reconnect and catch up from the store (live changes may have been missed).</summary>
    public void DisconnectAll()
    {
        foreach (var subscription in Select(static _ => true))
        {
            subscription.Complete();
        }
    }

    /// <summary>Wakes the tabs of one visitor (<see langword="null"/>: of every visitor) to look at the owner's typing state again.</summary>
    public void WakeForTyping(string? visitorId)
    {
        foreach (var target in visitorId is null ? Select(static _ => true) : TabsOf(visitorId))
        {
            target.Signal(Wake.Typing);
        }
    }

    /// <summary>Wakes the tabs in one of <see cref="StreamKeepAlive"/>'s slots to send a keep-alive.</summary>
    public void WakeForKeepAlive(int slot)
    {
        foreach (var subscription in Select(tab => tab.KeepAliveSlot == slot))
        {
            subscription.Signal(Wake.KeepAlive);
        }
    }

    private void Publish(string visitorId, PushEvent pushEvent) => Deliver(TabsOf(visitorId), pushEvent);

    /// <summary>The visitor's tabs, copied under the lock (they are woken outside it).</summary>
    private List<Subscription> TabsOf(string visitorId)
    {
        List<Subscription> tabs = [];
        lock (_lock)
        {
            if (_byVisitor.TryGetValue(visitorId, out var head))
            {
                for (var tab = head; tab is not null; tab = tab.NextOfVisitor)
                {
                    tabs.Add(tab);
                }
            }
        }

        return tabs;
    }

    /// <summary>Every tab that matches, copied under the lock (they are woken outside it).</summary>
    private List<Subscription> Select(Func<Subscription, bool> match)
    {
        List<Subscription> tabs = [];
        lock (_lock)
        {
            foreach (var head in _byVisitor.Values)
            {
                for (var tab = head; tab is not null; tab = tab.NextOfVisitor)
                {
                    if (match(tab))
                    {
                        tabs.Add(tab);
                    }
                }
            }
        }

        return tabs;
    }

    private void Remove(Subscription subscription)
    {
        var last = false;
        lock (_lock)
        {
            if (_byVisitor.TryGetValue(subscription.VisitorId, out var head))
            {
                if (head == subscription)
                {
                    if (subscription.NextOfVisitor is { } next)
                    {
                        _byVisitor[subscription.VisitorId] = next;
                    }
                    else
                    {
                        _byVisitor.Remove(subscription.VisitorId);
                        last = true;
                    }
                }
                else
                {
                    for (var tab = head; tab.NextOfVisitor is { } next; tab = next)
                    {
                        if (next == subscription)
                        {
                            tab.NextOfVisitor = subscription.NextOfVisitor;
                            break;
                        }
                    }
                }

                subscription.NextOfVisitor = null;
            }
        }

        if (last)
        {
            VisitorOffline?.Invoke(subscription.VisitorId);
        }
    }

    /// <summary>
    /// One tab's queue of events and its one waiter. Besides events it carries wake-ups without data (the owner's
    /// typing changed, the keep-alive is due, the tab ended), so a stream waits on one thing: no channel, no
    /// <see cref="Task.WhenAny(Task[])"/> and no task per wait. With thousands of idle tabs that is most of what a tab
    /// costs in the hub. Dispose when the tab's connection ends.
    /// </summary>
    internal sealed class Subscription : IDisposable, IValueTaskSource<Wake>
    {
        private readonly ChatHub _hub;
        private readonly Lock _lock = new();
        private Queue<PushEvent>? _queue;
        private ManualResetValueTaskSourceCore<Wake> _waiter = new() { RunContinuationsAsynchronously = true };
        private Wake _pending;
        private bool _waiting;
        private int _disposed;

        internal Subscription(ChatHub hub, string visitorId, string sessionId, int keepAliveSlot)
        {
            _hub = hub;
            VisitorId = visitorId;
            SessionId = sessionId;
            KeepAliveSlot = keepAliveSlot;
        }

        public string VisitorId { get; }

        public string SessionId { get; }

        /// <summary>The visitor's next tab in the hub (guarded by the hub's lock).</summary>
        internal Subscription? NextOfVisitor { get; set; }

        /// <summary>Which of <see cref="StreamKeepAlive"/>'s slots wakes this tab.</summary>
        public int KeepAliveSlot { get; }

        /// <summary>Whether the tab was ended (<see cref="Complete"/>); events already queued can still be read.</summary>
        public bool IsCompleted
        {
            get
            {
                lock (_lock)
                {
                    return (_pending & Wake.Ended) != 0;
                }
            }
        }

        /// <summary>
        /// Waits until something is queued or the tab is woken, and returns every reason since the last wait
        /// (<see cref="Wake.Ended"/> stays set once the tab ended). One wait at a time; the reader reads the queue
        /// after it with <see cref="TryRead"/>.
        /// </summary>
        public ValueTask<Wake> WaitAsync()
        {
            lock (_lock)
            {
                if (_pending != Wake.None)
                {
                    var reasons = _pending;
                    _pending &= Wake.Ended;
                    return new ValueTask<Wake>(reasons);
                }

                _waiter.Reset();
                _waiting = true;
                return new ValueTask<Wake>(this, _waiter.Version);
            }
        }

        /// <summary>Takes the next queued event.</summary>
        public bool TryRead([System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out PushEvent pushEvent)
        {
            lock (_lock)
            {
                if (_queue is { Count: > 0 } queue)
                {
                    pushEvent = queue.Dequeue();
                    return true;
                }
            }

            pushEvent = null;
            return false;
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                Complete();
                _hub.Remove(this);
            }
        }

        /// <summary>Ends the tab: its stream delivers what is queued and then ends.</summary>
        internal void Complete() => Signal(Wake.Ended);

        /// <summary>Queues an event; <see langword="false"/> when the tab ended or has <see cref="QueueCapacity"/> events unread.</summary>
        internal bool TryWrite(PushEvent pushEvent)
        {
            lock (_lock)
            {
                if ((_pending & Wake.Ended) != 0)
                {
                    return false;
                }

                _queue ??= new Queue<PushEvent>();
                if (_queue.Count >= QueueCapacity)
                {
                    return false;
                }

                _queue.Enqueue(pushEvent);
            }

            Signal(Wake.Events);
            return true;
        }

        /// <summary>Wakes the tab's stream without an event (typing changed, keep-alive due, ended).</summary>
        internal void Signal(Wake reason)
        {
            Wake reasons;
            lock (_lock)
            {
                _pending |= reason;
                if (!_waiting)
                {
                    return;
                }

                _waiting = false;
                reasons = _pending;
                _pending &= Wake.Ended;
            }

            // Continuations run on the thread pool (RunContinuationsAsynchronously): whoever signals never runs a stream.
            _waiter.SetResult(reasons);
        }

        Wake IValueTaskSource<Wake>.GetResult(short token) => _waiter.GetResult(token);

        ValueTaskSourceStatus IValueTaskSource<Wake>.GetStatus(short token) => _waiter.GetStatus(token);

        void IValueTaskSource<Wake>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
            => _waiter.OnCompleted(continuation, state, token, flags);
    }
}

/// <summary>Why a tab's stream was woken (<see cref="ChatHub.Subscription.WaitAsync"/>); several at once are possible.</summary>
[Flags]
internal enum Wake
{
    /// <summary>Nothing yet.</summary>
    None = 0,

    /// <summary>Events are queued.</summary>
    Events = 1,

    /// <summary>The owner's typing state towards the visitor may have changed.</summary>
    Typing = 2,

    /// <summary>The shared keep-alive is due for this tab.</summary>
    KeepAlive = 4,

    /// <summary>The tab ended (sign-out, visitor disconnected, request aborted, app stopping).</summary>
    Ended = 8,
}
