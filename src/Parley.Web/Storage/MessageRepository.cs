using System.Data.Common;
using System.Globalization;

namespace Parley.Web.Storage;

/// <summary>
/// The conversations: every visitor's and owner's message, its state, and the change numbers tabs catch up with. Each
/// committed change is announced through the <see cref="IChangeFeed"/>.
/// </summary>
/// <remarks>
/// Every message write is one transaction that first bumps <c>visitors.last_seq</c> (which locks the visitor's row)
/// and numbers the change with the result. So a visitor's changes commit in the order of their numbers, with no
/// gaps, whatever process writes them: a reader that has seen change N has seen every change before it.
/// All methods throw <see cref="ChatStoreException"/> when the database is unavailable or full.
/// </remarks>
internal sealed partial class MessageRepository(StoreDatabase database, IChangeFeed feed)
{
    /// <summary>The columns <see cref="Read"/> reads, in its order.</summary>
    internal const string Columns = "id, visitor_id, direction, text, created_at, state, stanza_id, seq, attachment_url, attachment_name, attachment_size, attachment_type, automatic, client_id, markable, resent";

    /// <summary>A message state as a number, for "only forward" comparisons (<see cref="Rank"/> in SQL).</summary>
    private const string StateRank = "(CASE state WHEN 'pending' THEN 0 WHEN 'sent' THEN 1 WHEN 'delivered' THEN 2 WHEN 'seen' THEN 3 ELSE 4 END)";

    /// <summary>Stores a visitor's message as pending (before anything is sent); the feed announces it.</summary>
    /// <exception cref="ChatStoreException">The database is unavailable or full: the message was not stored.</exception>
    /// <exception cref="InvalidOperationException">There is no such visitor.</exception>
    public async Task<ChatMessage> AddVisitorMessageAsync(string visitorId, string text, CancellationToken cancellationToken)
        => (await AddVisitorMessageAsync(visitorId, text, null, cancellationToken)).Message;

    /// <summary>
    /// Stores a visitor's message as pending, once per <paramref name="clientId"/>: when the visitor already has a message
    /// with that client id (the page retried a POST whose answer it lost), that message is returned and nothing is stored.
    /// </summary>
    /// <returns>The message, and whether it was stored now.</returns>
    /// <exception cref="ChatStoreException">The database is unavailable or full: the message was not stored.</exception>
    /// <exception cref="InvalidOperationException">There is no such visitor.</exception>
    public async Task<(ChatMessage Message, bool Created)> AddVisitorMessageAsync(string visitorId, string text, string? clientId, CancellationToken cancellationToken)
    {
        if (await InsertAsync(visitorId, Direction.Visitor, text, MessageState.Pending, NewVisitorStanzaId(), null, automatic: false, cancellationToken, clientId) is { } stored)
        {
            return (stored, true);
        }

        // Nothing stored: the client id is taken (a fresh stanza id cannot collide).
        var existing = clientId is null
            ? null
            : (await SelectAsync("visitor_id = @visitor AND client_id = @client", [("@visitor", visitorId), ("@client", clientId)], cancellationToken)).FirstOrDefault();
        return existing is not null
            ? (existing, false)
            : throw new InvalidOperationException("A fresh stanza id collided with a stored one.");
    }

    /// <summary>Stores a visitor's file as a pending message whose text is the download URL.</summary>
    /// <exception cref="ChatStoreException">The database is unavailable or full: nothing was stored.</exception>
    /// <exception cref="InvalidOperationException">There is no such visitor.</exception>
    public async Task<ChatMessage> AddVisitorFileAsync(string visitorId, Attachment attachment, CancellationToken cancellationToken)
        => await InsertAsync(visitorId, Direction.Visitor, attachment.Url, MessageState.Pending, NewVisitorStanzaId(), attachment, automatic: false, cancellationToken)
            ?? throw new InvalidOperationException("A fresh stanza id collided with a stored one.");

    /// <summary>
    /// Stores the owner's message (with the file it carries, if any); <see langword="null"/> when a message with that
    /// stanza id was already stored (a re-send).
    /// </summary>
    /// <exception cref="ChatStoreException">The database is unavailable or full: the message was not stored.</exception>
    /// <exception cref="InvalidOperationException">There is no such visitor.</exception>
    public Task<ChatMessage?> AddOwnerMessageAsync(string visitorId, string text, string stanzaId, Attachment? attachment, CancellationToken cancellationToken)
        => AddOwnerMessageAsync(visitorId, text, stanzaId, attachment, markable: false, cancellationToken);

