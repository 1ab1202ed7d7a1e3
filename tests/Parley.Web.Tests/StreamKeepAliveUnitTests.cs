using System.Globalization;
using Microsoft.Extensions.Time.Testing;
using Parley.Web.Api;
using Parley.Web.Chat;

namespace Parley.Web.Tests;

/// <summary>The one keep-alive timer of all event streams, on a clock the test advances.</summary>
public sealed class StreamKeepAliveUnitTests
{
    [Fact]
    public async Task One_timer_wakes_each_slot_once_per_interval_and_slots_take_turns()
    {
        var time = new FakeTimeProvider();
        var hub = new ChatHub();
        using var keepAlive = new StreamKeepAlive(time, hub);
        var tick = StreamKeepAlive.Interval / StreamKeepAlive.Slots;

        // Twenty tabs take the twenty slots, one each, and the twenty-first shares again.
        var tabs = Enumerable.Range(0, 21).Select(i => hub.Subscribe("v" + i.ToString(CultureInfo.InvariantCulture), "s", 8)!).ToList();
        Assert.Equal(20, tabs.Take(20).Select(static tab => tab.KeepAliveSlot).Distinct().Count());
        Assert.Equal(tabs[0].KeepAliveSlot, tabs[20].KeepAliveSlot);

        var waits = tabs.Select(static tab => tab.WaitAsync()).ToList();
        time.Advance(tick - TimeSpan.FromTicks(1));
        Assert.All(waits, static wait => Assert.False(wait.IsCompleted));
        time.Advance(TimeSpan.FromTicks(1));
        var first = Enumerable.Range(0, tabs.Count).Where(i => waits[i].IsCompleted).Select(i => tabs[i].KeepAliveSlot).Distinct();
        Assert.Single(first);

        // Each tick wakes exactly the tabs of one slot; after a full interval every tab was woken once, for the keep-alive.
        var woken = Enumerable.Range(0, tabs.Count).Where(i => waits[i].IsCompleted).ToHashSet();
        for (var ticks = 2; ticks <= StreamKeepAlive.Slots; ticks++)
        {
            time.Advance(tick);
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
        for (var ticks = 0; ticks < 2 * StreamKeepAlive.Slots; ticks++)
        {
            time.Advance(tick);
            if (pending.IsCompleted)
            {
                Assert.Equal(Wake.KeepAlive, await pending);
                woke.Add(ticks);
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
        var time = new FakeTimeProvider();
        var hub = new ChatHub();
        using var tab = hub.Subscribe("v", "s", 8)!;
        var wait = tab.WaitAsync();
        new StreamKeepAlive(time, hub).Dispose();
        time.Advance(2 * StreamKeepAlive.Interval);
        Assert.False(wait.IsCompleted);
    }
}
