using System.Data.Common;
using System.Net.Sockets;
using Npgsql;

namespace Parley.Web.Storage;

/// <summary>
/// The store in PostgreSQL, for one gateway or several sharing the database: <see cref="PostgresChangeFeed"/> tells
/// every gateway of every change, and <see cref="PostgresOutbox"/> shares the outbox between them.
/// </summary>
internal sealed class PostgresDatabase : StoreDatabase
{
    // Any constant: the key of the advisory lock that serializes schema set-up between gateways.
    private const long SchemaLockKey = 0x7061726C6579;

    private static readonly string[] s_migrations =
    [
        """
        CREATE TABLE visitors (
            id TEXT PRIMARY KEY,
            issuer TEXT NOT NULL,
            subject TEXT NOT NULL,
            display_name TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            subscription_requested INTEGER NOT NULL DEFAULT 0,
            last_seq BIGINT NOT NULL DEFAULT 0,
            UNIQUE (issuer, subject));
        CREATE TABLE sessions (
            id TEXT PRIMARY KEY,
            visitor_id TEXT NOT NULL REFERENCES visitors(id),
            created_at BIGINT NOT NULL,
            ended_at BIGINT);
        CREATE TABLE messages (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            visitor_id TEXT NOT NULL REFERENCES visitors(id),
            direction TEXT NOT NULL CHECK (direction IN ('visitor', 'owner')),
            text TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'delivered')),
            stanza_id TEXT NOT NULL,
            seq BIGINT NOT NULL);
        CREATE UNIQUE INDEX messages_stanza ON messages (visitor_id, direction, stanza_id);
        CREATE INDEX messages_seq ON messages (visitor_id, seq);
        CREATE INDEX messages_pending ON messages (id) WHERE state = 'pending';
        CREATE TABLE data_protection_keys (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            friendly_name TEXT,
            xml TEXT NOT NULL);
        """,

        // Files on messages.
        SharedMigrations.AttachmentColumns,

        // Account mode: each visitor's account on the owner's server.
        SharedMigrations.VisitorAccounts,

        // Scale-out: which gateway sends a visitor's messages for now (see PostgresOutbox).
        """
        CREATE TABLE visitor_senders (
            visitor_id TEXT PRIMARY KEY REFERENCES visitors(id),
            gateway TEXT NOT NULL,
            until_ms BIGINT NOT NULL);
        """,

        // The automatic reply's mark (it was a stanza-id prefix).
        SharedMigrations.AutomaticColumn,

        // Used widget tokens and rate-limit counters, shared by the gateways on one database.
        SharedMigrations.RequestLimits,

        // The owner's controls (blocks, ended conversations, the away message).
        SharedMigrations.OwnerControls,

        // The state "undelivered" (the owner's server bounced the message).
        """
        ALTER TABLE messages DROP CONSTRAINT messages_state_check;
        ALTER TABLE messages ADD CONSTRAINT messages_state_check CHECK (state IN ('pending', 'sent', 'delivered', 'undelivered'));
        """,

        // The state "seen" (XEP-0333 markers).
        """
        ALTER TABLE messages DROP CONSTRAINT messages_state_check;
        ALTER TABLE messages ADD CONSTRAINT messages_state_check CHECK (state IN ('pending', 'sent', 'delivered', 'undelivered', 'seen'));
        """,

        // The page's client id of a visitor's message, and whether an owner's message asked for chat markers.
        SharedMigrations.ClientIdAndMarkable,

        // Whether a visitor's message went again after the owner's client acknowledged a later one.
        SharedMigrations.ResentColumn,
    ];

    private int _disposed;

    public PostgresDatabase(string connectionString, TimeProvider time)
        : base(time)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        builder.ConnectionStringBuilder.ApplicationName ??= "parley-web";
        DataSource = builder.Build();
    }

    /// <summary>The connection pool (also used by the change feed and the data-protection key ring).</summary>
    public NpgsqlDataSource DataSource { get; }

    /// <summary>This gateway process, as the holder of visitors' sender leases (<see cref="PostgresOutbox"/>).</summary>
    public string SenderId { get; } = Guid.NewGuid().ToString("N");

    /// <inheritdoc/>
    public override string ProviderName => "PostgreSQL";

    /// <inheritdoc/>
    public override IReadOnlyList<string> Migrations => s_migrations;

    /// <inheritdoc/>
    public override string SchemaLockSql => $"SELECT pg_advisory_xact_lock({SchemaLockKey})";

    /// <inheritdoc/>
    public override async ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken)
        => await DataSource.OpenConnectionAsync(cancellationToken);

    /// <inheritdoc/>
    public override StoreFailure? Classify(Exception error) => error switch
    {
        PostgresException { SqlState: var state } => state switch
        {
            PostgresErrorCodes.DiskFull => StoreFailure.Full,
            ['0', '8', ..] => StoreFailure.Unavailable, // connection exceptions
            ['5', '3', ..] => StoreFailure.Unavailable, // insufficient resources: memory, connections
            ['5', '7', 'P', ..] => StoreFailure.Unavailable, // shutting down, starting up
            PostgresErrorCodes.ReadOnlySqlTransaction or PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure => StoreFailure.Unavailable,
            _ => null,
        },
        NpgsqlException or SocketException or TimeoutException => StoreFailure.Unavailable,
        _ => null,
    };

    /// <inheritdoc/>
    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await ReleaseSenderLeasesAsync();
            await DataSource.DisposeAsync();
        }
    }

    /// <summary>A gateway that stops hands its visitors over at once instead of when their leases run out.</summary>
    private async Task ReleaseSenderLeasesAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await using var connection = await DataSource.OpenConnectionAsync(timeout.Token);
            await using var release = Command(connection, null, "DELETE FROM visitor_senders WHERE gateway = @me", ("@me", SenderId));
            await release.ExecuteNonQueryAsync(timeout.Token);
        }
        catch (Exception ex) when (Classify(ex) is not null || ex is OperationCanceledException || (ex is PostgresException { SqlState: PostgresErrorCodes.UndefinedTable }))
        {
            // The database is gone or was never set up; the leases run out by themselves.
        }
    }
}
