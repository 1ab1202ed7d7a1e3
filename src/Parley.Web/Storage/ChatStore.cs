using System.Data.Common;
using System.Globalization;
using System.Security.Cryptography;

namespace Parley.Web.Storage;

/// <summary>Who sent a message.</summary>
internal enum Direction
{
    /// <summary>The visitor wrote it; it goes to the owner.</summary>
    Visitor,

    /// <summary>The owner wrote it from their XMPP client.</summary>
    Owner,
}

/// <summary>
/// Where a message is. A visitor's message is <see cref="Pending"/> from the moment it is stored until it is written
/// to the XMPP connection (<see cref="Sent"/>), and <see cref="Delivered"/> when the owner's client confirms it (XEP-0184).
/// An owner's message is stored as <see cref="Sent"/>: it has reached the gateway and will be shown to the visitor.
/// </summary>
internal enum MessageState
{
    Pending,
    Sent,
    Delivered,
}

/// <summary>A visitor: one identity (issuer + subject) with a stable id that is also their JID's localpart.</summary>
internal sealed record Visitor(string Id, string Issuer, string Subject, string DisplayName, bool SubscriptionRequested);

/// <summary>
/// A stored message. <see cref="Seq"/> is the visitor's change number: it grows with every insert and every state change
/// of that visitor's messages, so "everything after N" catches a tab up.
/// </summary>
internal sealed record ChatMessage(long Id, string VisitorId, Direction Direction, string Text, DateTimeOffset Timestamp, MessageState State, string StanzaId, long Seq, Attachment? Attachment = null);

/// <summary>A file a message carries: its download URL (also the message text), the name to show, and size and type when known.</summary>
internal sealed record Attachment(string Url, string Name, long? Size, string? Type);

/// <summary>
/// A visitor's real account on the owner's server (account mode). <see cref="ProtectedPassword"/> is the password after
/// ASP.NET Data Protection: the database never holds it in clear, and it never leaves the gateway.
/// </summary>
internal sealed record VisitorAccount(string VisitorId, string Jid, string ProtectedPassword, bool Provisioned);

/// <summary>
/// The gateway's store: visitors, sign-in sessions and messages, over plain ADO.NET. The SQL lives here wherever the
/// dialects agree; <see cref="SqliteChatStore"/> and <see cref="PostgresChatStore"/> supply connections, the schema
/// history, error classification and how a committed change reaches the <see cref="Chat.ChatHub"/>.
/// </summary>
/// <remarks>
/// Every message write is one transaction that first bumps <c>visitors.last_seq</c> (which locks the visitor's row)
/// and numbers the change with the result. So a visitor's changes commit in the order of their numbers, with no
/// gaps, whatever process writes them: a reader that has seen change N has seen every change before it.
/// All methods throw <see cref="ChatStoreException"/> when the database is unavailable or full.
/// </remarks>
internal abstract class ChatStore : IAsyncDisposable
{
    /// <summary>The columns <see cref="ReadMessage"/> reads, in its order.</summary>
    protected const string MessageColumns = "id, visitor_id, direction, text, created_at, state, stanza_id, seq, attachment_url, attachment_name, attachment_size, attachment_type";

    /// <summary>Files on messages: four nullable columns (old rows need nothing); the same SQL for both databases.</summary>
    protected const string AttachmentColumnsSchema = """
        ALTER TABLE messages ADD COLUMN attachment_url TEXT;
        ALTER TABLE messages ADD COLUMN attachment_name TEXT;
        ALTER TABLE messages ADD COLUMN attachment_size BIGINT;
        ALTER TABLE messages ADD COLUMN attachment_type TEXT;
        """;

    /// <summary>A message state as a number, for "only forward" comparisons.</summary>
    private const string StateRank = "(CASE state WHEN 'pending' THEN 0 WHEN 'sent' THEN 1 ELSE 2 END)";

    private const string VisitorColumns = "id, issuer, subject, display_name, subscription_requested";
    private const string AccountColumns = "visitor_id, jid, protected_password, provisioned";

