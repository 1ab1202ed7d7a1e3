using System.Data.Common;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Npgsql;
using Parley.Testing;
using Parley.Web.Chat;
using Parley.Web.Storage;

namespace Parley.Web.Tests;

/// <summary>The store's contract, the same tests against SQLite and a private PostgreSQL 15 (a fresh database per test).</summary>
public sealed partial class StoreContractTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    public static TheoryData<string> Providers => [StoreUnderTest.Sqlite, StoreUnderTest.Postgres];

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task A_visitor_is_one_per_identity_and_keeps_the_newest_display_name(string provider)
    {
        await using var db = await OpenAsync(provider);
        var first = await db.Visitors.GetOrCreateAsync("guest", "s1", "Alice", default);
        var again = await db.Visitors.GetOrCreateAsync("guest", "s1", "Alice L.", default);
        var other = await db.Visitors.GetOrCreateAsync("https://idp.example", "s1", "Alice", default);
        Assert.Equal(first.Id, again.Id);
        Assert.Equal("Alice L.", again.DisplayName);
        Assert.NotEqual(first.Id, other.Id);
        Assert.Matches("^[a-z2-7]{26}$", first.Id);
        Assert.Equal(again, await db.Visitors.FindAsync(first.Id, default));
        Assert.Null(await db.Visitors.FindAsync("nobody", default));

        Assert.False(first.SubscriptionRequested);
        Assert.True(await db.Visitors.MarkSubscriptionRequestedAsync(first.Id, default));
        Assert.False(await db.Visitors.MarkSubscriptionRequestedAsync(first.Id, default));
        Assert.True((await db.Visitors.FindAsync(first.Id, default))!.SubscriptionRequested);
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task A_session_names_its_visitor_until_it_is_ended(string provider)
    {
        await using var db = await OpenAsync(provider);
        var alice = await db.Visitors.GetOrCreateAsync("https://id.example", "a", "Alice", default);
        var bob = await db.Visitors.GetOrCreateAsync("guest", "b", "Bob", default);
        var session = await db.Sessions.CreateAsync(alice.Id, default);
        var other = await db.Sessions.CreateAsync(bob.Id, default);
        Assert.Equal(alice, await db.Sessions.FindVisitorAsync(session, default));
        Assert.Equal(bob, await db.Sessions.FindVisitorAsync(other, default));
        Assert.Null(await db.Sessions.FindVisitorAsync("made-up", default));

        // The display name comes from the visitor's row, so a rename shows in the next request's claims.
        await db.Visitors.GetOrCreateAsync("https://id.example", "a", "Alice B.", default);
        Assert.Equal("Alice B.", (await db.Sessions.FindVisitorAsync(session, default))!.DisplayName);

        await db.Sessions.EndAsync(session, default);
        await db.Sessions.EndAsync(session, default);
        Assert.Null(await db.Sessions.FindVisitorAsync(session, default));
        Assert.Equal(bob, await db.Sessions.FindVisitorAsync(other, default));
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task A_message_is_stored_pending_and_each_change_gets_the_visitors_next_seq(string provider)
    {
        await using var db = await OpenAsync(provider);
        var alice = await db.Visitors.GetOrCreateAsync("guest", "a", "Alice", default);
        var bob = await db.Visitors.GetOrCreateAsync("guest", "b", "Bob", default);

        var hello = await db.Messages.AddVisitorMessageAsync(alice.Id, "hello", default);
        Assert.Equal(MessageState.Pending, hello.State);
        Assert.Equal(Direction.Visitor, hello.Direction);
        Assert.StartsWith("web-", hello.StanzaId, StringComparison.Ordinal);
        Assert.Equal(1, hello.Seq);
        Assert.Equal(1, (await db.Messages.AddVisitorMessageAsync(bob.Id, "bob's first", default)).Seq);

        var sent = await db.Messages.AdvanceAsync(hello.Id, MessageState.Sent, default);
        Assert.Equal((MessageState.Sent, 2L), (sent!.State, sent.Seq));
        var delivered = await db.Messages.MarkDeliveredAsync(alice.Id, hello.StanzaId, default);
        Assert.Equal((MessageState.Delivered, 3L), (delivered!.State, delivered.Seq));

        // Never backwards, and a no-op uses up no number.
        Assert.Null(await db.Messages.AdvanceAsync(hello.Id, MessageState.Sent, default));
        Assert.Null(await db.Messages.MarkDeliveredAsync(alice.Id, hello.StanzaId, default));
        Assert.Null(await db.Messages.MarkDeliveredAsync(bob.Id, hello.StanzaId, default));
        Assert.Null(await db.Messages.AdvanceAsync(999_999, MessageState.Sent, default));
        var reply = await db.Messages.AddOwnerMessageAsync(alice.Id, "hi", "owner-1", default);
        Assert.Equal((Direction.Owner, MessageState.Sent, 4L), (reply!.Direction, reply.State, reply.Seq));

        // Catch-up: the latest version of each changed message, in change order.
        var changes = await db.Messages.GetChangesAsync(alice.Id, 0, 100, default);
        Assert.Equal([(hello.Id, 3L, MessageState.Delivered), (reply.Id, 4L, MessageState.Sent)], changes.Select(m => (m.Id, m.Seq, m.State)));
        Assert.Equal([reply.Id], (await db.Messages.GetChangesAsync(alice.Id, 3, 100, default)).Select(m => m.Id));
        Assert.Single(await db.Messages.GetChangesAsync(alice.Id, 0, 1, default));
        Assert.Equal(delivered, await db.Messages.GetChangeAsync(alice.Id, 3, default));
        Assert.Null(await db.Messages.GetChangeAsync(alice.Id, 1, default));

        await Assert.ThrowsAsync<InvalidOperationException>(() => db.Messages.AddVisitorMessageAsync("nobody", "x", default));
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task An_owner_message_is_stored_once_per_stanza_id(string provider)
    {
        await using var db = await OpenAsync(provider);
        var alice = await db.Visitors.GetOrCreateAsync("guest", "a", "Alice", default);
        var bob = await db.Visitors.GetOrCreateAsync("guest", "b", "Bob", default);
        Assert.NotNull(await db.Messages.AddOwnerMessageAsync(alice.Id, "once", "dup-1", default));
        Assert.Null(await db.Messages.AddOwnerMessageAsync(alice.Id, "once again", "dup-1", default));

        // The id is unique per visitor, not across visitors.
        Assert.NotNull(await db.Messages.AddOwnerMessageAsync(bob.Id, "for bob", "dup-1", default));
        Assert.Equal(["once"], (await db.Messages.GetHistoryAsync(alice.Id, null, 10, default)).Select(m => m.Text));

        // The refused duplicate used up no seq.
        Assert.Equal(2, (await db.Messages.AddOwnerMessageAsync(alice.Id, "next", "dup-2", default))!.Seq);
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task History_pages_go_back_by_id_and_stay_in_order(string provider)
    {
        await using var db = await OpenAsync(provider);
        var alice = await db.Visitors.GetOrCreateAsync("guest", "a", "Alice", default);
        for (var i = 1; i <= 7; i++)
        {
            await db.Messages.AddVisitorMessageAsync(alice.Id, $"m{i}", default);
        }

        var newest = await db.Messages.GetHistoryAsync(alice.Id, null, 3, default);
        Assert.Equal(["m5", "m6", "m7"], newest.Select(m => m.Text));
        var older = await db.Messages.GetHistoryAsync(alice.Id, newest[0].Id, 3, default);
        Assert.Equal(["m2", "m3", "m4"], older.Select(m => m.Text));
        Assert.Equal(["m1"], (await db.Messages.GetHistoryAsync(alice.Id, older[0].Id, 3, default)).Select(m => m.Text));
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task The_outbox_hands_out_pending_messages_in_order_and_marks_them_sent(string provider)
    {
        await using var db = await OpenAsync(provider);
        var alice = await db.Visitors.GetOrCreateAsync("guest", "a", "Alice", default);
        var bob = await db.Visitors.GetOrCreateAsync("guest", "b", "Bob", default);
        var a1 = await db.Messages.AddVisitorMessageAsync(alice.Id, "a1", default);
        var b1 = await db.Messages.AddVisitorMessageAsync(bob.Id, "b1", default);
        var a2 = await db.Messages.AddVisitorMessageAsync(alice.Id, "a2", default);
        await db.Messages.AddOwnerMessageAsync(alice.Id, "owner messages are never in the outbox", "o1", default);
        Assert.Equal([a1.Id, b1.Id, a2.Id], (await db.Messages.GetPendingAsync(10, default)).Select(m => m.Id));

        {
            var claim = await db.Outbox.ClaimAsync(2, default);
            Assert.Equal([a1.Id, b1.Id], claim.Select(m => m.Id));
            Assert.True(await db.Visitors.MarkSubscriptionRequestedAsync(alice.Id, default));
            await db.Outbox.MarkSentAsync(claim[0], default);
            await db.Outbox.MarkSentAsync(claim[1], default);
        }

        Assert.True((await db.Visitors.FindAsync(alice.Id, default))!.SubscriptionRequested);
        {
            var abandoned = await db.Outbox.ClaimAsync(10, default);
            Assert.Equal([a2.Id], abandoned.Select(m => m.Id));
        }

        // Claimed but not marked: still pending. Then sent, and the outbox is empty.
        {
            var claim = await db.Outbox.ClaimAsync(10, default);
            Assert.Equal([a2.Id], claim.Select(m => m.Id));
            await db.Outbox.MarkSentAsync(claim[0], default);
        }

        Assert.Empty(await db.Messages.GetPendingAsync(10, default));
        Assert.All(await db.Messages.GetHistoryAsync(alice.Id, null, 10, default), m => Assert.Equal(MessageState.Sent, m.State));
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task Committed_changes_reach_the_visitors_subscribers_in_seq_order_and_nobody_elses(string provider)
    {
        await using var db = await OpenAsync(provider);
        var alice = await db.Visitors.GetOrCreateAsync("guest", "a", "Alice", default);
        var bob = await db.Visitors.GetOrCreateAsync("guest", "b", "Bob", default);
        using var tab = db.Hub.Subscribe(alice.Id, "session", 8)!;
        var m1 = await db.Messages.AddVisitorMessageAsync(alice.Id, "one", default);
        await db.Messages.AddVisitorMessageAsync(bob.Id, "not for alice", default);
        await db.Messages.AdvanceAsync(m1.Id, MessageState.Sent, default);
        await db.Messages.AddOwnerMessageAsync(alice.Id, "two", "o-1", default);
        await db.Messages.AddOwnerMessageAsync(alice.Id, "two", "o-1", default);

        // A change already superseded when it is read (PostgreSQL reads after the announcement) is represented by the later one.
        var received = new List<ChatMessage>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (received.Count == 0 || received[^1].Seq < 3)
        {
            var pushed = await NextPushAsync(tab, timeout.Token);
            received.Add(pushed.Message!);
        }

        Assert.Equal(received.Select(m => m.Seq).Order(), received.Select(m => m.Seq));
        Assert.Equal(received.Count, received.Select(m => m.Seq).Distinct().Count());
        Assert.Equal([("one", 2L, MessageState.Sent), ("two", 3L, MessageState.Sent)], received.TakeLast(2).Select(m => (m.Text, m.Seq, m.State)));
        Assert.All(received.SkipLast(2), m => Assert.Equal((1L, MessageState.Pending), (m.Seq, m.State)));
        if (provider == StoreUnderTest.Sqlite)
        {
            Assert.Equal(3, received.Count); // published in-process at commit: nothing is ever superseded
        }

        // Nothing else in between: the next push is a later change of Alice's, not a duplicate or Bob's change.
        await db.Messages.AddVisitorMessageAsync(alice.Id, "marker", default);
        var next = await NextPushAsync(tab, timeout.Token);
        Assert.Equal(("marker", 4L), (next.Message!.Text, next.Message.Seq));
    }

    private static async Task<PushEvent> NextPushAsync(ChatHub.Subscription tab, CancellationToken cancellationToken)
    {
        PushEvent? pushed;
        while (!tab.TryRead(out pushed))
        {
            await tab.WaitAsync().AsTask().WaitAsync(cancellationToken);
        }

        return pushed;
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task Two_stores_on_the_same_data_number_one_visitors_concurrent_changes_without_gaps(string provider)
    {
        await using var a = await OpenAsync(provider);
        await using var b = await StoreUnderTest.OpenAsync(provider, a.Location);
        var alice = await a.Visitors.GetOrCreateAsync("guest", "a", "Alice", default);
        Assert.Equal(alice.Id, (await b.Visitors.GetOrCreateAsync("guest", "a", "Alice", default)).Id);

        async Task WriteAsync(MessageRepository messages, string prefix)
        {
            for (var i = 0; i < 25; i++)
            {
                var message = await messages.AddVisitorMessageAsync(alice.Id, $"{prefix}{i}", default);
                await messages.AdvanceAsync(message.Id, MessageState.Sent, default);
            }
        }

        await Task.WhenAll(Task.Run(() => WriteAsync(a.Messages, "a")), Task.Run(() => WriteAsync(b.Messages, "b")));
        var changes = await a.Messages.GetChangesAsync(alice.Id, 0, 1000, default);
        Assert.Equal(50, changes.Count);
        Assert.All(changes, m => Assert.Equal(MessageState.Sent, m.State));

        // 100 changes (50 inserts, 50 advances) numbered 1..100 without gaps: each message's final seq is unique and the highest is 100.
        Assert.Equal(changes.Count, changes.Select(m => m.Seq).Distinct().Count());
        Assert.Equal(100, changes[^1].Seq);
        Assert.Equal(101, (await b.Messages.AddOwnerMessageAsync(alice.Id, "next", "o", default))!.Seq);
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task The_schema_is_created_once_and_a_second_start_finds_it_current(string provider)
    {
        await using var db = await OpenAsync(provider);
        var alice = await db.Visitors.GetOrCreateAsync("guest", "a", "Alice", default);
        await db.Messages.AddVisitorMessageAsync(alice.Id, "kept", default);
        await using var again = await StoreUnderTest.OpenAsync(provider, db.Location);
        Assert.Equal(["kept"], (await again.Messages.GetHistoryAsync(alice.Id, null, 10, default)).Select(m => m.Text));
        var versions = await QueryAsync(provider, db.Location, "SELECT version FROM schema_version ORDER BY version");
        Assert.Equal(Enumerable.Range(1, db.Migrator.SchemaVersion).Select(v => v.ToString(CultureInfo.InvariantCulture)), versions);
    }

    [Fact]
    public async Task A_SQLite_file_from_before_the_version_table_is_migrated_and_its_seqs_continue()
    {
        var path = StoreUnderTest.NewSqlitePath();
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await using (var old = new SqliteConnection($"Data Source={path}"))
        {
            await old.OpenAsync();
            await using var create = old.CreateCommand();

            // The first release's schema and data: one process-wide seq.
            create.CommandText = """
                CREATE TABLE visitors (id TEXT PRIMARY KEY, issuer TEXT NOT NULL, subject TEXT NOT NULL, display_name TEXT NOT NULL,
                    created_at INTEGER NOT NULL, subscription_requested INTEGER NOT NULL DEFAULT 0, UNIQUE (issuer, subject));
                CREATE TABLE sessions (id TEXT PRIMARY KEY, visitor_id TEXT NOT NULL REFERENCES visitors(id), created_at INTEGER NOT NULL, ended_at INTEGER);
                CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, visitor_id TEXT NOT NULL REFERENCES visitors(id),
                    direction TEXT NOT NULL CHECK (direction IN ('visitor', 'owner')), text TEXT NOT NULL, created_at INTEGER NOT NULL,
                    state TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'delivered')), stanza_id TEXT NOT NULL, seq INTEGER NOT NULL);
                CREATE UNIQUE INDEX messages_stanza ON messages (visitor_id, direction, stanza_id);
                INSERT INTO visitors VALUES ('alice', 'guest', 'a', 'Alice', 0, 1), ('bob', 'guest', 'b', 'Bob', 0, 0);
                INSERT INTO messages (visitor_id, direction, text, created_at, state, stanza_id, seq) VALUES
                    ('alice', 'visitor', 'old 1', 0, 'sent', 's1', 5),
                    ('bob', 'visitor', 'old 2', 0, 'pending', 's2', 6),
                    ('alice', 'owner', 'old 3', 0, 'sent', 's3', 7);
                """;
            await create.ExecuteNonQueryAsync();
        }

        SqliteConnection.ClearAllPools();
        await using var db = await StoreUnderTest.OpenAsync(StoreUnderTest.Sqlite, path);
        Assert.Equal(8, (await db.Messages.AddVisitorMessageAsync("alice", "new", default)).Seq);
        Assert.Equal(7, (await db.Messages.AddVisitorMessageAsync("bob", "new", default)).Seq);
        Assert.Equal(["old 2"], (await db.Messages.GetPendingAsync(1, default)).Select(m => m.Text));
        Assert.True((await db.Visitors.FindAsync("alice", default))!.SubscriptionRequested);
    }

    [Fact]
    public async Task PostgreSQL_two_gateways_starting_together_create_the_schema_once()
    {
        var connectionString = await postgres.CreateDatabaseAsync();
        var starts = Enumerable.Range(0, 3).Select(_ => Task.Run(() => StoreUnderTest.OpenAsync(StoreUnderTest.Postgres, connectionString))).ToArray();
        var stores = await Task.WhenAll(starts);
        var latest = stores[0].Migrator.SchemaVersion;
        foreach (var store in stores)
        {
            await store.DisposeAsync();
        }

        Assert.Equal(
            Enumerable.Range(1, latest).Select(v => v.ToString(CultureInfo.InvariantCulture)),
            await QueryAsync(StoreUnderTest.Postgres, connectionString, "SELECT version FROM schema_version ORDER BY version"));
    }

    [Fact]
    public async Task PostgreSQL_two_senders_never_claim_the_same_message_nor_overtake_a_visitors_older_message()
    {
        await using var a = await OpenAsync(StoreUnderTest.Postgres);
        await using var b = await StoreUnderTest.OpenAsync(StoreUnderTest.Postgres, a.Location);
        var alice = await a.Visitors.GetOrCreateAsync("guest", "a", "Alice", default);
        var bob = await a.Visitors.GetOrCreateAsync("guest", "b", "Bob", default);
        var a1 = await a.Messages.AddVisitorMessageAsync(alice.Id, "a1", default);
        var b1 = await a.Messages.AddVisitorMessageAsync(bob.Id, "b1", default);
        var a2 = await a.Messages.AddVisitorMessageAsync(alice.Id, "a2", default);
        var b2 = await a.Messages.AddVisitorMessageAsync(bob.Id, "b2", default);

        {
            var first = await a.Outbox.ClaimAsync(1, default);
            Assert.Equal([a1.Id], first.Select(m => m.Id));

            // The claim is committed before anything is sent: no row stays locked while A writes to its link.
            await using (var probe = new NpgsqlConnection(a.Location))
            {
                await probe.OpenAsync();
                await using var transaction = await probe.BeginTransactionAsync();
                await using var locking = new NpgsqlCommand("SELECT id FROM messages WHERE id = @id FOR UPDATE NOWAIT", probe, transaction);
                locking.Parameters.AddWithValue("id", a1.Id);
                Assert.Equal(a1.Id, await locking.ExecuteScalarAsync());
            }

            // A holds alice's sender lease while a1 is on its way: the second sender skips her, so a2 cannot overtake
            // a1; bob's messages are free.
            {
                var second = await b.Outbox.ClaimAsync(10, default);
                Assert.Equal([b1.Id, b2.Id], second.Select(m => m.Id));
                foreach (var message in second)
                {
                    await b.Outbox.MarkSentAsync(message, default);
                }
            }

            await a.Outbox.MarkSentAsync(first[0], default);
        }

        // A sent alice's last message, so alice's next ones stay with A while they flow (its link keeps them in order):
        // B gets nothing of hers, A gets a2.
        {
            var notB = await b.Outbox.ClaimAsync(10, default);
            Assert.Empty(notB);
        }

        {
            var rest = await a.Outbox.ClaimAsync(10, default);
            Assert.Equal([a2.Id], rest.Select(m => m.Id));
            await a.Outbox.MarkSentAsync(rest[0], default);
        }

        // And bob's stay with B. Once a lease has run out (A stopped sending, or stopped), B takes alice over.
        var a3 = await b.Messages.AddVisitorMessageAsync(alice.Id, "a3", default);
        var b3 = await b.Messages.AddVisitorMessageAsync(bob.Id, "b3", default);
        {
            var onlyAlice = await a.Outbox.ClaimAsync(10, default);
            Assert.Equal([a3.Id], onlyAlice.Select(m => m.Id));
        }

        await using (var expire = new NpgsqlConnection(a.Location))
        {
            await expire.OpenAsync();
            await using var command = new NpgsqlCommand("UPDATE visitor_senders SET until_ms = 0 WHERE visitor_id = @v", expire);
            command.Parameters.AddWithValue("v", alice.Id);
            Assert.Equal(1, await command.ExecuteNonQueryAsync());
        }

        var taken = await b.Outbox.ClaimAsync(10, default);
        Assert.Equal([a3.Id, b3.Id], taken.Select(m => m.Id));
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task An_unreachable_database_is_a_clear_ChatStoreException(string provider)
    {
        // SQLite: the "file" is a folder. PostgreSQL: nothing listens on the port.
        var location = provider == StoreUnderTest.Sqlite
            ? Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "parley-web-tests", Guid.NewGuid().ToString("N"))).FullName
            : $"Host=127.0.0.1;Port={UnusedPort()};Username=parley;Database=none;Timeout=2";
        try
        {
            await using var db = await StoreUnderTest.OpenAsync(provider, location, initialize: false);
            var error = await Assert.ThrowsAsync<ChatStoreException>(() => db.Migrator.InitializeAsync(default));
            Assert.Equal(StoreFailure.Unavailable, error.Failure);
            Assert.StartsWith($"The {provider} database is unavailable", error.Message, StringComparison.OrdinalIgnoreCase);
            await Assert.ThrowsAsync<ChatStoreException>(() => db.Visitors.FindAsync("x", default));
        }
        finally
        {
            if (Directory.Exists(location))
            {
                Directory.Delete(location);
            }
        }
    }

    [Fact]
    public async Task PostgreSQL_going_down_fails_writes_clearly_and_loses_nothing_that_was_stored()
    {
        await using var server = await PostgresServer.StartNewAsync();
        var connectionString = await server.CreateDatabaseAsync();
        await using var db = await StoreUnderTest.OpenAsync(StoreUnderTest.Postgres, connectionString);
        var alice = await db.Visitors.GetOrCreateAsync("guest", "a", "Alice", default);
        var accepted = await db.Messages.AddVisitorMessageAsync(alice.Id, "accepted before the outage", default);

        await server.StopAsync();
        var error = await Assert.ThrowsAsync<ChatStoreException>(() => db.Messages.AddVisitorMessageAsync(alice.Id, "during the outage", default));
        Assert.Equal(StoreFailure.Unavailable, error.Failure);
        Assert.Contains("PostgreSQL database is unavailable", error.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ChatStoreException>(() => db.Outbox.ClaimAsync(10, default));

        await server.StartAsync();
        NpgsqlConnection.ClearAllPools();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        List<ChatMessage> pending;
        while (true)
        {
            try
            {
                pending = await db.Messages.GetPendingAsync(10, default);
                break;
            }
            catch (ChatStoreException) when (DateTime.UtcNow < deadline)
            {
                // Pooled connections from before the restart are discarded one by one.
                await Task.Delay(100);
            }
        }

        Assert.Equal([accepted.Id], pending.Select(m => m.Id));
        Assert.Equal(["accepted before the outage"], (await db.Messages.GetHistoryAsync(alice.Id, null, 10, default)).Select(m => m.Text));
    }

    [Fact]
    public void Full_and_unavailable_are_told_apart_for_both_providers()
    {
        var sqlite = new SqliteDatabase("unused.db", TimeProvider.System);
        Assert.Equal(StoreFailure.Full, sqlite.Classify(new SqliteException("database or disk is full", 13)));
        Assert.Equal(StoreFailure.Unavailable, sqlite.Classify(new SqliteException("database is locked", 5)));
        Assert.Equal(StoreFailure.Unavailable, sqlite.Classify(new SqliteException("disk I/O error", 10 | (3 << 8))));
        Assert.Null(sqlite.Classify(new SqliteException("constraint failed", 19)));

        var pg = new PostgresDatabase("Host=127.0.0.1", TimeProvider.System);
        Assert.Equal(StoreFailure.Full, pg.Classify(new PostgresException("could not extend file", "ERROR", "ERROR", PostgresErrorCodes.DiskFull)));
        Assert.Equal(StoreFailure.Unavailable, pg.Classify(new PostgresException("too many clients", "FATAL", "FATAL", PostgresErrorCodes.TooManyConnections)));
        Assert.Equal(StoreFailure.Unavailable, pg.Classify(new PostgresException("shutting down", "FATAL", "FATAL", PostgresErrorCodes.AdminShutdown)));
        Assert.Equal(StoreFailure.Unavailable, pg.Classify(new NpgsqlException("Failed to connect")));
        Assert.Null(pg.Classify(new PostgresException("duplicate key", "ERROR", "ERROR", PostgresErrorCodes.UniqueViolation)));
        var full = new ChatStoreException(StoreFailure.Full, "PostgreSQL", new PostgresException("could not extend file", "ERROR", "ERROR", PostgresErrorCodes.DiskFull));
        Assert.StartsWith("The PostgreSQL database is full", full.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task A_store_from_before_the_automatic_column_keeps_its_automatic_replies_and_owners_ids(string provider)
    {
        // The schema and rows as the gateway before the column wrote them: the schema up to the version before, and an
        // automatic reply told apart only by its stanza id's prefix.
        var location = provider == StoreUnderTest.Postgres ? await postgres.CreateDatabaseAsync() : StoreUnderTest.NewSqlitePath();
        await using (StoreDatabase current = provider == StoreUnderTest.Postgres ? new PostgresDatabase(location, TimeProvider.System) : new SqliteDatabase(location, TimeProvider.System))
        {
            await new StoreMigrator(new EarlierSchema(current, current.Migrations.ToList().IndexOf(SharedMigrations.AutomaticColumn))).InitializeAsync(default);
        }

        await ExecuteAsync(provider, location, """
            INSERT INTO visitors (id, issuer, subject, display_name, created_at, subscription_requested, last_seq) VALUES ('alice', 'guest', 'a', 'Alice', 0, 1, 3);
            INSERT INTO messages (visitor_id, direction, text, created_at, state, stanza_id, seq) VALUES
                ('alice', 'visitor', 'hello', 0, 'sent', 'web-1', 1),
                ('alice', 'owner', 'The owner is away.', 1, 'sent', 'parley-auto-0a1b2c', 2),
                ('alice', 'owner', 'typed by the owner', 2, 'sent', 'client-7', 3);
            """);

        await using var db = await StoreUnderTest.OpenAsync(provider, location);
        var history = await db.Messages.GetHistoryAsync("alice", null, 10, default);
        Assert.Equal([("hello", false), ("The owner is away.", true), ("typed by the owner", false)], history.Select(m => (m.Text, m.Automatic)));
        var again = await db.Messages.AddAutomaticReplyAsync("alice", "The owner is away.", default);
        Assert.Equal((true, Direction.Owner, 4L), (again!.Automatic, again.Direction, again.Seq));

        // From now on an id is only an id: the owner's message keeps the id it came with and is the owner's own.
        var owners = await db.Messages.AddOwnerMessageAsync("alice", "mine", "parley-auto-from-a-client", default);
        Assert.False(owners!.Automatic);
        Assert.Equal(Enumerable.Range(1, db.Migrator.SchemaVersion).Select(v => v.ToString(CultureInfo.InvariantCulture)),
            await QueryAsync(provider, location, "SELECT version FROM schema_version ORDER BY version"));
        if (provider == StoreUnderTest.Sqlite)
        {
            SqliteConnection.ClearAllPools();
        }
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task A_store_from_before_the_owners_controls_keeps_its_messages_and_takes_the_undelivered_state(string provider)
    {
        var location = provider == StoreUnderTest.Postgres ? await postgres.CreateDatabaseAsync() : StoreUnderTest.NewSqlitePath();
        await using (StoreDatabase current = provider == StoreUnderTest.Postgres ? new PostgresDatabase(location, TimeProvider.System) : new SqliteDatabase(location, TimeProvider.System))
        {
            await new StoreMigrator(new EarlierSchema(current, current.Migrations.ToList().IndexOf(SharedMigrations.OwnerControls))).InitializeAsync(default);
        }

        await ExecuteAsync(provider, location, """
            INSERT INTO visitors (id, issuer, subject, display_name, created_at, subscription_requested, last_seq) VALUES ('alice', 'guest', 'a', 'Alice', 0, 1, 2);
            INSERT INTO messages (visitor_id, direction, text, created_at, state, stanza_id, seq, attachment_url, attachment_name) VALUES
                ('alice', 'visitor', 'hello', 0, 'delivered', 'web-1', 1, NULL, NULL),
                ('alice', 'visitor', 'https://files.example/a.pdf', 1, 'pending', 'web-2', 2, 'https://files.example/a.pdf', 'a.pdf');
            """);

        await using var db = await StoreUnderTest.OpenAsync(provider, location);
        var history = await db.Messages.GetHistoryAsync("alice", null, 10, default);
        Assert.Equal([("hello", MessageState.Delivered, (string?)null), ("https://files.example/a.pdf", MessageState.Pending, "a.pdf")], history.Select(m => (m.Text, m.State, m.Attachment?.Name)));

        // A bounce marks a message not delivered; nothing moves it on afterwards, and a delivered one stays delivered.
        Assert.Equal(MessageState.Undelivered, (await db.Messages.MarkUndeliveredAsync("alice", "web-2", default))!.State);
        Assert.Null(await db.Messages.MarkDeliveredAsync("alice", "web-2", default));
        Assert.Null(await db.Messages.AdvanceAsync(history[1].Id, MessageState.Sent, default));
        Assert.Null(await db.Messages.MarkUndeliveredAsync("alice", "web-1", default));
        Assert.Empty(await db.Outbox.ClaimAsync(10, default));
        var next = await db.Messages.AddVisitorMessageAsync("alice", "again", default);
        Assert.True(next.Id > history[1].Id);
        if (provider == StoreUnderTest.Sqlite)
        {
            SqliteConnection.ClearAllPools();
        }
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task The_owners_controls_block_end_and_remember_the_away_message(string provider)
    {
        await using var db = await OpenAsync(provider);
        var controls = new OwnerControlRepository(db.Database);
        var alice = await db.Visitors.GetOrCreateAsync("https://idp.example", "a", "Alice", default);
        var bob = await db.Visitors.GetOrCreateAsync("guest", "b", "Bob", default);
        Assert.Equal(new VisitorStanding(false, 0), await controls.GetStandingAsync(alice.Id, default));
        Assert.Null(await controls.GetStandingAsync("nobody", default));

        await controls.RecordVisitAsync(alice.Id, "192.0.2.1", "https://shop.example/help", "alice@example.org", default);
        await controls.RecordVisitAsync(alice.Id, "192.0.2.2", null, null, default);
        await db.Messages.AddVisitorMessageAsync(alice.Id, "one", default);
        await db.Messages.AddOwnerMessageAsync(alice.Id, "answer", "o-1", default);
        await db.Messages.AddVisitorMessageAsync(alice.Id, "two", default);
        await db.Messages.AddAutomaticReplyAsync(alice.Id, "away", default);
        await db.Messages.AddVisitorMessageAsync(alice.Id, "three", default);
        var active = Assert.Single(await controls.ListActiveAsync(DateTimeOffset.UtcNow.AddMinutes(-5), [], 10, default));
        Assert.Equal((alice.Id, "Alice", "alice@example.org", "https://shop.example/help", 2, false, "192.0.2.2"), (active.Id, active.DisplayName, active.Email, active.Page, active.Unanswered, active.Blocked, active.Address));
        Assert.Equal([alice.Id, bob.Id], (await controls.ListActiveAsync(DateTimeOffset.UtcNow.AddMinutes(-5), [bob.Id, "nobody"], 10, default)).Select(v => v.Id));

        // A block stays with the identity: the same issuer + subject is the same visitor.
        Assert.True(await controls.SetBlockedAsync(alice.Id, true, default));
        Assert.False(await controls.SetBlockedAsync("nobody", true, default));
        var again = await db.Visitors.GetOrCreateAsync("https://idp.example", "a", "Alice", default);
        Assert.True((await controls.GetStandingAsync(again.Id, default))!.Blocked);
        Assert.Equal([alice.Id], (await controls.ListBlockedAsync(10, default)).Select(v => v.Id));
        Assert.True(await controls.SetBlockedAsync(alice.Id, false, default));
        Assert.Empty(await controls.ListBlockedAsync(10, default));

        // Address blocks end by themselves.
        await controls.BlockAddressAsync("192.0.2.9", bob.Id, DateTimeOffset.UtcNow.AddHours(1), default);
        await controls.BlockAddressAsync("192.0.2.8", bob.Id, DateTimeOffset.UtcNow.AddSeconds(-1), default);
        Assert.True(await controls.IsAddressBlockedAsync("192.0.2.9", default));
        Assert.False(await controls.IsAddressBlockedAsync("192.0.2.8", default));
        Assert.Equal(["192.0.2.9"], (await controls.ListAddressBlocksAsync(10, default)).Select(b => b.Address));
        Assert.True(await controls.UnblockAddressAsync("192.0.2.9", default));
        Assert.False(await controls.IsAddressBlockedAsync("192.0.2.9", default));

        // Ending: the current conversation starts after the last message stored so far.
        var last = (await db.Messages.GetHistoryAsync(alice.Id, null, 1, default))[0];
        Assert.Equal(last.Id, await controls.EndConversationAsync(alice.Id, default));
        Assert.Null(await controls.EndConversationAsync("nobody", default));
        Assert.Equal(0, (await controls.FindSummaryAsync(alice.Id, default))!.Unanswered);
        Assert.Empty(await db.Messages.GetHistoryAsync(alice.Id, null, 10, last.Id, default));
        var fresh = await db.Messages.AddVisitorMessageAsync(alice.Id, "new", default);
        Assert.Equal([fresh.Id], (await db.Messages.GetChangesAsync(alice.Id, 0, 100, last.Id, default)).Select(m => m.Id));
        Assert.Equal(1, (await controls.FindSummaryAsync(alice.Id, default))!.Unanswered);

        Assert.Null(await controls.GetSettingAsync(OwnerControlRepository.AwayMessageSetting, default));
        await controls.SetSettingAsync(OwnerControlRepository.AwayMessageSetting, "Back at nine.", default);
        await controls.SetSettingAsync(OwnerControlRepository.AwayMessageSetting, "Back at ten.", default);
        Assert.Equal("Back at ten.", await controls.GetSettingAsync(OwnerControlRepository.AwayMessageSetting, default));
        await controls.SetSettingAsync(OwnerControlRepository.AwayMessageSetting, null, default);
        Assert.Null(await controls.GetSettingAsync(OwnerControlRepository.AwayMessageSetting, default));
    }

    private async Task<StoreUnderTest> OpenAsync(string provider, TimeProvider? time = null) => await StoreUnderTest.OpenAsync(
        provider, provider == StoreUnderTest.Postgres ? await postgres.CreateDatabaseAsync() : StoreUnderTest.NewSqlitePath(), time);

    private static async Task<List<string>> QueryAsync(string provider, string location, string sql)
    {
        await using DbConnection connection = provider == StoreUnderTest.Postgres ? new NpgsqlConnection(location) : new SqliteConnection($"Data Source={location}");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await reader.ReadAsync())
        {
            rows.Add(Convert.ToString(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture)!);
        }

        return rows;
    }

    private static async Task ExecuteAsync(string provider, string location, string sql)
    {
        await using DbConnection connection = provider == StoreUnderTest.Postgres ? new NpgsqlConnection(location) : new SqliteConnection($"Data Source={location}");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    private static int UnusedPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>A database as an earlier gateway set it up: only the first <paramref name="version"/> migrations.</summary>
    private sealed class EarlierSchema(StoreDatabase database, int version) : StoreDatabase(TimeProvider.System)
    {
        public override string ProviderName => database.ProviderName;

        public override IReadOnlyList<string> Migrations => [.. database.Migrations.Take(version)];

        public override string? PrepareSql => database.PrepareSql;

        public override string? SchemaLockSql => database.SchemaLockSql;

        public override ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken) => database.OpenConnectionAsync(cancellationToken);

        public override StoreFailure? Classify(Exception error) => database.Classify(error);

        public override ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
