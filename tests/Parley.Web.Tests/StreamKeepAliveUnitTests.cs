using Parley.Web.Api;

namespace Parley.Web.Tests;

/// <summary>The one keep-alive timer of all event streams, driven by hand.</summary>
public sealed class StreamKeepAliveUnitTests
{
    [Fact]
    public void One_timer_wakes_each_slot_once_per_interval_and_slots_take_turns()
    {
        var time = new ManualTimers();
        using var keepAlive = new StreamKeepAlive(time);
        var timer = Assert.Single(time.Timers);
        Assert.Equal(StreamKeepAlive.Interval / 20, timer.Period);

        // Twenty streams take the twenty slots, one each, and the twenty-first shares again.
        var slots = Enumerable.Range(0, 21).Select(_ => keepAlive.AssignSlot()).ToList();
        Assert.Equal(20, slots.Take(20).Distinct().Count());
        Assert.Equal(slots[0], slots[20]);

        var waits = Enumerable.Range(0, 20).Select(keepAlive.Next).ToList();
        Assert.Same(waits[3], keepAlive.Next(3));
        Assert.All(waits, static wait => Assert.False(wait.IsCompleted));

        // Each tick completes exactly one slot's wait; after a full interval every slot was woken once.
        for (var tick = 1; tick <= 20; tick++)
        {
            timer.Fire();
            Assert.Equal(tick, waits.Count(static wait => wait.IsCompleted));
        }

        // A slot's next wait is a new task that the following interval completes.
        var next = keepAlive.Next(5);
        Assert.False(next.IsCompleted);
        for (var tick = 0; tick < 20; tick++)
        {
            timer.Fire();
        }

        Assert.True(next.IsCompleted);
    }

    [Fact]
    public void Disposing_stops_the_timer()
    {
        var time = new ManualTimers();
        new StreamKeepAlive(time).Dispose();
        Assert.True(Assert.Single(time.Timers).Disposed);
    }

    private sealed class ManualTimers : TimeProvider
    {
        public List<ManualTimer> Timers { get; } = [];

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = new ManualTimer(callback, state, period);
            Timers.Add(timer);
            return timer;
        }
    }

    private sealed class ManualTimer(TimerCallback callback, object? state, TimeSpan period) : ITimer
    {
        public TimeSpan Period { get; } = period;

        public bool Disposed { get; private set; }

        public void Fire() => callback(state);

        public bool Change(TimeSpan dueTime, TimeSpan period) => true;

        public void Dispose() => Disposed = true;

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
