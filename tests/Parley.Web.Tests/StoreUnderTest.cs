using Microsoft.Extensions.Logging.Abstractions;
using Parley.Web.Chat;
using Parley.Web.Storage;

namespace Parley.Web.Tests;

/// <summary>
/// A store of either provider — its database, migrator, repositories, limits, outbox and change feed — with a hub listening
/// to the feed (as in the gateway), initialized.
/// </summary>
internal sealed class StoreUnderTest : IAsyncDisposable
{
    public const string Sqlite = "Sqlite";
    public const string Postgres = "PostgreSQL";

    private readonly PostgresChangeFeed? _postgresFeed;

    private StoreUnderTest(StoreDatabase database, IChangeFeed feed, MessageRepository messages, Outbox outbox, ChatHub hub, string location)
    {
        Database = database;
        Feed = feed;
        _postgresFeed = feed as PostgresChangeFeed;
        Migrator = new StoreMigrator(database);
        Visitors = new VisitorRepository(database);
        Sessions = new SessionRepository(database);
        Accounts = new AccountRepository(database);
        Limits = new LimitRepository(database);
        Messages = messages;
        Outbox = outbox;
        Hub = hub;
        Location = location;
    }

    public StoreDatabase Database { get; }

    public IChangeFeed Feed { get; }

    public StoreMigrator Migrator { get; }

    public VisitorRepository Visitors { get; }

    public SessionRepository Sessions { get; }

    public AccountRepository Accounts { get; }

    public MessageRepository Messages { get; }

    public LimitRepository Limits { get; }

    public Outbox Outbox { get; }

    public ChatHub Hub { get; }

    /// <summary>The SQLite file or the PostgreSQL connection string: open a second store on the same data with it.</summary>
    public string Location { get; }

    public static string NewSqlitePath()
    {
        // SQLite creates the file but not its folder, and on a fresh machine this may be the first test to use the folder.
        var folder = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "parley-web-tests")).FullName;
        return Path.Combine(folder, Guid.NewGuid().ToString("N") + ".db");
    }

    /// <summary>Opens a store; <paramref name="location"/> is the SQLite path or the PostgreSQL connection string.</summary>
    public static async Task<StoreUnderTest> OpenAsync(string provider, string location, TimeProvider? time = null, bool initialize = true)
    {
        var hub = new ChatHub();
        time ??= TimeProvider.System;
        StoreUnderTest db;
        if (provider == Postgres)
        {
            var database = new PostgresDatabase(location, time);
            var feed = new PostgresChangeFeed(database, time, NullLogger<PostgresChangeFeed>.Instance);
            var messages = new MessageRepository(database, feed);
            db = new StoreUnderTest(database, feed, messages, new PostgresOutbox(database, messages), hub, location);
        }
        else
        {
            var database = new SqliteDatabase(location, time);
            var feed = new SqliteChangeFeed();
            var messages = new MessageRepository(database, feed);
            db = new StoreUnderTest(database, feed, messages, new Outbox(messages), hub, location);
        }

        db.Feed.Subscribe(hub);
        if (initialize)
        {
            await db.Migrator.InitializeAsync(CancellationToken.None);
            if (db._postgresFeed is { } listening)
            {
                await listening.StartAsync(CancellationToken.None);
                Assert.True(listening.IsListening, "The change feed did not LISTEN.");
            }
        }

        return db;
    }

    public async ValueTask DisposeAsync()
    {
        if (_postgresFeed is not null)
        {
            // Stopping a feed that never started is a no-op.
            await _postgresFeed.StopAsync(CancellationToken.None);
            _postgresFeed.Dispose();
        }

        await Database.DisposeAsync();
        if (Database is SqliteDatabase && File.Exists(Location))
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