    /// <summary>As above; <paramref name="markable"/>: the owner's client asked for chat markers (XEP-0333).</summary>
    /// <exception cref="ChatStoreException">The database is unavailable or full: the message was not stored.</exception>
    /// <exception cref="InvalidOperationException">There is no such visitor.</exception>
    public Task<ChatMessage?> AddOwnerMessageAsync(string visitorId, string text, string stanzaId, Attachment? attachment, bool markable, CancellationToken cancellationToken)
        => InsertAsync(visitorId, Direction.Owner, text, MessageState.Sent, stanzaId, attachment, automatic: false, cancellationToken, markable: markable);

    /// <inheritdoc cref="AddOwnerMessageAsync(string, string, string, Attachment?, CancellationToken)"/>
    public Task<ChatMessage?> AddOwnerMessageAsync(string visitorId, string text, string stanzaId, CancellationToken cancellationToken)
        => AddOwnerMessageAsync(visitorId, text, stanzaId, null, cancellationToken);

    /// <summary>Stores the gateway's automatic reply in the owner's name, marked <see cref="ChatMessage.Automatic"/>.</summary>
    /// <exception cref="ChatStoreException">The database is unavailable or full: the reply was not stored.</exception>
    /// <exception cref="InvalidOperationException">There is no such visitor.</exception>
    public Task<ChatMessage?> AddAutomaticReplyAsync(string visitorId, string text, CancellationToken cancellationToken)
        => InsertAsync(visitorId, Direction.Owner, text, MessageState.Sent, "auto-" + Parley.Xmpp.Stanzas.Stanza.NewId(), null, automatic: true, cancellationToken);

    /// <summary>Moves a visitor's message forward (pending → sent → delivered; never back); the feed announces the change.</summary>
    /// <exception cref="ChatStoreException">The database is unavailable or full.</exception>
    public Task<ChatMessage?> AdvanceAsync(long messageId, MessageState state, CancellationToken cancellationToken)
        => WriteAsync((connection, transaction) => WriteChangeAsync(
            connection,
            transaction,
            "UPDATE visitors SET last_seq = last_seq + 1 WHERE id = (SELECT visitor_id FROM messages WHERE id = @message) RETURNING last_seq",
            ("@message", messageId),
            AdvanceSql("id = @key"),
            [("@key", messageId), ("@state", StateName(state)), ("@rank", Rank(state))],
            cancellationToken), cancellationToken);

    /// <summary>Marks the visitor's message with this stanza id delivered (the owner's client sent a receipt).</summary>
    /// <exception cref="ChatStoreException">The database is unavailable or full.</exception>
    public Task<ChatMessage?> MarkDeliveredAsync(string visitorId, string stanzaId, CancellationToken cancellationToken)
        => WriteAsync((connection, transaction) => WriteChangeAsync(
            connection,
            transaction,
            NextSeqOfVisitor,
            ("@visitor", visitorId),
            AdvanceSql("visitor_id = @visitor AND direction = 'visitor' AND stanza_id = @key"),
            [("@key", stanzaId), ("@visitor", visitorId), ("@state", StateName(MessageState.Delivered)), ("@rank", Rank(MessageState.Delivered))],
            cancellationToken), cancellationToken);

    /// <summary>
    /// Marks the visitor's message with this stanza id undelivered: the owner's server bounced it. Only a message not yet
    /// delivered changes, and nothing moves it on afterwards.
    /// </summary>
    /// <exception cref="ChatStoreException">The database is unavailable or full.</exception>
    public Task<ChatMessage?> MarkUndeliveredAsync(string visitorId, string stanzaId, CancellationToken cancellationToken)
        => WriteAsync((connection, transaction) => WriteChangeAsync(
            connection,
            transaction,
            NextSeqOfVisitor,
            ("@visitor", visitorId),
            AdvanceSql("visitor_id = @visitor AND direction = 'visitor' AND stanza_id = @key AND state IN ('pending', 'sent')"),
            [("@key", stanzaId), ("@visitor", visitorId), ("@state", StateName(MessageState.Undelivered)), ("@rank", Rank(MessageState.Undelivered))],
            cancellationToken), cancellationToken);

    /// <summary>A page of the visitor's conversation in id order: the newest <paramref name="limit"/> messages, or those before <paramref name="beforeId"/>.</summary>
    /// <exception cref="ChatStoreException">The database is unavailable.</exception>
    public Task<IReadOnlyList<ChatMessage>> GetHistoryAsync(string visitorId, long? beforeId, int limit, CancellationToken cancellationToken)
        => GetHistoryAsync(visitorId, beforeId, limit, 0, cancellationToken);

