using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Parley.Web.Storage;

/// <summary>
/// The store in one SQLite file (the default): one gateway process. Message writes run one at a time, so
/// <see cref="SqliteChangeFeed"/> publishes changes in commit order.
/// </summary>
internal sealed class SqliteDatabase : StoreDatabase
{
    // SQLite result codes (primary code = extended code & 0xFF).
    private const int SqliteBusy = 5;
    private const int SqliteLocked = 6;
    private const int SqliteReadOnly = 8;
    private const int SqliteIoError = 10;
    private const int SqliteFull = 13;
    private const int SqliteCantOpen = 14;

    private static readonly string[] s_migrations =
    [
        // 1: the first schema (databases from before the version table have it already: every statement is IF NOT EXISTS).
        """
        CREATE TABLE IF NOT EXISTS visitors (
            id TEXT PRIMARY KEY,
            issuer TEXT NOT NULL,
            subject TEXT NOT NULL,
            display_name TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            subscription_requested INTEGER NOT NULL DEFAULT 0,
            UNIQUE (issuer, subject));
        CREATE TABLE IF NOT EXISTS sessions (
            id TEXT PRIMARY KEY,
            visitor_id TEXT NOT NULL REFERENCES visitors(id),
            created_at INTEGER NOT NULL,
            ended_at INTEGER);
        CREATE TABLE IF NOT EXISTS messages (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            visitor_id TEXT NOT NULL REFERENCES visitors(id),
            direction TEXT NOT NULL CHECK (direction IN ('visitor', 'owner')),
            text TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'delivered')),
            stanza_id TEXT NOT NULL,
            seq INTEGER NOT NULL);
        CREATE UNIQUE INDEX IF NOT EXISTS messages_stanza ON messages (visitor_id, direction, stanza_id);
        CREATE INDEX IF NOT EXISTS messages_seq ON messages (visitor_id, seq);
        CREATE INDEX IF NOT EXISTS messages_pending ON messages (id) WHERE state = 'pending';
        """,

        // 2: change numbers per visitor (they were one process-wide counter); continue from each visitor's highest.
        """
        ALTER TABLE visitors ADD COLUMN last_seq INTEGER NOT NULL DEFAULT 0;
        UPDATE visitors SET last_seq = COALESCE((SELECT MAX(seq) FROM messages WHERE messages.visitor_id = visitors.id), 0);
        """,

        // Files on messages.
        SharedMigrations.AttachmentColumns,

        // Account mode: each visitor's account on the owner's server.
        SharedMigrations.VisitorAccounts,

        // The automatic reply's mark (it was a stanza-id prefix).
        SharedMigrations.AutomaticColumn,

        // Used widget tokens and rate-limit counters (kept across restarts).
        SharedMigrations.RequestLimits,

        // The owner's controls (blocks, ended conversations, the away message).
        SharedMigrations.OwnerControls,

        // The state "undelivered" (the owner's server bounced the message).
        CopyMessagesWithStates("'pending', 'sent', 'delivered', 'undelivered'"),

        // The state "seen" (XEP-0333 markers).
        CopyMessagesWithStates("'pending', 'sent', 'delivered', 'undelivered', 'seen'"),

        // The page's client id of a visitor's message, and whether an owner's message asked for chat markers.
        SharedMigrations.ClientIdAndMarkable,

        // Whether a visitor's message went again after the owner's client acknowledged a later one.
        SharedMigrations.ResentColumn,
    ];

    // SQLite cannot change a CHECK constraint in place: the messages are copied into a table with the new list of states.
    // Nothing references messages, so the old table can be dropped. A written migration never changes: a new state
    // is a new call.
    private static string CopyMessagesWithStates(string states) => $"""
        CREATE TABLE messages_next (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            visitor_id TEXT NOT NULL REFERENCES visitors(id),
            direction TEXT NOT NULL CHECK (direction IN ('visitor', 'owner')),
            text TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            state TEXT NOT NULL CHECK (state IN ({states})),
            stanza_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            attachment_url TEXT,
            attachment_name TEXT,
            attachment_size BIGINT,
            attachment_type TEXT,
            automatic INTEGER NOT NULL DEFAULT 0);
        INSERT INTO messages_next (id, visitor_id, direction, text, created_at, state, stanza_id, seq, attachment_url, attachment_name, attachment_size, attachment_type, automatic)
            SELECT id, visitor_id, direction, text, created_at, state, stanza_id, seq, attachment_url, attachment_name, attachment_size, attachment_type, automatic FROM messages;
        DROP TABLE messages;
        ALTER TABLE messages_next RENAME TO messages;
        CREATE UNIQUE INDEX messages_stanza ON messages (visitor_id, direction, stanza_id);
        CREATE INDEX messages_seq ON messages (visitor_id, seq);
        CREATE INDEX messages_pending ON messages (id) WHERE state = 'pending';
        """;

    private readonly string _connectionString;
    private readonly SemaphoreSlim _writeGate = new(1, 1);

    public SqliteDatabase(string path, TimeProvider time)
        : base(time)
    {
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path.GetFullPath(path),
            Mode = SqliteOpenMode.ReadWriteCreate,
            ForeignKeys = true,
            DefaultTimeout = 30,
        }.ToString();
    }

    /// <inheritdoc/>
    public override string ProviderName => "SQLite";

    /// <inheritdoc/>
    public override IReadOnlyList<string> Migrations => s_migrations;

    /// <summary>WAL cannot be switched on inside a transaction; it sticks to the file.</summary>
    public override string PrepareSql => "PRAGMA journal_mode = WAL";

    // No SchemaLockSql: BeginTransaction is BEGIN IMMEDIATE, so the schema transaction holds the write lock already.

    /// <inheritdoc/>
    public override StoreFailure? Classify(Exception error) => error switch
    {
        SqliteException { SqliteErrorCode: var code } => (code & 0xFF) switch
        {
            SqliteFull => StoreFailure.Full,
            SqliteBusy or SqliteLocked or SqliteReadOnly or SqliteIoError or SqliteCantOpen => StoreFailure.Unavailable,
            _ => null,
        },
        IOException or UnauthorizedAccessException => StoreFailure.Unavailable,
        _ => null,
    };

    /// <inheritdoc/>
    public override async ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <inheritdoc/>
    public override async Task<T> RunWriteAsync<T>(Func<Task<T>> write, CancellationToken cancellationToken)
    {
        await _writeGate.WaitAsync(cancellationToken);
        try
        {
            return await write();
        }
        finally
        {
            _writeGate.Release();
        }
    }

    /// <inheritdoc/>
    public override ValueTask DisposeAsync()
    {
        _writeGate.Dispose();
        return ValueTask.CompletedTask;
    }
}
