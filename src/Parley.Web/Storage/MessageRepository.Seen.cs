using System.Data.Common;
using System.Globalization;

namespace Parley.Web.Storage;

/// <summary>
/// "Seen" both ways (XEP-0333): a displayed marker names one message and says every earlier one of the chat was
/// displayed too, so one write moves a run of messages to <see cref="MessageState.Seen"/>, each as its own change.
/// </summary>
internal sealed partial class MessageRepository
{
    /// <summary>
    /// How many earlier messages one marker moves at most: the newest ones. A long conversation never marked before keeps
    /// its older messages as they were rather than making one write unbounded.
    /// </summary>
    internal const int MaxSeenPerMarker = 200;

    /// <summary>
    /// The owner's client displayed the visitor's message with this stanza id: it and the visitor's earlier messages
    /// become seen (never a bounced one, never backwards). A stanza id the visitor has no message with changes nothing.
    /// </summary>
    /// <returns>The messages that changed, in change order (empty when nothing did).</returns>
    /// <exception cref="ChatStoreException">The database is unavailable or full.</exception>
    public Task<IReadOnlyList<ChatMessage>> MarkSeenAsync(string visitorId, string stanzaId, CancellationToken cancellationToken)
        => MarkSeenThroughAsync(visitorId, "visitor", "stanza_id = @key", stanzaId, cancellationToken);

    /// <summary>
    /// A tab of the visitor showed the owner's message with this id: it and the owner's earlier messages become seen.
    /// Only the first call for a message changes it, so whoever gets it back tells the owner's client, once.
    /// </summary>
    /// <returns>The messages that changed, in change order (empty when nothing did).</returns>
    /// <exception cref="ChatStoreException">The database is unavailable or full.</exception>
    public Task<IReadOnlyList<ChatMessage>> MarkShownAsync(string visitorId, long messageId, CancellationToken cancellationToken)
        => MarkSeenThroughAsync(visitorId, "owner", "id = @key", messageId, cancellationToken);

    private async Task<IReadOnlyList<ChatMessage>> MarkSeenThroughAsync(string visitorId, string direction, string target, object key, CancellationToken cancellationToken)
    {
        // What a marker would change, newest first: the named message (never a bounced one) and those before it.
        var candidates = $"""
            SELECT id FROM messages
            WHERE visitor_id = @visitor AND direction = @direction AND state IN ('pending', 'sent', 'delivered')
              AND id <= (SELECT id FROM messages WHERE visitor_id = @visitor AND direction = @direction AND {target} AND state <> 'undelivered')
            ORDER BY id DESC LIMIT @limit
            """;
        (string, object?)[] parameters = [("@visitor", visitorId), ("@direction", direction), ("@key", key), ("@limit", MaxSeenPerMarker)];

        // A repeated marker or report changes nothing: find that out with a read, so only real changes take the write lock.
        var any = await database.GuardAsync(async () =>
        {
            await using var connection = await database.OpenConnectionAsync(cancellationToken);
            await using var probe = StoreDatabase.Command(connection, null, candidates, parameters);
            return await probe.ExecuteScalarAsync(cancellationToken) is not (null or DBNull);
        });
        return any ? await WriteSeenAsync(visitorId, candidates, parameters, cancellationToken) : [];
    }

    private Task<IReadOnlyList<ChatMessage>> WriteSeenAsync(string visitorId, string candidates, (string, object?)[] parameters, CancellationToken cancellationToken)
        => database.RunWriteAsync(() => database.GuardAsync<IReadOnlyList<ChatMessage>>(async () =>
        {
            await using var connection = await database.OpenConnectionAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

            // Lock the visitor's row first (an update that changes nothing still locks it), so the rows read below cannot
            // change before they are numbered: no change number is taken and then left unused.
            if (await ScalarAsync(connection, transaction, "UPDATE visitors SET last_seq = last_seq WHERE id = @visitor RETURNING last_seq", cancellationToken, ("@visitor", visitorId)) is null)
            {
                await transaction.RollbackAsync(cancellationToken);
                return [];
            }

            var ids = new List<long>();
            await using (var select = StoreDatabase.Command(connection, transaction, candidates, parameters))
            {
                await using var reader = await select.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    ids.Add(reader.GetInt64(0));
                }
            }

            if (ids.Count == 0)
            {
                await transaction.RollbackAsync(cancellationToken);
                return [];
            }

            ids.Reverse();
            var last = Convert.ToInt64(
                await ScalarAsync(connection, transaction, "UPDATE visitors SET last_seq = last_seq + @count WHERE id = @visitor RETURNING last_seq", cancellationToken, ("@visitor", visitorId), ("@count", ids.Count)),
                CultureInfo.InvariantCulture);
            var changes = new List<ChatMessage>(ids.Count);
            var seq = last - ids.Count;
            foreach (var id in ids)
            {
                await using var update = StoreDatabase.Command(
                    connection, transaction, $"UPDATE messages SET state = 'seen', seq = @seq WHERE id = @id RETURNING {Columns}", ("@seq", ++seq), ("@id", id));
                var change = (await ReadAllAsync(update, cancellationToken)).Single();
                await feed.AnnounceAsync(connection, transaction, change, cancellationToken);
                changes.Add(change);
            }

            await transaction.CommitAsync(cancellationToken);
            foreach (var change in changes)
            {
                feed.Committed(change);
            }

            return changes;
        }), cancellationToken);

    private static async Task<object?> ScalarAsync(
        DbConnection connection, DbTransaction transaction, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var command = StoreDatabase.Command(connection, transaction, sql, parameters);
        var value = await command.ExecuteScalarAsync(cancellationToken);
        return value is DBNull ? null : value;
    }
}
