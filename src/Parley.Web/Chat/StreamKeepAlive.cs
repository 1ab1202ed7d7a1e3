namespace Parley.Web.Chat;

/// <summary>
/// One timer for the keep-alive of every open event stream, instead of a timer per stream or per wait. Streams are
/// spread over <see cref="Slots"/> slots (<see cref="ChatHub.Subscription.KeepAliveSlot"/>); each tick of the timer
/// wakes the streams of one slot through the hub, so every stream is woken once per <see cref="Interval"/> and 10,000
/// streams do not all write a ping at once.
/// </summary>
internal sealed class StreamKeepAlive : IDisposable
{
    /// <summary>How often an idle stream sends a ping (proxies close connections that stay silent for about a minute).</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(20);

    /// <summary>How many slots the streams are spread over; one is woken per tick.</summary>
    public const int Slots = 20;

    private readonly ChatHub _hub;
    private readonly ITimer _timer;
    private int _nextSlot;

    public StreamKeepAlive(TimeProvider time, ChatHub hub)
    {
        _hub = hub;
        var tick = Interval / Slots;
        _timer = time.CreateTimer(static state => ((StreamKeepAlive)state!).Tick(), this, tick, tick);
    }

    public void Dispose() => _timer.Dispose();

    /// <summary>Wakes the next slot's streams (the timer's callback; tests call it directly).</summary>
    internal void Tick() => _hub.WakeForKeepAlive((int)((uint)Interlocked.Increment(ref _nextSlot) % Slots));
}
