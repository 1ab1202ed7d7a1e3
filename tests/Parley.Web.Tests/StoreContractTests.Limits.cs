using System.Globalization;
using Microsoft.Extensions.Time.Testing;
using Parley.Web.Storage;

namespace Parley.Web.Tests;

/// <summary>The store's used tokens and rate-limit counters: the same tests against SQLite and PostgreSQL, two stores on the same data standing for two gateways.</summary>
public sealed partial class StoreContractTests
{
    private static readonly DateTimeOffset LimitsStart = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task A_token_is_used_once_whichever_store_sees_it_and_its_record_is_purged_only_when_it_expired(string provider)
    {
        var time = new FakeTimeProvider(LimitsStart);
        await using var a = await OpenAsync(provider, time);
        await using var b = await StoreUnderTest.OpenAsync(provider, a.Location, time);
        var expires = LimitsStart + TimeSpan.FromMinutes(5);

        Assert.True(await a.Limits.TryUseOnceAsync("embed:one", expires, default));
        Assert.False(await a.Limits.TryUseOnceAsync("embed:one", expires, default));
        Assert.False(await b.Limits.TryUseOnceAsync("embed:one", expires, default));
        Assert.True(await b.Limits.TryUseOnceAsync("embed:two", expires + TimeSpan.FromMinutes(1), default));

        time.SetUtcNow(expires - TimeSpan.FromMilliseconds(1));
        Assert.Equal(0, await a.Limits.PurgeAsync(default));
        Assert.False(await b.Limits.TryUseOnceAsync("embed:one", expires, default));

        time.SetUtcNow(expires);
        Assert.Equal(1, await b.Limits.PurgeAsync(default));
        Assert.Equal(["embed:two"], await QueryAsync(provider, a.Location, "SELECT token FROM used_tokens"));

        await Assert.ThrowsAsync<ArgumentException>(() => a.Limits.TryUseOnceAsync(new string('t', 201), expires, default));
        await Assert.ThrowsAsync<ArgumentException>(() => a.Limits.TryUseOnceAsync("", expires, default));
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task A_counter_allows_its_limit_per_window_counting_both_stores_and_starts_again_after_the_window(string provider)
    {
        var time = new FakeTimeProvider(LimitsStart);
        await using var a = await OpenAsync(provider, time);
        await using var b = await StoreUnderTest.OpenAsync(provider, a.Location, time);
        var window = TimeSpan.FromMinutes(1);

        Assert.True((await a.Limits.CountAsync("send:alice", 3, window, default)).Allowed);
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.True((await b.Limits.CountAsync("send:alice", 3, window, default)).Allowed);
        Assert.True((await a.Limits.CountAsync("send:alice", 3, window, default)).Allowed);
        var refused = await b.Limits.CountAsync("send:alice", 3, window, default);
        Assert.Equal(new LimitCount(false, LimitsStart + window), refused);
        Assert.False((await a.Limits.CountAsync("send:alice", 3, window, default)).Allowed);

        // Another counter has its own window; refused requests do not move alice's window.
        time.Advance(TimeSpan.FromSeconds(20));
        Assert.Equal(new LimitCount(true, time.GetUtcNow() + window), await a.Limits.CountAsync("send:bob", 3, window, default));
        time.SetUtcNow(LimitsStart + window - TimeSpan.FromMilliseconds(1));
        Assert.False((await b.Limits.CountAsync("send:alice", 3, window, default)).Allowed);

        // The window is over: counting starts again at one, in a window from now.
        time.SetUtcNow(LimitsStart + window);
        Assert.Equal(new LimitCount(true, time.GetUtcNow() + window), await b.Limits.CountAsync("send:alice", 3, window, default));
        Assert.True((await a.Limits.CountAsync("send:alice", 3, window, default)).Allowed);
        Assert.True((await a.Limits.CountAsync("send:alice", 3, window, default)).Allowed);
        Assert.False((await b.Limits.CountAsync("send:alice", 3, window, default)).Allowed);

        // bob's window ended (at start + 90 s): purged; alice's (until start + 120 s) is kept.
        time.SetUtcNow(LimitsStart + TimeSpan.FromSeconds(90));
        Assert.Equal(1, await a.Limits.PurgeAsync(default));
        Assert.Equal(["send:alice"], await QueryAsync(provider, a.Location, "SELECT counter FROM rate_counters"));
        Assert.False((await b.Limits.CountAsync("send:alice", 3, window, default)).Allowed);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => a.Limits.CountAsync("send:alice", 0, window, default));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => a.Limits.CountAsync("send:alice", 3, TimeSpan.Zero, default));
        await Assert.ThrowsAsync<ArgumentException>(() => a.Limits.CountAsync(new string('c', 201), 3, window, default));
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task Concurrent_requests_through_two_stores_are_allowed_exactly_up_to_the_limit(string provider)
    {
        await using var a = await OpenAsync(provider);
        await using var b = await StoreUnderTest.OpenAsync(provider, a.Location);
        const int Limit = 10;

        // 40 requests at once, half through each store: each count is one statement, so exactly the limit gets through.
        var counts = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Task.Run(() =>
            (i % 2 == 0 ? a : b).Limits.CountAsync("guest:198.51.100.7", Limit, TimeSpan.FromMinutes(1), default))));
        Assert.Equal(Limit, counts.Count(c => c.Allowed));

        // A flood stops counting one past the limit.
        Assert.Equal([(Limit + 1).ToString(CultureInfo.InvariantCulture)], await QueryAsync(provider, a.Location, "SELECT hits FROM rate_counters"));
    }

    [Fact]
    public async Task The_purge_service_deletes_expired_rows_by_itself_and_keeps_live_ones()
    {
        var time = new FakeTimeProvider(LimitsStart);
        await using var db = await OpenAsync(StoreUnderTest.Sqlite, time);
        Assert.True(await db.Limits.TryUseOnceAsync("embed:old", LimitsStart + TimeSpan.FromMinutes(1), default));
        Assert.True(await db.Limits.TryUseOnceAsync("embed:live", LimitsStart + TimeSpan.FromMinutes(10), default));
        Assert.True((await db.Limits.CountAsync("guest:198.51.100.9", 5, TimeSpan.FromMinutes(1), default)).Allowed);
        time.SetUtcNow(LimitsStart + TimeSpan.FromMinutes(2));

        // The store's clock says two minutes later; the service's timer runs on the real clock, every 50 ms.
        using var purge = new LimitPurge(db.Limits, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<LimitPurge>.Instance, TimeSpan.FromMilliseconds(50));
        await purge.StartAsync(default);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while ((await QueryAsync(StoreUnderTest.Sqlite, db.Location, "SELECT count(*) FROM used_tokens")).Single() != "1"
            || (await QueryAsync(StoreUnderTest.Sqlite, db.Location, "SELECT count(*) FROM rate_counters")).Single() != "0")
        {
            Assert.True(DateTime.UtcNow < deadline, "The purge service did not delete the expired rows within 10 s.");
            await Task.Delay(50);
        }

        await purge.StopAsync(default);
        Assert.Equal(["embed:live"], await QueryAsync(StoreUnderTest.Sqlite, db.Location, "SELECT token FROM used_tokens"));
    }
}
