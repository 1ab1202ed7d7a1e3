using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using Parley.Web.Chat;

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

/// <summary>A file a message carries: its download URL (also the message text), the name to show, and size and type when known.</summary>
internal sealed record Attachment(string Url, string Name, long? Size, string? Type);

/// <summary>A stored message. <see cref="Seq"/> grows with every insert and every state change, so "everything after N" catches a client up.</summary>
internal sealed record ChatMessage(long Id, string VisitorId, Direction Direction, string Text, DateTimeOffset Timestamp, MessageState State, string StanzaId, long Seq, Attachment? Attachment = null);

/// <summary>
/// The gateway's SQLite store: visitors, sign-in sessions and messages. Writes are serialized (one gate) so the change
/// sequence is gap-free and changes are published to the <see cref="ChatHub"/> in the order they were committed.
/// </summary>
internal sealed class ChatStore : IDisposable
{
    private const string Schema = """
        PRAGMA journal_mode = WAL;
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
        """;

    // Added to databases created before files existed; nullable, so old rows need nothing.
    private const string AttachmentMigration = """
        ALTER TABLE messages ADD COLUMN attachment_url TEXT;
        ALTER TABLE messages ADD COLUMN attachment_name TEXT;
        ALTER TABLE messages ADD COLUMN attachment_size INTEGER;
        ALTER TABLE messages ADD COLUMN attachment_type TEXT;
        """;

    private const string MessageColumns = "id, visitor_id, direction, text, created_at, state, stanza_id, seq, attachment_url, attachment_name, attachment_size, attachment_type";

    private readonly string _connectionString;
    private readonly ChatHub _hub;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private long _seq;

