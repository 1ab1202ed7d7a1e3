using System.Data.Common;
using System.Globalization;

namespace Parley.Web.Storage;

/// <summary>
/// One write that moves a run of a visitor's messages at once (a displayed marker makes earlier messages seen; a
/// receipt for a later message sends earlier ones again), each as its own change in the visitor's change order.
/// </summary>
internal sealed partial class MessageRepository
{
    /// <summary>
    /// Applies <paramref name="set"/> to the messages <paramref name="candidates"/> selects (ids, newest first), each with
    /// its own change number, oldest first.
    /// </summary>
    /// <returns>The messages that changed, in change order (empty when nothing did).</returns>
    private async Task<IReadOnlyList<ChatMessage>> MoveRunAsync(
        string visitorId, string candidates, (string, object?)[] parameters, string set, CancellationToken cancellationToken)
    {
        // A repeated marker or receipt changes nothing: find that out with a read, so only real changes take the write lock.
        var any = await database.GuardAsync(async () =>
        {
            await using var connection = await database.OpenConnectionAsync(cancellationToken);
            await using var probe = StoreDatabase.Command(connection, null, candidates, parameters);
            return await probe.ExecuteScalarAsync(cancellationToken) is not (null or DBNull);
        });
        return any ? await WriteRunAsync(visitorId, candidates, parameters, set, cancellationToken) : [];
    }

    private Task<IReadOnlyList<ChatMessage>> WriteRunAsync(string visitorId, string candidates, (string, object?)[] parameters, string set, CancellationToken cancellationToken)
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
                    connection, transaction, $"UPDATE messages SET {set}, seq = @seq WHERE id = @id RETURNING {Columns}", ("@seq", ++seq), ("@id", id));
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
