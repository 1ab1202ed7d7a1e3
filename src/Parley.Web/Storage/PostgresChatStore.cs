using System.Data.Common;
using System.Net.Sockets;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Parley.Web.Storage;

/// <summary>
/// The store in PostgreSQL, for one gateway or several sharing the database. Every committed change is announced
/// with NOTIFY (<see cref="ChangeChannel"/>, payload "visitor-id seq state"); each gateway's <see cref="PostgresChangeFeed"/>
/// turns the announcements into pushes to its own tabs. The outbox is claimed with FOR UPDATE SKIP LOCKED.
/// </summary>
internal sealed class PostgresChatStore : ChatStore
{
    /// <summary>The NOTIFY channel of committed message changes.</summary>
    public const string ChangeChannel = "parley_changes";

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
        AttachmentColumnsSchema,
        // Account mode: each visitor's account on the owner's server.
        VisitorAccountsSchema,
        // Scale-out: which gateway sends a visitor's messages for now (see s_leaseSql).
        """
        CREATE TABLE visitor_senders (
            visitor_id TEXT PRIMARY KEY REFERENCES visitors(id),
            gateway TEXT NOT NULL,
            until_ms BIGINT NOT NULL);
        """,
    ];

    /// <summary>How long a visitor's messages keep going through the gateway that sent the last one (see <see cref="ClaimOutboxAsync"/>).</summary>
    public static readonly TimeSpan SenderLease = TimeSpan.FromSeconds(10);

    private const string NowMs = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";

    // The claim: lock the oldest pending rows nobody else holds, of visitors whose messages no other gateway is sending
    // now, and keep only those with no older pending message of the same visitor held by another sender, so one
    // visitor's messages still go out in order.
    private static readonly string s_claimSql = $"""
        WITH claimed AS (
            SELECT m.id FROM messages m
            WHERE m.state = 'pending'
              AND NOT EXISTS (SELECT 1 FROM visitor_senders s WHERE s.visitor_id = m.visitor_id AND s.gateway <> @me AND s.until_ms > {NowMs})
            ORDER BY m.id LIMIT @limit FOR UPDATE OF m SKIP LOCKED)
        SELECT {MessageColumns} FROM messages m
        WHERE m.id IN (SELECT id FROM claimed)
          AND NOT EXISTS (
            SELECT 1 FROM messages e
            WHERE e.visitor_id = m.visitor_id AND e.state = 'pending' AND e.id < m.id AND e.id NOT IN (SELECT id FROM claimed))
        ORDER BY m.id
        """;

    // Take or renew the lease of the claimed messages' visitors. The claim already skips visitors leased by another live
    // gateway; should two claims still race for one visitor, the lease row decides and the loser leaves them pending.
    private static readonly string s_leaseSql = $"""
        INSERT INTO visitor_senders (visitor_id, gateway, until_ms)
        SELECT v, @me, {NowMs} + @lease FROM unnest(@visitors) AS v
        ON CONFLICT (visitor_id) DO UPDATE SET gateway = EXCLUDED.gateway, until_ms = EXCLUDED.until_ms
        WHERE visitor_senders.gateway = EXCLUDED.gateway OR visitor_senders.until_ms <= {NowMs}
        RETURNING visitor_id
        """;

    /// <summary>This gateway process, as the holder of visitors' sender leases.</summary>
    private readonly string _senderId = Guid.NewGuid().ToString("N");

    private int _disposed;

    public PostgresChatStore(IOptions<GatewayOptions> options, TimeProvider time)
        : base(time)
    {
        var builder = new NpgsqlDataSourceBuilder(options.Value.Database.ConnectionString);
        builder.ConnectionStringBuilder.ApplicationName ??= "parley-web";
        DataSource = builder.Build();
    }

    /// <summary>The connection pool (also used by the change feed and the data-protection key ring).</summary>
    public NpgsqlDataSource DataSource { get; }

    /// <inheritdoc/>
    public override string ProviderName => "PostgreSQL";

    /// <inheritdoc/>
    protected override IReadOnlyList<string> Migrations => s_migrations;

    /// <inheritdoc/>
    public override Task<OutboxClaim> ClaimOutboxAsync(int limit, CancellationToken cancellationToken) => GuardAsync<OutboxClaim>(async () =>
    {
        var connection = await DataSource.OpenConnectionAsync(cancellationToken);
        try
        {
            var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await using var select = Command(connection, transaction, s_claimSql, ("@limit", limit), ("@me", _senderId));
            var messages = await ReadMessagesAsync(select, cancellationToken);
            if (messages.Count == 0)
            {
                return new Claim(this, connection, transaction, messages);
            }

            // Two links reach the server independently, so a visitor's messages keep to one gateway's link while they
            // flow: a message sent over A cannot be overtaken by the next one sent over B.
            var leased = new HashSet<string>(StringComparer.Ordinal);
            await using (var lease = Command(connection, transaction, s_leaseSql,
                ("@me", _senderId), ("@lease", (long)SenderLease.TotalMilliseconds), ("@visitors", messages.Select(m => m.VisitorId).Distinct(StringComparer.Ordinal).ToArray())))
            await using (var reader = await lease.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    leased.Add(reader.GetString(0));
                }
            }

            return new Claim(this, connection, transaction, messages.All(m => leased.Contains(m.VisitorId)) ? messages : [.. messages.Where(m => leased.Contains(m.VisitorId))]);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    });

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
            await using var release = Command(connection, null, "DELETE FROM visitor_senders WHERE gateway = @me", ("@me", _senderId));
            await release.ExecuteNonQueryAsync(timeout.Token);
        }
        catch (Exception ex) when (Classify(ex) is not null || ex is OperationCanceledException || (ex is PostgresException { SqlState: PostgresErrorCodes.UndefinedTable }))
        {
            // The database is gone or was never set up; the leases run out by themselves.
        }
    }

    /// <inheritdoc/>
    protected internal override StoreFailure? Classify(Exception error) => error switch
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
    protected override async ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken)
        => await DataSource.OpenConnectionAsync(cancellationToken);

    /// <inheritdoc/>
    protected override async Task LockSchemaAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, "SELECT pg_advisory_xact_lock(@key)", ("@key", SchemaLockKey));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <inheritdoc/>
    protected override async Task BeforeCommitAsync(DbConnection connection, DbTransaction transaction, ChatMessage change, CancellationToken cancellationToken)
    {
        // Delivered at commit, in commit order; a rolled-back change announces nothing.
        await using var notify = Command(connection, transaction, "SELECT pg_notify(@channel, @payload)",
            ("@channel", ChangeChannel), ("@payload", FormatChange(change)));
        await notify.ExecuteNonQueryAsync(cancellationToken);
    }

    internal static string FormatChange(ChatMessage change)
        => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{change.VisitorId} {change.Seq} {StateName(change.State)}");

    /// <summary>Reads a change announcement: visitor id, seq, and whether the message is now pending (the outbox grew).</summary>
    internal static bool TryParseChange(string payload, out string visitorId, out long seq, out bool pending)
    {
        visitorId = "";
        seq = 0;
        pending = false;
        var parts = payload.Split(' ');
        if (parts.Length != 3 || parts[0].Length is 0 or > 64
            || !long.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out seq))
        {
            return false;
        }

        visitorId = parts[0];
        pending = parts[2] == StateName(MessageState.Pending);
        return true;
    }

    /// <summary>A transaction holding the claimed rows' locks; marks commit together.</summary>
    private sealed class Claim(PostgresChatStore store, NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<ChatMessage> messages) : OutboxClaim(messages)
    {
        public override Task<bool> MarkSubscriptionRequestedAsync(string visitorId, CancellationToken cancellationToken)
            => store.GuardAsync(() => store.MarkSubscriptionRequestedAsync(connection, transaction, visitorId, cancellationToken));

        public override Task MarkSentAsync(ChatMessage message, CancellationToken cancellationToken) => store.GuardAsync(async () =>
        {
            var change = await store.AdvanceAsync(connection, transaction, message.Id, MessageState.Sent, cancellationToken);
            if (change is not null)
            {
                await store.BeforeCommitAsync(connection, transaction, change, cancellationToken);
            }

            return change;
        });

        public override Task CompleteAsync(CancellationToken cancellationToken) => store.GuardAsync(() => transaction.CommitAsync(cancellationToken));

        public override async ValueTask DisposeAsync()
        {
            await transaction.DisposeAsync();
            await connection.DisposeAsync();
        }
    }
}
