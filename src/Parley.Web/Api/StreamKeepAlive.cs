namespace Parley.Web.Api;

/// <summary>
/// One timer for the keep-alive of every open event stream, instead of a timer and a linked cancellation source per
/// stream and wait. Streams are spread over <see cref="Slots"/> slots; each tick of the timer wakes the streams of one
/// slot, so every stream is woken once per <see cref="Interval"/> and 10,000 streams do not all write a ping at once.
/// </summary>
internal sealed class StreamKeepAlive : IDisposable
{
    /// <summary>How often an idle stream sends a ping (proxies close connections that stay silent for about a minute).</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(20);

    private const int Slots = 20;

    private readonly TaskCompletionSource[] _slots = new TaskCompletionSource[Slots];
    private readonly ITimer _timer;
    private int _nextSlot;
    private int _nextStream;

    public StreamKeepAlive(TimeProvider time)
    {
        for (var i = 0; i < Slots; i++)
        {
            _slots[i] = NewSlot();
        }

        var tick = Interval / Slots;
        _timer = time.CreateTimer(static state => ((StreamKeepAlive)state!).Tick(), this, tick, tick);
    }

    /// <summary>Picks the slot of a new stream (round robin).</summary>
    public int AssignSlot() => (int)((uint)Interlocked.Increment(ref _nextStream) % Slots);

    /// <summary>A task that completes at the next keep-alive tick of <paramref name="slot"/>; the same task for every stream in the slot.</summary>
    public Task Next(int slot) => Volatile.Read(ref _slots[slot]).Task;

    public void Dispose() => _timer.Dispose();

    /// <summary>Wakes the streams of the next slot (the timer's callback; tests call it directly).</summary>
    internal void Tick()
    {
        var slot = (int)((uint)Interlocked.Increment(ref _nextSlot) % Slots);
        Interlocked.Exchange(ref _slots[slot], NewSlot()).TrySetResult();
    }

    private static TaskCompletionSource NewSlot() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