    /// <summary>The account-mode table; the same SQL for both databases.</summary>
    protected const string VisitorAccountsSchema = """
        CREATE TABLE visitor_accounts (
            visitor_id TEXT PRIMARY KEY REFERENCES visitors(id),
            jid TEXT NOT NULL UNIQUE,
            protected_password TEXT NOT NULL,
            provisioned INTEGER NOT NULL DEFAULT 0,
            created_at BIGINT NOT NULL);
        """;

    private readonly TimeProvider _time;

    protected ChatStore(TimeProvider time) => _time = time;

    /// <summary>"SQLite" or "PostgreSQL", for messages.</summary>
    public abstract string ProviderName { get; }

    /// <summary>The schema version this gateway creates and expects.</summary>
    public int SchemaVersion => Migrations.Count;

    /// <summary>The schema, one script per version (index 0 is version 1). A script runs once, in a transaction.</summary>
    protected abstract IReadOnlyList<string> Migrations { get; }

    /// <summary>Creates the schema or brings it to the newest version (under a lock, so two gateways starting together take turns).</summary>
    /// <exception cref="ChatStoreException">The database is unavailable or full.</exception>
    /// <exception cref="InvalidOperationException">The database was written by a newer gateway (a schema version this one does not know).</exception>
    public Task InitializeAsync(CancellationToken cancellationToken) => GuardAsync(async () =>
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await PrepareAsync(connection, cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await LockSchemaAsync(connection, transaction, cancellationToken);
        await using (var create = Command(connection, transaction, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"))
        {
            await create.ExecuteNonQueryAsync(cancellationToken);
        }

        long current;
        await using (var read = Command(connection, transaction, "SELECT COALESCE(MAX(version), 0) FROM schema_version"))
        {
            current = Convert.ToInt64(await read.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
        }

        if (current > Migrations.Count)
        {
            throw new InvalidOperationException(
                $"The {ProviderName} database has schema version {current}; this gateway knows versions up to {Migrations.Count}. Run the newer gateway, or restore a backup.");
        }

        for (var version = (int)current + 1; version <= Migrations.Count; version++)
        {
            await using (var migrate = Command(connection, transaction, Migrations[version - 1]))
            {
                await migrate.ExecuteNonQueryAsync(cancellationToken);
            }

            await using var record = Command(connection, transaction, "INSERT INTO schema_version (version) VALUES (@version)", ("@version", version));
            await record.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    });

    /// <summary>Finds the visitor of an identity, or creates one with a fresh random id; keeps the display name current.</summary>
    /// <exception cref="ChatStoreException">The database is unavailable or full.</exception>
    public Task<Visitor> GetOrCreateVisitorAsync(string issuer, string subject, string displayName, CancellationToken cancellationToken) => GuardAsync(async () =>
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var upsert = Command(connection, null, $"""
            INSERT INTO visitors (id, issuer, subject, display_name, created_at) VALUES (@id, @issuer, @subject, @name, @now)
            ON CONFLICT (issuer, subject) DO UPDATE SET display_name = excluded.display_name
            RETURNING {VisitorColumns}
            """,
            ("@id", NewVisitorId()), ("@issuer", issuer), ("@subject", subject), ("@name", displayName), ("@now", Now()));
        await using var reader = await upsert.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadVisitor(reader) : throw new InvalidOperationException("The visitor upsert returned no row.");
    });

    /// <summary>The visitor with this id, or <see langword="null"/>.</summary>
    /// <exception cref="ChatStoreException">The database is unavailable.</exception>
    public Task<Visitor?> FindVisitorAsync(string id, CancellationToken cancellationToken) => GuardAsync(async () =>
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var select = Command(connection, null, $"SELECT {VisitorColumns} FROM visitors WHERE id = @id", ("@id", id));
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadVisitor(reader) : null;
    });

    /// <summary>Records that the owner was asked once to subscribe to this visitor; returns whether this call was the first.</summary>
    /// <exception cref="ChatStoreException">The database is unavailable or full.</exception>
    public Task<bool> MarkSubscriptionRequestedAsync(string visitorId, CancellationToken cancellationToken) => GuardAsync(async () =>
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        return await MarkSubscriptionRequestedAsync(connection, null, visitorId, cancellationToken);
    });

    /// <summary>The visitor's account (account mode), or <see langword="null"/> when none was made yet.</summary>
    /// <exception cref="ChatStoreException">The database is unavailable.</exception>
    public Task<VisitorAccount?> FindAccountAsync(string visitorId, CancellationToken cancellationToken) => GuardAsync(async () =>
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var select = Command(connection, null, $"SELECT {AccountColumns} FROM visitor_accounts WHERE visitor_id = @visitor", ("@visitor", visitorId));
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadAccount(reader) : null;
    });