    /// <summary>A page of the visitor's current conversation: as above, only messages after <paramref name="afterId"/> (where the owner ended the last one).</summary>
    /// <exception cref="ChatStoreException">The database is unavailable.</exception>
    public async Task<IReadOnlyList<ChatMessage>> GetHistoryAsync(string visitorId, long? beforeId, int limit, long afterId, CancellationToken cancellationToken)
    {
        var page = await SelectAsync(
            "visitor_id = @visitor AND id < @before AND id > @floor ORDER BY id DESC LIMIT @limit",
            [("@visitor", visitorId), ("@before", beforeId ?? long.MaxValue), ("@floor", afterId), ("@limit", limit)],
            cancellationToken);
        page.Reverse();
        return page;
    }

    /// <summary>The visitor's messages that were stored or changed after <paramref name="afterSeq"/>, in change order.</summary>
    /// <exception cref="ChatStoreException">The database is unavailable.</exception>
    public Task<List<ChatMessage>> GetChangesAsync(string visitorId, long afterSeq, int limit, CancellationToken cancellationToken)
        => GetChangesAsync(visitorId, afterSeq, limit, 0, cancellationToken);

    /// <summary>As above, only for messages after <paramref name="afterId"/> (the visitor's current conversation).</summary>
    /// <exception cref="ChatStoreException">The database is unavailable.</exception>
    public Task<List<ChatMessage>> GetChangesAsync(string visitorId, long afterSeq, int limit, long afterId, CancellationToken cancellationToken)
        => SelectAsync(
            "visitor_id = @visitor AND seq > @after AND id > @floor ORDER BY seq LIMIT @limit",
            [("@visitor", visitorId), ("@after", afterSeq), ("@floor", afterId), ("@limit", limit)],
            cancellationToken);

    /// <summary>The message that change <paramref name="seq"/> of the visitor produced, or <see langword="null"/> when a later change superseded it.</summary>
    /// <exception cref="ChatStoreException">The database is unavailable.</exception>
    public async Task<ChatMessage?> GetChangeAsync(string visitorId, long seq, CancellationToken cancellationToken)
        => (await SelectAsync("visitor_id = @visitor AND seq = @seq", [("@visitor", visitorId), ("@seq", seq)], cancellationToken)).FirstOrDefault();

    /// <summary>The oldest visitor messages still waiting to be sent, in the order they were written (a read: nothing is claimed).</summary>
    /// <exception cref="ChatStoreException">The database is unavailable.</exception>
    public Task<List<ChatMessage>> GetPendingAsync(int limit, CancellationToken cancellationToken)
        => SelectAsync("state = 'pending' ORDER BY id LIMIT @limit", [("@limit", limit)], cancellationToken);

    /// <summary>The state's name in the database and on the page.</summary>
    internal static string StateName(MessageState state) => state switch
    {
        MessageState.Sent => "sent",
        MessageState.Delivered => "delivered",
        MessageState.Undelivered => "undelivered",
        MessageState.Seen => "seen",
        _ => "pending",
    };

    /// <summary>The order states move in (<see cref="StateRank"/> in SQL): undelivered is last, so nothing moves a bounced message on.</summary>
    private static int Rank(MessageState state) => state switch
    {
        MessageState.Pending => 0,
        MessageState.Sent => 1,
        MessageState.Delivered => 2,
        MessageState.Seen => 3,
        _ => 4,
    };

    /// <summary>Reads every row of <paramref name="command"/> as a message (<see cref="Columns"/> order).</summary>
    internal static async Task<List<ChatMessage>> ReadAllAsync(DbCommand command, CancellationToken cancellationToken)
    {
        var list = new List<ChatMessage>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(Read(reader));
        }