    public ChatStore(IOptions<GatewayOptions> options, ChatHub hub, TimeProvider time)
    {
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path.GetFullPath(options.Value.DatabasePath),
            Mode = SqliteOpenMode.ReadWriteCreate,
            ForeignKeys = true,
            DefaultTimeout = 30,
        }.ToString();
        _hub = hub;
        _time = time;
    }

    /// <summary>Creates the schema if needed and reads where the change sequence stands.</summary>
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        var directory = Path.GetDirectoryName(new SqliteConnectionStringBuilder(_connectionString).DataSource);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        await using var connection = await OpenAsync(cancellationToken);
        await using (var create = connection.CreateCommand())
        {
            create.CommandText = Schema;
            await create.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var columns = connection.CreateCommand())
        {
            columns.CommandText = "SELECT COUNT(*) FROM pragma_table_info('messages') WHERE name = 'attachment_url'";
            if (Convert.ToInt64(await columns.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture) == 0)
            {
                await using var migrate = connection.CreateCommand();
                migrate.CommandText = AttachmentMigration;
                await migrate.ExecuteNonQueryAsync(cancellationToken);
            }
        }

        await using var max = connection.CreateCommand();
        max.CommandText = "SELECT COALESCE(MAX(seq), 0) FROM messages";
        _seq = Convert.ToInt64(await max.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
    }

    /// <summary>Finds the visitor of an identity, or creates one with a fresh random id; keeps the display name current.</summary>
    public async Task<Visitor> GetOrCreateVisitorAsync(string issuer, string subject, string displayName, CancellationToken cancellationToken)
    {
        await _writeGate.WaitAsync(cancellationToken);
        try
        {
            await using var connection = await OpenAsync(cancellationToken);
            await using (var update = connection.CreateCommand())
            {
                update.CommandText = "UPDATE visitors SET display_name = $name WHERE issuer = $issuer AND subject = $subject";
                update.Parameters.AddWithValue("$name", displayName);
                update.Parameters.AddWithValue("$issuer", issuer);
                update.Parameters.AddWithValue("$subject", subject);
                if (await update.ExecuteNonQueryAsync(cancellationToken) == 0)
                {
                    await using var insert = connection.CreateCommand();
                    insert.CommandText = "INSERT INTO visitors (id, issuer, subject, display_name, created_at) VALUES ($id, $issuer, $subject, $name, $now)";
                    insert.Parameters.AddWithValue("$id", NewVisitorId());
                    insert.Parameters.AddWithValue("$issuer", issuer);
                    insert.Parameters.AddWithValue("$subject", subject);
                    insert.Parameters.AddWithValue("$name", displayName);
                    insert.Parameters.AddWithValue("$now", Now());
                    await insert.ExecuteNonQueryAsync(cancellationToken);
                }
            }

            await using var select = connection.CreateCommand();
            select.CommandText = "SELECT id, issuer, subject, display_name, subscription_requested FROM visitors WHERE issuer = $issuer AND subject = $subject";
            select.Parameters.AddWithValue("$issuer", issuer);
            select.Parameters.AddWithValue("$subject", subject);
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            return await reader.ReadAsync(cancellationToken) ? ReadVisitor(reader) : throw new InvalidOperationException("The visitor row vanished after it was written.");
        }
        finally
        {
            _writeGate.Release();
        }
    }

    /// <summary>The visitor with this id, or <see langword="null"/>.</summary>
    public async Task<Visitor?> FindVisitorAsync(string id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var select = connection.CreateCommand();
        select.CommandText = "SELECT id, issuer, subject, display_name, subscription_requested FROM visitors WHERE id = $id";
        select.Parameters.AddWithValue("$id", id);
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadVisitor(reader) : null;
    }

    /// <summary>Records that the owner was asked once to subscribe to this visitor; returns whether this call was the first.</summary>
    public async Task<bool> MarkSubscriptionRequestedAsync(string visitorId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var update = connection.CreateCommand();
        update.CommandText = "UPDATE visitors SET subscription_requested = 1 WHERE id = $id AND subscription_requested = 0";
        update.Parameters.AddWithValue("$id", visitorId);
        return await update.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>Starts a sign-in session (the auth cookie names it); returns its random id.</summary>
    public async Task<string> CreateSessionAsync(string visitorId, CancellationToken cancellationToken)
    {
        var id = Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)).Replace('+', '-').Replace('/', '_');
        await using var connection = await OpenAsync(cancellationToken);
        await using var insert = connection.CreateCommand();
        insert.CommandText = "INSERT INTO sessions (id, visitor_id, created_at) VALUES ($id, $visitor, $now)";
        insert.Parameters.AddWithValue("$id", id);
        insert.Parameters.AddWithValue("$visitor", visitorId);
        insert.Parameters.AddWithValue("$now", Now());
        await insert.ExecuteNonQueryAsync(cancellationToken);
        return id;
    }

    /// <summary>Whether the session exists, belongs to the visitor and was not ended.</summary>
    public async Task<bool> IsSessionLiveAsync(string sessionId, string visitorId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var select = connection.CreateCommand();
        select.CommandText = "SELECT 1 FROM sessions WHERE id = $id AND visitor_id = $visitor AND ended_at IS NULL";
        select.Parameters.AddWithValue("$id", sessionId);
        select.Parameters.AddWithValue("$visitor", visitorId);
        return await select.ExecuteScalarAsync(cancellationToken) is not null;
    }

    /// <summary>Ends a session: its cookie is refused from now on, even if someone kept a copy.</summary>
    public async Task EndSessionAsync(string sessionId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var update = connection.CreateCommand();
        update.CommandText = "UPDATE sessions SET ended_at = $now WHERE id = $id AND ended_at IS NULL";
        update.Parameters.AddWithValue("$id", sessionId);
        update.Parameters.AddWithValue("$now", Now());
        await update.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Stores a visitor's message as pending (before anything is sent) and publishes it to the visitor's tabs.</summary>
    public async Task<ChatMessage> AddVisitorMessageAsync(string visitorId, string text, CancellationToken cancellationToken)
    {
        var message = await InsertAsync(visitorId, Direction.Visitor, text, MessageState.Pending, "web-" + Parley.Xmpp.Stanzas.Stanza.NewId(), cancellationToken);
        return message ?? throw new InvalidOperationException("A fresh stanza id collided with a stored one.");
    }

    /// <summary>Stores a visitor's file as a pending message whose text is the download URL, and publishes it.</summary>
    public async Task<ChatMessage> AddVisitorFileAsync(string visitorId, Attachment attachment, CancellationToken cancellationToken)
    {
        var message = await InsertAsync(visitorId, Direction.Visitor, attachment.Url, MessageState.Pending, "web-" + Parley.Xmpp.Stanzas.Stanza.NewId(), cancellationToken, attachment);
        return message ?? throw new InvalidOperationException("A fresh stanza id collided with a stored one.");
    }

    /// <summary>Stores the owner's message and publishes it; <see langword="null"/> when a message with that stanza id was already stored (a re-send).</summary>
    public Task<ChatMessage?> AddOwnerMessageAsync(string visitorId, string text, string stanzaId, CancellationToken cancellationToken)
        => InsertAsync(visitorId, Direction.Owner, text, MessageState.Sent, stanzaId, cancellationToken);

    /// <summary>Stores the owner's message that carries a file (a link with <c>jabber:x:oob</c>, or an upload URL), like the overload without one.</summary>
    public Task<ChatMessage?> AddOwnerMessageAsync(string visitorId, string text, string stanzaId, Attachment? attachment, CancellationToken cancellationToken)
        => InsertAsync(visitorId, Direction.Owner, text, MessageState.Sent, stanzaId, cancellationToken, attachment);

    /// <summary>Moves a visitor's message forward (pending → sent → delivered; never back) and publishes the change.</summary>
    public Task<ChatMessage?> AdvanceAsync(long messageId, MessageState state, CancellationToken cancellationToken)
        => AdvanceWhereAsync("id = $key", messageId, state, cancellationToken);

    /// <summary>Marks the visitor's message with this stanza id delivered (the owner's client sent a receipt).</summary>
    public Task<ChatMessage?> MarkDeliveredAsync(string visitorId, string stanzaId, CancellationToken cancellationToken)
        => AdvanceWhereAsync("visitor_id = $visitor AND direction = 'visitor' AND stanza_id = $key", stanzaId, MessageState.Delivered, cancellationToken, visitorId);

    /// <summary>A page of the visitor's conversation in id order: the newest <paramref name="limit"/> messages, or those before <paramref name="beforeId"/>.</summary>
    public async Task<IReadOnlyList<ChatMessage>> GetHistoryAsync(string visitorId, long? beforeId, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var select = connection.CreateCommand();
        select.CommandText = $"SELECT {MessageColumns} FROM messages WHERE visitor_id = $visitor AND id < $before ORDER BY id DESC LIMIT $limit";
        select.Parameters.AddWithValue("$visitor", visitorId);
        select.Parameters.AddWithValue("$before", beforeId ?? long.MaxValue);
        select.Parameters.AddWithValue("$limit", limit);
        var page = await ReadMessagesAsync(select, cancellationToken);
        page.Reverse();
        return page;
    }

    /// <summary>The visitor's messages that were stored or changed after <paramref name="afterSeq"/>, in change order.</summary>
    public async Task<List<ChatMessage>> GetChangesAsync(string visitorId, long afterSeq, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var select = connection.CreateCommand();
        select.CommandText = $"SELECT {MessageColumns} FROM messages WHERE visitor_id = $visitor AND seq > $after ORDER BY seq LIMIT $limit";
        select.Parameters.AddWithValue("$visitor", visitorId);
        select.Parameters.AddWithValue("$after", afterSeq);
        select.Parameters.AddWithValue("$limit", limit);
        return await ReadMessagesAsync(select, cancellationToken);
    }

    /// <summary>The oldest visitor messages still waiting to be sent, in the order they were written.</summary>
    public async Task<List<ChatMessage>> GetPendingAsync(int limit, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var select = connection.CreateCommand();
        select.CommandText = $"SELECT {MessageColumns} FROM messages WHERE state = 'pending' ORDER BY id LIMIT $limit";
        select.Parameters.AddWithValue("$limit", limit);
        return await ReadMessagesAsync(select, cancellationToken);
    }

    public void Dispose() => _writeGate.Dispose();

    private async Task<ChatMessage?> InsertAsync(string visitorId, Direction direction, string text, MessageState state, string stanzaId, CancellationToken cancellationToken, Attachment? attachment = null)
    {
        await _writeGate.WaitAsync(cancellationToken);
        try
        {
            await using var connection = await OpenAsync(cancellationToken);
            await using var insert = connection.CreateCommand();
            insert.CommandText = $"""
                INSERT INTO messages (visitor_id, direction, text, created_at, state, stanza_id, seq, attachment_url, attachment_name, attachment_size, attachment_type)
                VALUES ($visitor, $direction, $text, $now, $state, $stanza, $seq, $url, $name, $size, $type)
                ON CONFLICT (visitor_id, direction, stanza_id) DO NOTHING
                RETURNING {MessageColumns}
                """;
            insert.Parameters.AddWithValue("$visitor", visitorId);
            insert.Parameters.AddWithValue("$direction", direction == Direction.Visitor ? "visitor" : "owner");
            insert.Parameters.AddWithValue("$text", text);
            insert.Parameters.AddWithValue("$now", Now());
            insert.Parameters.AddWithValue("$state", StateName(state));
            insert.Parameters.AddWithValue("$stanza", stanzaId);
            insert.Parameters.AddWithValue("$seq", _seq + 1);
            insert.Parameters.AddWithValue("$url", (object?)attachment?.Url ?? DBNull.Value);
            insert.Parameters.AddWithValue("$name", (object?)attachment?.Name ?? DBNull.Value);
            insert.Parameters.AddWithValue("$size", (object?)attachment?.Size ?? DBNull.Value);
            insert.Parameters.AddWithValue("$type", (object?)attachment?.Type ?? DBNull.Value);
            return await ApplyAndPublishAsync(insert, cancellationToken);
        }
        finally
        {
            _writeGate.Release();
        }
    }

    private async Task<ChatMessage?> AdvanceWhereAsync(string where, object key, MessageState state, CancellationToken cancellationToken, string? visitorId = null)
    {
        await _writeGate.WaitAsync(cancellationToken);
        try
        {
            await using var connection = await OpenAsync(cancellationToken);
            await using var update = connection.CreateCommand();

            // States only move forward, so a late "sent" never overwrites "delivered".
            update.CommandText = $"""
                UPDATE messages SET state = $state, seq = $seq
                WHERE {where} AND (CASE state WHEN 'pending' THEN 0 WHEN 'sent' THEN 1 ELSE 2 END) < $rank
                RETURNING {MessageColumns}
                """;
            update.Parameters.AddWithValue("$key", key);
            update.Parameters.AddWithValue("$visitor", (object?)visitorId ?? DBNull.Value);
            update.Parameters.AddWithValue("$state", StateName(state));
            update.Parameters.AddWithValue("$rank", (int)state);
            update.Parameters.AddWithValue("$seq", _seq + 1);
            return await ApplyAndPublishAsync(update, cancellationToken);
        }
        finally
        {
            _writeGate.Release();
        }
    }

    /// <summary>Runs a write that returns the changed row (numbered <c>_seq + 1</c>); on a change, takes that number and tells every tab. Call under the write gate.</summary>
    private async Task<ChatMessage?> ApplyAndPublishAsync(SqliteCommand command, CancellationToken cancellationToken)
    {
        var rows = await ReadMessagesAsync(command, cancellationToken);
        if (rows.Count == 0)
        {
            return null;
        }

        _seq++;
        _hub.PublishMessage(rows[0]);
        return rows[0];
    }

    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
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

    private static async Task<List<ChatMessage>> ReadMessagesAsync(SqliteCommand command, CancellationToken cancellationToken)
    {
        var list = new List<ChatMessage>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(new ChatMessage(
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
                    reader.IsDBNull(11) ? null : reader.GetString(11))));
        }

        return list;
    }

    private static Visitor ReadVisitor(SqliteDataReader reader)
        => new(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetInt64(4) != 0);

    internal static string StateName(MessageState state) => state switch
    {
        MessageState.Sent => "sent",
        MessageState.Delivered => "delivered",
        _ => "pending",
    };

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
