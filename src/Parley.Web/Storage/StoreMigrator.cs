using System.Globalization;

namespace Parley.Web.Storage;

/// <summary>Creates the schema or brings it to the newest version, counting versions in the <c>schema_version</c> table.</summary>
internal sealed class StoreMigrator(StoreDatabase database)
{
    /// <summary>The schema version this gateway creates and expects.</summary>
    public int SchemaVersion => database.Migrations.Count;

    /// <summary>Runs the missing migrations in one transaction (under a lock, so two gateways starting together take turns).</summary>
    /// <exception cref="ChatStoreException">The database is unavailable or full.</exception>
    /// <exception cref="InvalidOperationException">The database was written by a newer gateway (a schema version this one does not know).</exception>
    public Task InitializeAsync(CancellationToken cancellationToken) => database.GuardAsync(async () =>
    {
        var migrations = database.Migrations;
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        if (database.PrepareSql is { } prepare)
        {
            await using var command = StoreDatabase.Command(connection, null, prepare);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (database.SchemaLockSql is { } schemaLock)
        {
            await using var command = StoreDatabase.Command(connection, transaction, schemaLock);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var create = StoreDatabase.Command(connection, transaction, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"))
        {
            await create.ExecuteNonQueryAsync(cancellationToken);
        }

        long current;
        await using (var read = StoreDatabase.Command(connection, transaction, "SELECT COALESCE(MAX(version), 0) FROM schema_version"))
        {
            current = Convert.ToInt64(await read.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
        }

        if (current > migrations.Count)
        {
            throw new InvalidOperationException(
                $"The {database.ProviderName} database has schema version {current}; this gateway knows versions up to {migrations.Count}. Run the newer gateway, or restore a backup.");
        }

        for (var version = (int)current + 1; version <= migrations.Count; version++)
        {
            await using (var migrate = StoreDatabase.Command(connection, transaction, migrations[version - 1]))
            {
                await migrate.ExecuteNonQueryAsync(cancellationToken);
            }

            await using var record = StoreDatabase.Command(connection, transaction, "INSERT INTO schema_version (version) VALUES (@version)", ("@version", version));
            await record.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    });
}

/// <summary>Migrations whose SQL both databases accept.</summary>
internal static class SharedMigrations
{
    /// <summary>Files on messages: four nullable columns (old rows need nothing).</summary>
    public const string AttachmentColumns = """
        ALTER TABLE messages ADD COLUMN attachment_url TEXT;
        ALTER TABLE messages ADD COLUMN attachment_name TEXT;
        ALTER TABLE messages ADD COLUMN attachment_size BIGINT;
        ALTER TABLE messages ADD COLUMN attachment_type TEXT;
        """;

    /// <summary>Account mode: each visitor's account on the owner's server.</summary>
    public const string VisitorAccounts = """
        CREATE TABLE visitor_accounts (
            visitor_id TEXT PRIMARY KEY REFERENCES visitors(id),
            jid TEXT NOT NULL UNIQUE,
            protected_password TEXT NOT NULL,
            provisioned INTEGER NOT NULL DEFAULT 0,
            created_at BIGINT NOT NULL);
        """;

    /// <summary>
    /// The automatic reply's mark as a column. Gateways before it stored an automatic reply as an owner's message
    /// whose stanza id starts with <c>parley-auto-</c> (and never stored an owner's own id that way): those rows are marked.
    /// </summary>
    public const string AutomaticColumn = """
        ALTER TABLE messages ADD COLUMN automatic INTEGER NOT NULL DEFAULT 0;
        UPDATE messages SET automatic = 1 WHERE direction = 'owner' AND stanza_id LIKE 'parley-auto-%';
        """;

    /// <summary>
    /// What <see cref="LimitRepository"/> keeps: used single-use tokens and rate-limit counters, each with its expiry
    /// (Unix milliseconds), indexed for the purge.
    /// </summary>
    public const string RequestLimits = """
        CREATE TABLE used_tokens (
            token TEXT PRIMARY KEY,
            expires_at BIGINT NOT NULL);
        CREATE INDEX used_tokens_expiry ON used_tokens (expires_at);
        CREATE TABLE rate_counters (
            counter TEXT PRIMARY KEY,
            window_ends BIGINT NOT NULL,
            hits INTEGER NOT NULL);
        CREATE INDEX rate_counters_expiry ON rate_counters (window_ends);
        """;

    /// <summary>
    /// The owner's controls: a block and the end of the current conversation on each visitor (the id of the last
    /// message before the end: the visitor's page shows only later ones), what the visitor's last visit said about them,
    /// guests' addresses blocked for a while, and settings such as the away message.
    /// </summary>
    public const string OwnerControls = """
        ALTER TABLE visitors ADD COLUMN blocked_at BIGINT;
        ALTER TABLE visitors ADD COLUMN ended_after BIGINT NOT NULL DEFAULT 0;
        ALTER TABLE visitors ADD COLUMN seen_at BIGINT;
        ALTER TABLE visitors ADD COLUMN last_address TEXT;
        ALTER TABLE visitors ADD COLUMN last_page TEXT;
        ALTER TABLE visitors ADD COLUMN email TEXT;
        CREATE INDEX visitors_seen ON visitors (seen_at);
        CREATE TABLE address_blocks (
            address TEXT PRIMARY KEY,
            visitor_id TEXT,
            until_ms BIGINT NOT NULL);
        CREATE TABLE gateway_settings (
            name TEXT PRIMARY KEY,
            value TEXT NOT NULL);
        """;

    /// <summary>
    /// The client id the page gives each visitor message (unique per visitor, so a retried POST stores it once; old rows
    /// and API clients without one have none), and whether an owner's message carried a XEP-0333 <c>markable</c>.
    /// </summary>
    public const string ClientIdAndMarkable = """
        ALTER TABLE messages ADD COLUMN client_id TEXT;
        ALTER TABLE messages ADD COLUMN markable INTEGER NOT NULL DEFAULT 0;
        CREATE UNIQUE INDEX messages_client ON messages (visitor_id, client_id) WHERE client_id IS NOT NULL;
        """;

    /// <summary>
    /// Whether a visitor's message was sent again because the owner's client acknowledged a later one and not it (it
    /// goes again at most once).
    /// </summary>
    public const string ResentColumn = """
        ALTER TABLE messages ADD COLUMN resent INTEGER NOT NULL DEFAULT 0;
        """;
}
