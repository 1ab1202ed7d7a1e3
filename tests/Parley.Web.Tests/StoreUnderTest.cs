using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Parley.Web.Chat;
using Parley.Web.Storage;

namespace Parley.Web.Tests;

/// <summary>A store of either provider with its hub (and, for PostgreSQL, the change feed that feeds the hub), initialized.</summary>
internal sealed class StoreUnderTest : IAsyncDisposable
{
    public const string Sqlite = "Sqlite";
    public const string Postgres = "PostgreSQL";

    private readonly PostgresChangeFeed? _feed;

    private StoreUnderTest(ChatStore store, ChatHub hub, PostgresChangeFeed? feed, string location)
    {
        Store = store;
        Hub = hub;
        _feed = feed;
        Location = location;
    }

    public ChatStore Store { get; }

    public ChatHub Hub { get; }

    /// <summary>The SQLite file or the PostgreSQL connection string: open a second store on the same data with it.</summary>
    public string Location { get; }

    public static string NewSqlitePath() => Path.Combine(Path.GetTempPath(), "parley-web-tests", Guid.NewGuid().ToString("N") + ".db");

    /// <summary>Opens a store; <paramref name="location"/> is the SQLite path or the PostgreSQL connection string.</summary>
    public static async Task<StoreUnderTest> OpenAsync(string provider, string location, TimeProvider? time = null, bool initialize = true)
    {
        var hub = new ChatHub();
        time ??= TimeProvider.System;
        ChatStore store;
        PostgresChangeFeed? feed = null;
        if (provider == Postgres)
        {
            var options = Options.Create(new GatewayOptions { Database = new GatewayOptions.DatabaseSettings { Provider = Postgres, ConnectionString = location } });
            store = new PostgresChatStore(options, time);
            feed = new PostgresChangeFeed(store, hub, time, NullLogger<PostgresChangeFeed>.Instance);
        }
        else
        {
            store = new SqliteChatStore(Options.Create(new GatewayOptions { DatabasePath = location }), hub, time);
        }

        if (initialize)
        {
            await store.InitializeAsync(CancellationToken.None);
        }

        if (feed is not null && initialize)
        {
            await feed.StartAsync(CancellationToken.None);
            Assert.True(feed.IsListening, "The change feed did not LISTEN.");
        }

        return new StoreUnderTest(store, hub, feed, location);
    }

    public async ValueTask DisposeAsync()
    {
        if (_feed is not null)
        {
            // Stopping a feed that never started is a no-op.
            await _feed.StopAsync(CancellationToken.None);
            _feed.Dispose();
        }

        await Store.DisposeAsync();
        if (Store is SqliteChatStore && File.Exists(Location))
        {
            // Pooled connections keep the file open; the next test run should not find it.
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            foreach (var suffix in new[] { "", "-wal", "-shm" })
            {
                File.Delete(Location + suffix);
            }
        }
    }
}
