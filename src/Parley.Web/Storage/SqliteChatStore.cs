using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using Parley.Web.Chat;

namespace Parley.Web.Storage;

/// <summary>
/// The store in one SQLite file (the default): one gateway process. Message writes are serialized in-process and each
/// committed change goes straight to this process's <see cref="ChatHub"/>, in commit order.
/// </summary>
internal sealed class SqliteChatStore : ChatStore
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
        AttachmentColumnsSchema,
        // Account mode: each visitor's account on the owner's server.
        VisitorAccountsSchema,
    ];

    private readonly string _connectionString;
    private readonly ChatHub _hub;
    private readonly SemaphoreSlim _writeGate = new(1, 1);

    public SqliteChatStore(IOptions<GatewayOptions> options, ChatHub hub, TimeProvider time)
        : base(time)
    {
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path.GetFullPath(options.Value.DatabasePath),
            Mode = SqliteOpenMode.ReadWriteCreate,
            ForeignKeys = true,
            DefaultTimeout = 30,
        }.ToString();
        _hub = hub;
    }

    /// <inheritdoc/>
    public override string ProviderName => "SQLite";

    /// <inheritdoc/>
    protected override IReadOnlyList<string> Migrations => s_migrations;

    /// <inheritdoc/>
    public override async Task<OutboxClaim> ClaimOutboxAsync(int limit, CancellationToken cancellationToken)
        => new Claim(this, await GetPendingAsync(limit, cancellationToken));

    /// <inheritdoc/>
    public override ValueTask DisposeAsync()
    {
        _writeGate.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc/>
    protected internal override StoreFailure? Classify(Exception error) => error switch
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
    protected override async ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken)
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
    protected override async Task PrepareAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        // WAL cannot be switched on inside a transaction; it sticks to the file.
        await using var wal = Command(connection, null, "PRAGMA journal_mode = WAL");
        await wal.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <inheritdoc/>
    protected override Task LockSchemaAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
        => Task.CompletedTask; // BeginTransaction is BEGIN IMMEDIATE: the write lock is already held.

    /// <inheritdoc/>
    protected override async Task<ChatMessage?> WriteAsync(Func<DbConnection, DbTransaction, Task<ChatMessage?>> write, CancellationToken cancellationToken)
    {
        await _writeGate.WaitAsync(cancellationToken);
        try
        {
            return await RunWriteAsync(write, cancellationToken);
        }
        finally
        {
            _writeGate.Release();
        }
    }

    /// <inheritdoc/>
    protected override void AfterCommit(ChatMessage change) => _hub.PublishMessage(change);

    /// <summary>The single gateway needs no lock: each mark is its own small write.</summary>
    private sealed class Claim(SqliteChatStore store, IReadOnlyList<ChatMessage> messages) : OutboxClaim(messages)
    {
        public override Task<bool> MarkSubscriptionRequestedAsync(string visitorId, CancellationToken cancellationToken)
            => store.MarkSubscriptionRequestedAsync(visitorId, cancellationToken);

        public override Task MarkSentAsync(ChatMessage message, CancellationToken cancellationToken)
            => store.AdvanceAsync(message.Id, MessageState.Sent, cancellationToken);

        public override Task CompleteAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