    /// <summary>
    /// Records the visitor's account before it is created on the server, so a crash in between cannot leave an account
    /// whose password nobody knows; when one is recorded already (another gateway was faster), returns that one.
    /// </summary>
    /// <exception cref="ChatStoreException">The database is unavailable or full.</exception>
    public Task<VisitorAccount> GetOrAddAccountAsync(string visitorId, string jid, string protectedPassword, CancellationToken cancellationToken) => GuardAsync(async () =>
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using (var insert = Command(connection, null, """
            INSERT INTO visitor_accounts (visitor_id, jid, protected_password, created_at) VALUES (@visitor, @jid, @password, @now)
            ON CONFLICT (visitor_id) DO NOTHING
            """,
            ("@visitor", visitorId), ("@jid", jid), ("@password", protectedPassword), ("@now", Now())))
        {
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var select = Command(connection, null, $"SELECT {AccountColumns} FROM visitor_accounts WHERE visitor_id = @visitor", ("@visitor", visitorId));
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadAccount(reader) : throw new InvalidOperationException("The account insert left no row.");
    });

    /// <summary>Records that the visitor's account exists on the server with the recorded password.</summary>
    /// <exception cref="ChatStoreException">The database is unavailable or full.</exception>
    public Task MarkAccountProvisionedAsync(string visitorId, CancellationToken cancellationToken) => GuardAsync(async () =>
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var update = Command(connection, null, "UPDATE visitor_accounts SET provisioned = 1 WHERE visitor_id = @visitor", ("@visitor", visitorId));
        return await update.ExecuteNonQueryAsync(cancellationToken);
    });

    /// <summary>Starts a sign-in session (the auth cookie names it); returns its random id.</summary>
    /// <exception cref="ChatStoreException">The database is unavailable or full.</exception>
    public Task<string> CreateSessionAsync(string visitorId, CancellationToken cancellationToken) => GuardAsync(async () =>
    {
        var id = Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)).Replace('+', '-').Replace('/', '_');
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var insert = Command(connection, null, "INSERT INTO sessions (id, visitor_id, created_at) VALUES (@id, @visitor, @now)",
            ("@id", id), ("@visitor", visitorId), ("@now", Now()));
        await insert.ExecuteNonQueryAsync(cancellationToken);
        return id;
    });

    /// <summary>
    /// The visitor a sign-in session belongs to, or <see langword="null"/> when there is no such session or it was ended.
    /// The auth cookie carries only the session id; this is where its claims come from on every request.
    /// </summary>
    /// <exception cref="ChatStoreException">The database is unavailable.</exception>
    public Task<Visitor?> FindSessionVisitorAsync(string sessionId, CancellationToken cancellationToken) => GuardAsync(async () =>
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var select = Command(connection, null, """
            SELECT v.id, v.issuer, v.subject, v.display_name, v.subscription_requested
            FROM sessions s JOIN visitors v ON v.id = s.visitor_id
            WHERE s.id = @id AND s.ended_at IS NULL
            """,
            ("@id", sessionId));
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadVisitor(reader) : null;
    });

    /// <summary>Ends a session: its cookie is refused from now on, even if someone kept a copy.</summary>
    /// <exception cref="ChatStoreException">The database is unavailable or full.</exception>
    public Task EndSessionAsync(string sessionId, CancellationToken cancellationToken) => GuardAsync(async () =>
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var update = Command(connection, null, "UPDATE sessions SET ended_at = @now WHERE id = @id AND ended_at IS NULL", ("@id", sessionId), ("@now", Now()));
        await update.ExecuteNonQueryAsync(cancellationToken);
    });

    /// <summary>Stores a visitor's message as pending (before anything is sent) and publishes it to the visitor's tabs.</summary>
    /// <exception cref="ChatStoreException">The database is unavailable or full: the message was not stored.</exception>
    /// <exception cref="InvalidOperationException">There is no such visitor.</exception>
    public async Task<ChatMessage> AddVisitorMessageAsync(string visitorId, string text, CancellationToken cancellationToken)
    {
        var message = await InsertAsync(visitorId, Direction.Visitor, text, MessageState.Pending, "web-" + Parley.Xmpp.Stanzas.Stanza.NewId(), cancellationToken);
        return message ?? throw new InvalidOperationException("A fresh stanza id collided with a stored one.");
    }

    /// <summary>Stores a visitor's file as a pending message whose text is the download URL, and publishes it.</summary>
    /// <exception cref="ChatStoreException">The database is unavailable or full: nothing was stored.</exception>
    /// <exception cref="InvalidOperationException">There is no such visitor.</exception>
    public async Task<ChatMessage> AddVisitorFileAsync(string visitorId, Attachment attachment, CancellationToken cancellationToken)
    {
        var message = await InsertAsync(visitorId, Direction.Visitor, attachment.Url, MessageState.Pending, "web-" + Parley.Xmpp.Stanzas.Stanza.NewId(), cancellationToken, attachment);
        return message ?? throw new InvalidOperationException("A fresh stanza id collided with a stored one.");
    }

    /// <summary>Stores the owner's message that carries a file (a link with <c>jabber:x:oob</c>, or an upload URL), like the overload without one.</summary>
    /// <exception cref="ChatStoreException">The database is unavailable or full: the message was not stored.</exception>
    /// <exception cref="InvalidOperationException">There is no such visitor.</exception>
    public Task<ChatMessage?> AddOwnerMessageAsync(string visitorId, string text, string stanzaId, Attachment? attachment, CancellationToken cancellationToken)
        => InsertAsync(visitorId, Direction.Owner, text, MessageState.Sent, stanzaId, cancellationToken, attachment);

    /// <summary>Stores the owner's message and publishes it; <see langword="null"/> when a message with that stanza id was already stored (a re-send).</summary>
    /// <exception cref="ChatStoreException">The database is unavailable or full: the message was not stored.</exception>
    /// <exception cref="InvalidOperationException">There is no such visitor.</exception>
    public Task<ChatMessage?> AddOwnerMessageAsync(string visitorId, string text, string stanzaId, CancellationToken cancellationToken)
        => InsertAsync(visitorId, Direction.Owner, text, MessageState.Sent, stanzaId, cancellationToken);

    /// <summary>Moves a visitor's message forward (pending → sent → delivered; never back) and publishes the change.</summary>
    /// <exception cref="ChatStoreException">The database is unavailable or full.</exception>
    public Task<ChatMessage?> AdvanceAsync(long messageId, MessageState state, CancellationToken cancellationToken)
        => WriteAsync((connection, transaction) => AdvanceAsync(connection, transaction, messageId, state, cancellationToken), cancellationToken);

    /// <summary>Marks the visitor's message with this stanza id delivered (the owner's client sent a receipt).</summary>
    /// <exception cref="ChatStoreException">The database is unavailable or full.</exception>
    public Task<ChatMessage?> MarkDeliveredAsync(string visitorId, string stanzaId, CancellationToken cancellationToken)
        => WriteAsync((connection, transaction) => WriteChangeAsync(
            connection,
            transaction,
            visitorId,
            AdvanceSql("visitor_id = @visitor AND direction = 'visitor' AND stanza_id = @key"),
            [("@key", stanzaId), ("@visitor", visitorId), ("@state", StateName(MessageState.Delivered)), ("@rank", (int)MessageState.Delivered)],
            cancellationToken), cancellationToken);

    /// <summary>A page of the visitor's conversation in id order: the newest <paramref name="limit"/> messages, or those before <paramref name="beforeId"/>.</summary>
    /// <exception cref="ChatStoreException">The database is unavailable.</exception>
    public Task<IReadOnlyList<ChatMessage>> GetHistoryAsync(string visitorId, long? beforeId, int limit, CancellationToken cancellationToken) => GuardAsync(async () =>
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var select = Command(connection, null, $"SELECT {MessageColumns} FROM messages WHERE visitor_id = @visitor AND id < @before ORDER BY id DESC LIMIT @limit",
            ("@visitor", visitorId), ("@before", beforeId ?? long.MaxValue), ("@limit", limit));
        var page = await ReadMessagesAsync(select, cancellationToken);
        page.Reverse();
        return (IReadOnlyList<ChatMessage>)page;
    });

    /// <summary>The visitor's messages that were stored or changed after <paramref name="afterSeq"/>, in change order.</summary>
    /// <exception cref="ChatStoreException">The database is unavailable.</exception>
    public Task<List<ChatMessage>> GetChangesAsync(string visitorId, long afterSeq, int limit, CancellationToken cancellationToken) => GuardAsync(async () =>
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var select = Command(connection, null, $"SELECT {MessageColumns} FROM messages WHERE visitor_id = @visitor AND seq > @after ORDER BY seq LIMIT @limit",
            ("@visitor", visitorId), ("@after", afterSeq), ("@limit", limit));
        return await ReadMessagesAsync(select, cancellationToken);
    });

    /// <summary>The message that change <paramref name="seq"/> of the visitor produced, or <see langword="null"/> when a later change superseded it.</summary>
    /// <exception cref="ChatStoreException">The database is unavailable.</exception>
    public Task<ChatMessage?> GetChangeAsync(string visitorId, long seq, CancellationToken cancellationToken) => GuardAsync(async () =>
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var select = Command(connection, null, $"SELECT {MessageColumns} FROM messages WHERE visitor_id = @visitor AND seq = @seq",
            ("@visitor", visitorId), ("@seq", seq));
        var rows = await ReadMessagesAsync(select, cancellationToken);
        return rows.Count == 0 ? null : rows[0];
    });

    /// <summary>The oldest visitor messages still waiting to be sent, in the order they were written (a read: nothing is claimed).</summary>
    /// <exception cref="ChatStoreException">The database is unavailable.</exception>
    public Task<List<ChatMessage>> GetPendingAsync(int limit, CancellationToken cancellationToken) => GuardAsync(async () =>
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var select = Command(connection, null, $"SELECT {MessageColumns} FROM messages WHERE state = 'pending' ORDER BY id LIMIT @limit", ("@limit", limit));
        return await ReadMessagesAsync(select, cancellationToken);
    });

    /// <summary>
    /// Takes up to <paramref name="limit"/> pending messages to send, in the order they were written. Another sender
    /// (another gateway on the same database) does not get them while the claim is open. Mark each sent message with
    /// <see cref="OutboxClaim.MarkSentAsync"/>, then <see cref="OutboxClaim.CompleteAsync"/>; a claim disposed without
    /// completing leaves its unmarked messages pending.
    /// </summary>
    /// <exception cref="ChatStoreException">The database is unavailable.</exception>
    public abstract Task<OutboxClaim> ClaimOutboxAsync(int limit, CancellationToken cancellationToken);

    /// <inheritdoc/>
    public abstract ValueTask DisposeAsync();

    internal static string StateName(MessageState state) => state switch
    {
        MessageState.Sent => "sent",
        MessageState.Delivered => "delivered",
        _ => "pending",
    };

    /// <summary>Opens a connection of the store.</summary>
    protected abstract ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken);

    /// <summary>Runs before the schema transaction, e.g. settings that cannot change inside one.</summary>
    protected virtual Task PrepareAsync(DbConnection connection, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Makes concurrent schema set-ups (two gateways starting) take turns, within <paramref name="transaction"/>.</summary>
    protected abstract Task LockSchemaAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken);

    /// <summary>Whether this error means the database is unavailable or full (and which), or <see langword="null"/> for any other error.</summary>
    protected internal abstract StoreFailure? Classify(Exception error);

    /// <summary>Runs in the transaction of a change just before it commits (PostgreSQL: NOTIFY the other gateways).</summary>
    protected virtual Task BeforeCommitAsync(DbConnection connection, DbTransaction transaction, ChatMessage change, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Runs after a change committed, still in commit order (SQLite: publish to this process's hub).</summary>
    protected virtual void AfterCommit(ChatMessage change)
    {
    }

    /// <summary>Runs one message write in its own transaction (<see cref="RunWriteAsync"/>); SQLite serializes these, so its tabs see changes in commit order.</summary>
    protected virtual Task<ChatMessage?> WriteAsync(Func<DbConnection, DbTransaction, Task<ChatMessage?>> write, CancellationToken cancellationToken)
        => RunWriteAsync(write, cancellationToken);

    /// <summary>Opens, begins, runs <paramref name="write"/>, notifies, commits and publishes; rolls back when it changed nothing.</summary>
    protected async Task<ChatMessage?> RunWriteAsync(Func<DbConnection, DbTransaction, Task<ChatMessage?>> write, CancellationToken cancellationToken) => await GuardAsync(async () =>
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var change = await write(connection, transaction);
        if (change is null)
        {
            await transaction.RollbackAsync(cancellationToken);
            return null;
        }

        await BeforeCommitAsync(connection, transaction, change, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        AfterCommit(change);
        return change;
    });

    /// <summary>The pending→sent (or any forward) move of one message, inside <paramref name="transaction"/>.</summary>
    protected Task<ChatMessage?> AdvanceAsync(DbConnection connection, DbTransaction transaction, long messageId, MessageState state, CancellationToken cancellationToken)
        => WriteChangeAsync(
            connection,
            transaction,
            null,
            AdvanceSql("id = @key"),
            [("@key", messageId), ("@state", StateName(state)), ("@rank", (int)state)],
            cancellationToken,
            messageId);

    /// <summary>Sets the subscription-requested flag inside an optional transaction; true when this call set it.</summary>
    protected async Task<bool> MarkSubscriptionRequestedAsync(DbConnection connection, DbTransaction? transaction, string visitorId, CancellationToken cancellationToken)
    {
        await using var update = Command(connection, transaction, "UPDATE visitors SET subscription_requested = 1 WHERE id = @id AND subscription_requested = 0", ("@id", visitorId));
        return await update.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>A command with <c>@name</c> parameters (both providers accept that form).</summary>
    protected static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql, params ReadOnlySpan<(string Name, object? Value)> parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }

        return command;
    }

    /// <summary>Reads every row of <paramref name="command"/> as a message (<see cref="MessageColumns"/> order).</summary>
    protected static async Task<List<ChatMessage>> ReadMessagesAsync(DbCommand command, CancellationToken cancellationToken)
    {
        var list = new List<ChatMessage>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(ReadMessage(reader));
        }

        return list;
    }

    /// <summary>Runs a store operation; a database that is unavailable or full becomes a <see cref="ChatStoreException"/> that says so.</summary>
    protected async Task GuardAsync(Func<Task> operation)
    {
        try
        {
            await operation();
        }
        catch (Exception error) when (error is not ChatStoreException && Classify(error) is { } failure)
        {
            throw new ChatStoreException(failure, ProviderName, error);
        }
    }

    /// <inheritdoc cref="GuardAsync(Func{Task})"/>
    protected async Task<T> GuardAsync<T>(Func<Task<T>> operation)
    {
        try
        {
            return await operation();
        }
        catch (Exception error) when (error is not ChatStoreException && Classify(error) is { } failure)
        {
            throw new ChatStoreException(failure, ProviderName, error);
        }
    }

    private Task<ChatMessage?> InsertAsync(string visitorId, Direction direction, string text, MessageState state, string stanzaId, CancellationToken cancellationToken, Attachment? attachment = null)
        => WriteAsync((connection, transaction) => WriteChangeAsync(
            connection,
            transaction,
            visitorId,
            $"""
            INSERT INTO messages (visitor_id, direction, text, created_at, state, stanza_id, seq, attachment_url, attachment_name, attachment_size, attachment_type)
            VALUES (@visitor, @direction, @text, @now, @state, @stanza, @seq, @url, @name, @size, @type)
            ON CONFLICT (visitor_id, direction, stanza_id) DO NOTHING
            RETURNING {MessageColumns}
            """,
            [
                ("@visitor", visitorId), ("@direction", direction == Direction.Visitor ? "visitor" : "owner"), ("@text", text), ("@now", Now()), ("@state", StateName(state)), ("@stanza", stanzaId),
                ("@url", attachment?.Url), ("@name", attachment?.Name), ("@size", attachment?.Size), ("@type", attachment?.Type),
            ],
            cancellationToken), cancellationToken);

    /// <summary>
    /// Takes the visitor's next change number (locking the visitor's row until the transaction ends) and runs
    /// <paramref name="sql"/> with it as <c>@seq</c>; returns the changed row, or <see langword="null"/> when nothing changed
    /// (the caller rolls back, so the number is not used up).
    /// </summary>
    private static async Task<ChatMessage?> WriteChangeAsync(
        DbConnection connection, DbTransaction transaction, string? visitorId, string sql, (string, object?)[] parameters, CancellationToken cancellationToken, long? messageId = null)
    {
        long seq;
        await using (var next = visitorId is not null
            ? Command(connection, transaction, "UPDATE visitors SET last_seq = last_seq + 1 WHERE id = @visitor RETURNING last_seq", ("@visitor", visitorId))
            : Command(connection, transaction, "UPDATE visitors SET last_seq = last_seq + 1 WHERE id = (SELECT visitor_id FROM messages WHERE id = @message) RETURNING last_seq", ("@message", messageId)))
        {
            var value = await next.ExecuteScalarAsync(cancellationToken);
            if (value is null or DBNull)
            {
                return visitorId is not null
                    ? throw new InvalidOperationException($"There is no visitor '{visitorId}'.")
                    : null;
            }

            seq = Convert.ToInt64(value, CultureInfo.InvariantCulture);
        }

        await using var write = Command(connection, transaction, sql, [.. parameters, ("@seq", seq)]);
        var rows = await ReadMessagesAsync(write, cancellationToken);
        return rows.Count == 0 ? null : rows[0];
    }

    /// <summary>The message update of <see cref="AdvanceAsync(long, MessageState, CancellationToken)"/> and <see cref="MarkDeliveredAsync"/>: states only move forward, so a late "sent" never overwrites "delivered".</summary>
    private static string AdvanceSql(string where) => $"""
        UPDATE messages SET state = @state, seq = @seq
        WHERE {where} AND {StateRank} < @rank
        RETURNING {MessageColumns}
        """;

    private static ChatMessage ReadMessage(DbDataReader reader) => new(
        reader.GetInt64(0),
        reader.GetString(1),
        reader.GetString(2) == "owner" ? Direction.Owner : Direction.Visitor,
        reader.GetString(3),
        DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4)),
        reader.GetString(5) switch
        {
            "sent" => MessageState.Sent,
            "delivered" => MessageState.Delivered,
            _ => MessageState.Pending,
        },
        reader.GetString(6),
        reader.GetInt64(7),
        reader.IsDBNull(8) ? null : new Attachment(
            reader.GetString(8),
            reader.IsDBNull(9) ? "file" : reader.GetString(9),
            reader.IsDBNull(10) ? null : reader.GetInt64(10),
            reader.IsDBNull(11) ? null : reader.GetString(11)));

    private static VisitorAccount ReadAccount(DbDataReader reader)
        => new(reader.GetString(0), reader.GetString(1), reader.GetString(2), Convert.ToInt64(reader.GetValue(3), CultureInfo.InvariantCulture) != 0);

    private static Visitor ReadVisitor(DbDataReader reader)
        => new(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetInt32(4) != 0);

    // 16 random bytes as lower-case base32: a valid JID localpart, not guessable, stable for the identity.
    private static string NewVisitorId()
    {
        const string Alphabet = "abcdefghijklmnopqrstuvwxyz234567";
        Span<byte> bytes = stackalloc byte[16];
        RandomNumberGenerator.Fill(bytes);
        Span<char> chars = stackalloc char[26];
        var buffer = 0;
        var bits = 0;
        var n = 0;
        foreach (var b in bytes)
        {
            buffer = ((buffer << 8) | b) & 0xFFFF;
            bits += 8;
            while (bits >= 5)
            {
                chars[n++] = Alphabet[(buffer >> (bits - 5)) & 31];
                bits -= 5;
            }
        }

        if (bits > 0)
        {
            chars[n++] = Alphabet[(buffer << (5 - bits)) & 31];
        }

        return new string(chars[..n]);
    }

    private long Now() => _time.GetUtcNow().ToUnixTimeMilliseconds();
}