        return list;
    }

    private const string NextSeqOfVisitor = "UPDATE visitors SET last_seq = last_seq + 1 WHERE id = @visitor RETURNING last_seq";

    private static string NewVisitorStanzaId() => "web-" + Parley.Xmpp.Stanzas.Stanza.NewId();

    private Task<List<ChatMessage>> SelectAsync(string where, (string, object?)[] parameters, CancellationToken cancellationToken) => database.GuardAsync(async () =>
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var select = StoreDatabase.Command(connection, null, $"SELECT {Columns} FROM messages WHERE {where}", parameters);
        return await ReadAllAsync(select, cancellationToken);
    });

    private Task<ChatMessage?> InsertAsync(
        string visitorId, Direction direction, string text, MessageState state, string stanzaId, Attachment? attachment, bool automatic, CancellationToken cancellationToken,
        string? clientId = null, bool markable = false)
        => WriteAsync((connection, transaction) => WriteChangeAsync(
            connection,
            transaction,
            NextSeqOfVisitor,
            ("@visitor", visitorId),
            $"""
            INSERT INTO messages (visitor_id, direction, text, created_at, state, stanza_id, seq, attachment_url, attachment_name, attachment_size, attachment_type, automatic, client_id, markable)
            VALUES (@visitor, @direction, @text, @now, @state, @stanza, @seq, @url, @name, @size, @type, @automatic, @client, @markable)
            ON CONFLICT DO NOTHING
            RETURNING {Columns}
            """,
            [
                ("@visitor", visitorId), ("@direction", direction == Direction.Visitor ? "visitor" : "owner"), ("@text", text), ("@now", database.Now()), ("@state", StateName(state)), ("@stanza", stanzaId),
                ("@url", attachment?.Url), ("@name", attachment?.Name), ("@size", attachment?.Size), ("@type", attachment?.Type), ("@automatic", automatic ? 1 : 0),
                ("@client", clientId), ("@markable", markable ? 1 : 0),
            ],
            cancellationToken), cancellationToken);

    /// <summary>Opens, begins, runs <paramref name="write"/>, announces, commits and tells the feed; rolls back when it changed nothing.</summary>
    private Task<ChatMessage?> WriteAsync(Func<DbConnection, DbTransaction, Task<ChatMessage?>> write, CancellationToken cancellationToken)
        => database.RunWriteAsync(() => database.GuardAsync(async () =>
        {
            await using var connection = await database.OpenConnectionAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            var change = await write(connection, transaction);
            if (change is null)
            {
                await transaction.RollbackAsync(cancellationToken);
                return null;
            }

            await feed.AnnounceAsync(connection, transaction, change, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            feed.Committed(change);
            return change;
        }), cancellationToken);

    /// <summary>
    /// Takes the visitor's next change number with <paramref name="nextSeq"/> (locking the visitor's row until the
    /// transaction ends) and runs <paramref name="sql"/> with it as <c>@seq</c>; returns the changed row, or
    /// <see langword="null"/> when nothing changed (the caller rolls back, so the number is not used up).
    /// </summary>
    private static async Task<ChatMessage?> WriteChangeAsync(
        DbConnection connection, DbTransaction transaction, string nextSeq, (string, object?) key, string sql, (string, object?)[] parameters, CancellationToken cancellationToken)
    {
        long seq;
        await using (var next = StoreDatabase.Command(connection, transaction, nextSeq, key))
        {
            var value = await next.ExecuteScalarAsync(cancellationToken);
            if (value is null or DBNull)
            {
                return nextSeq == NextSeqOfVisitor
                    ? throw new InvalidOperationException($"There is no visitor '{key.Item2}'.")
                    : null;
            }

            seq = Convert.ToInt64(value, CultureInfo.InvariantCulture);
        }

        await using var write = StoreDatabase.Command(connection, transaction, sql, [.. parameters, ("@seq", seq)]);
        return (await ReadAllAsync(write, cancellationToken)).FirstOrDefault();
    }

    /// <summary>The update of <see cref="AdvanceAsync"/> and <see cref="MarkDeliveredAsync"/>: states only move forward, so a late "sent" never overwrites "delivered".</summary>
    private static string AdvanceSql(string where) => $"""
        UPDATE messages SET state = @state, seq = @seq
        WHERE {where} AND {StateRank} < @rank
        RETURNING {Columns}
        """;

    private static ChatMessage Read(DbDataReader reader) => new(
        reader.GetInt64(0),
        reader.GetString(1),
        reader.GetString(2) == "owner" ? Direction.Owner : Direction.Visitor,
        reader.GetString(3),
        DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4)),
        reader.GetString(5) switch
        {
            "sent" => MessageState.Sent,
            "delivered" => MessageState.Delivered,
            "undelivered" => MessageState.Undelivered,
            "seen" => MessageState.Seen,
            _ => MessageState.Pending,
        },
        reader.GetString(6),
        reader.GetInt64(7),
        reader.IsDBNull(8) ? null : new Attachment(
            reader.GetString(8),
            reader.IsDBNull(9) ? "file" : reader.GetString(9),
            reader.IsDBNull(10) ? null : reader.GetInt64(10),
            reader.IsDBNull(11) ? null : reader.GetString(11)),
        Convert.ToInt64(reader.GetValue(12), CultureInfo.InvariantCulture) != 0,
        reader.IsDBNull(13) ? null : reader.GetString(13),
        Convert.ToInt64(reader.GetValue(14), CultureInfo.InvariantCulture) != 0,
        Convert.ToInt64(reader.GetValue(15), CultureInfo.InvariantCulture) != 0);
}
