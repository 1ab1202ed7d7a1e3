using System.Buffers;
using System.Text;
using Parley.Web.Api;
using Parley.Web.Chat;

namespace Parley.Web.Tests;

/// <summary>A tab's subscription (its queue and its one waiter) and the event-stream format, without a server.</summary>
public sealed class ChatHubUnitTests
{
    [Fact]
    public async Task A_wait_returns_at_once_for_what_happened_before_it_and_later_for_what_happens_after()
    {
        var hub = new ChatHub();
        using var tab = hub.Subscribe("v", "s", 8)!;
        hub.PublishPresence("v", "away");
        hub.WakeForTyping("v");
        var first = tab.WaitAsync();
        Assert.True(first.IsCompleted);
        Assert.Equal(Wake.Events | Wake.Typing, await first);
        Assert.True(tab.TryRead(out var pushed));
        Assert.Equal("away", pushed.OwnerPresence);
        Assert.False(tab.TryRead(out _));

        var second = tab.WaitAsync();
        Assert.False(second.IsCompleted);
        hub.PublishPresence("v", "available");
        Assert.Equal(Wake.Events, await second.AsTask().WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.True(tab.TryRead(out pushed));
        Assert.Equal("available", pushed.OwnerPresence);
    }

    [Fact]
    public async Task Typing_and_publishing_wake_only_the_visitors_own_tabs_and_null_wakes_all()
    {
        var hub = new ChatHub();
        using var mine = hub.Subscribe("v", "s", 8)!;
        using var other = hub.Subscribe("w", "t", 8)!;
        var mineWait = mine.WaitAsync();
        var otherWait = other.WaitAsync();
        hub.WakeForTyping("v");
        hub.PublishPresence("v", "away");
        Assert.Equal(Wake.Typing, await mineWait.AsTask().WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.False(otherWait.IsCompleted);
        Assert.False(other.TryRead(out _));

        hub.WakeForTyping(null);
        Assert.Equal(Wake.Typing, await otherWait.AsTask().WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(Wake.Events | Wake.Typing, await mine.WaitAsync());
    }

    [Fact]
    public async Task An_ended_tab_still_delivers_what_was_queued_stays_ended_and_takes_nothing_more()
    {
        var hub = new ChatHub();
        using var tab = hub.Subscribe("v", "session-1", 8)!;
        var wait = tab.WaitAsync();
        hub.PublishPresence("v", "away");
        hub.EndSession("session-1");
        Assert.Equal(Wake.Events, await wait.AsTask().WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.True(tab.IsCompleted);
        Assert.Equal(Wake.Ended, await tab.WaitAsync());
        Assert.Equal(Wake.Ended, await tab.WaitAsync());
        Assert.True(tab.TryRead(out var pushed));
        Assert.Equal("away", pushed.OwnerPresence);
        hub.PublishPresence("v", "available");
        Assert.False(tab.TryRead(out _));
    }

    [Fact]
    public void A_tab_that_falls_behind_is_ended_and_the_visitor_goes_offline_when_its_last_tab_closes()
    {
        var hub = new ChatHub();
        var offline = new List<string>();
        hub.VisitorOffline += offline.Add;
        var tab = hub.Subscribe("v", "s", 8)!;
        for (var i = 0; i < 256; i++)
        {
            hub.PublishPresence("v", "away");
        }

        Assert.False(tab.IsCompleted);
        hub.PublishPresence("v", "one too many");
        Assert.True(tab.IsCompleted);
        Assert.True(hub.IsOnline("v"));
        tab.Dispose();
        Assert.False(hub.IsOnline("v"));
        Assert.Equal(["v"], offline);
    }

    [Fact]
    public void A_visitor_has_at_most_the_limit_of_tabs_every_tab_gets_the_events_and_closing_any_of_them_keeps_the_others()
    {
        var hub = new ChatHub();
        var online = new List<string>();
        var offline = new List<string>();
        hub.VisitorOnline += online.Add;
        hub.VisitorOffline += offline.Add;
        var tabs = Enumerable.Range(0, 3).Select(_ => hub.Subscribe("v", "s", 3)!).ToList();
        Assert.Null(hub.Subscribe("v", "s", 3));
        using var other = hub.Subscribe("w", "t", 3)!;
        Assert.Equal(["v", "w"], online);

        // The middle one, then the first, then the last: the visitor stays online until its last tab closes.
        tabs[1].Dispose();
        hub.PublishPresence("v", "away");
        Assert.True(tabs[0].TryRead(out _));
        Assert.False(tabs[1].TryRead(out _));
        Assert.True(tabs[2].TryRead(out _));
        Assert.False(other.TryRead(out _));
        var fourth = hub.Subscribe("v", "s", 3)!;
        Assert.Null(hub.Subscribe("v", "s", 3));
        tabs[0].Dispose();
        tabs[2].Dispose();
        Assert.True(hub.IsOnline("v"));
        Assert.Empty(offline);

        hub.DisconnectVisitor("v");
        Assert.True(fourth.IsCompleted);
        Assert.False(other.IsCompleted);
        fourth.Dispose();
        Assert.False(hub.IsOnline("v"));
        Assert.Equal(["v"], offline);
        hub.EndSession("t");
        Assert.True(other.IsCompleted);
    }

    [Fact]
    public void Events_are_written_in_the_event_stream_format_with_one_data_line_per_line()
    {
        var buffer = new ArrayBufferWriter<byte>();
        ChatApi.EventStream.WriteEvent(buffer, "presence", "{\"owner\":\"away\"}", id: null, retry: true);
        ChatApi.EventStream.WriteEvent(buffer, "message", "a\r\nb\rc\nd\u00e9", id: 42, retry: false);
        ChatApi.EventStream.WriteEvent(buffer, "ping", "{}", id: null, retry: false);
        Assert.Equal(
            "event: presence\ndata: {\"owner\":\"away\"}\nretry: 2000\n\n" +
            "event: message\ndata: a\ndata: b\ndata: c\ndata: d\u00e9\nid: 42\n\n" +
            "event: ping\ndata: {}\n\n",
            Encoding.UTF8.GetString(buffer.WrittenSpan));
    }
}
