using System.Globalization;
using Parley.Web.Api;
using Parley.Web.Chat;

namespace Parley.Web.Tests;

/// <summary>The one keep-alive timer of all event streams, driven by hand.</summary>
public sealed class StreamKeepAliveUnitTests
{
    [Fact]
    public async Task One_timer_wakes_each_slot_once_per_interval_and_slots_take_turns()
    {
        var time = new ManualTimers();
        var hub = new ChatHub();
        using var keepAlive = new StreamKeepAlive(time, hub);
        var timer = Assert.Single(time.Timers);
        Assert.Equal(StreamKeepAlive.Interval / StreamKeepAlive.Slots, timer.Period);

        // Twenty tabs take the twenty slots, one each, and the twenty-first shares again.
        var tabs = Enumerable.Range(0, 21).Select(i => hub.Subscribe("v" + i.ToString(CultureInfo.InvariantCulture), "s", 8)!).ToList();
        Assert.Equal(20, tabs.Take(20).Select(static tab => tab.KeepAliveSlot).Distinct().Count());
        Assert.Equal(tabs[0].KeepAliveSlot, tabs[20].KeepAliveSlot);

        var waits = tabs.Select(static tab => tab.WaitAsync()).ToList();
        Assert.All(waits, static wait => Assert.False(wait.IsCompleted));

        // Each tick wakes exactly the tabs of one slot; after a full interval every tab was woken once, for the keep-alive.
        var woken = new HashSet<int>();
        for (var tick = 1; tick <= StreamKeepAlive.Slots; tick++)
        {
            timer.Fire();
            var now = Enumerable.Range(0, tabs.Count).Where(i => waits[i].IsCompleted).ToHashSet();
            var slots = now.Except(woken).Select(i => tabs[i].KeepAliveSlot).Distinct().ToList();
            Assert.Single(slots);
            woken = now;
        }

        Assert.Equal(tabs.Count, woken.Count);
        foreach (var wait in waits)
        {
            Assert.Equal(Wake.KeepAlive, await wait);
        }

        // Over two more intervals a tab is woken twice, exactly one interval (twenty ticks) apart.
        var woke = new List<int>();
        var pending = tabs[5].WaitAsync();
        for (var tick = 0; tick < 2 * StreamKeepAlive.Slots; tick++)
        {
            timer.Fire();
            if (pending.IsCompleted)
            {
                Assert.Equal(Wake.KeepAlive, await pending);
                woke.Add(tick);
                pending = tabs[5].WaitAsync();
            }
        }

        Assert.Equal(2, woke.Count);
        Assert.Equal(StreamKeepAlive.Slots, woke[1] - woke[0]);
        foreach (var tab in tabs)
        {
            tab.Dispose();
        }
    }

    [Fact]
    public void Disposing_stops_the_timer()
    {
        var time = new ManualTimers();
        new StreamKeepAlive(time, new ChatHub()).Dispose();
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
