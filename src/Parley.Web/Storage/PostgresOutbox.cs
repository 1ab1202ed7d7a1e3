namespace Parley.Web.Storage;

/// <summary>
/// The outbox shared by every gateway on one PostgreSQL database. A claim is one short transaction: it takes the
/// oldest pending rows nobody else is claiming (<c>FOR UPDATE SKIP LOCKED</c>) of visitors whose messages no other
/// gateway is sending, takes or renews this gateway's <em>sender lease</em> on those visitors, and commits. The
/// messages are then sent with no transaction and no row lock open, and marked sent one by one. The lease (renewed
/// with each message marked) keeps a visitor's messages on one gateway's link while they flow, so a message sent over
/// one link is never overtaken by the next one sent over another.
/// </summary>
/// <remarks>
/// Delivery is at least once: a gateway that stops between sending a message and marking it, or
/// whose single send outlasts the lease, leaves it pending, and it is sent again.
/// </remarks>
internal sealed class PostgresOutbox(PostgresDatabase database, MessageRepository messages) : Outbox(messages)
{
    /// <summary>How long a visitor's messages keep going through the gateway that claimed or sent the last one.</summary>
    public static readonly TimeSpan SenderLease = TimeSpan.FromSeconds(10);

    private const string NowMs = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";

    // Lock the oldest pending rows nobody else holds, of visitors whose messages no other gateway is sending now, and
    // keep only those with no older pending message of the same visitor held by another claim, so one visitor's
    // messages still go out in order.
    private static readonly string s_claimSql = $"""
        WITH claimed AS (
            SELECT m.id FROM messages m
            WHERE m.state = 'pending'
              AND NOT EXISTS (SELECT 1 FROM visitor_senders s WHERE s.visitor_id = m.visitor_id AND s.gateway <> @me AND s.until_ms > {NowMs})
            ORDER BY m.id LIMIT @limit FOR UPDATE OF m SKIP LOCKED)
        SELECT {MessageRepository.Columns} FROM messages m
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

    private static readonly string s_renewSql = $"UPDATE visitor_senders SET until_ms = {NowMs} + @lease WHERE visitor_id = @visitor AND gateway = @me";

    private static long LeaseMs => (long)SenderLease.TotalMilliseconds;

    /// <inheritdoc/>
    public override Task<IReadOnlyList<ChatMessage>> ClaimAsync(int limit, CancellationToken cancellationToken) => database.GuardAsync<IReadOnlyList<ChatMessage>>(async () =>
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        List<ChatMessage> messages;
        await using (var select = StoreDatabase.Command(connection, transaction, s_claimSql, ("@limit", limit), ("@me", database.SenderId)))
        {
            messages = await MessageRepository.ReadAllAsync(select, cancellationToken);
        }

        if (messages.Count == 0)
        {
            return messages;
        }

        var leased = new HashSet<string>(StringComparer.Ordinal);
        await using (var lease = StoreDatabase.Command(connection, transaction, s_leaseSql,
            ("@me", database.SenderId), ("@lease", LeaseMs), ("@visitors", messages.Select(m => m.VisitorId).Distinct(StringComparer.Ordinal).ToArray())))
        await using (var reader = await lease.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                leased.Add(reader.GetString(0));
            }
        }

        // Committed before anything is sent: the row locks end here, the leases keep the visitors.
        await transaction.CommitAsync(cancellationToken);
        return messages.All(m => leased.Contains(m.VisitorId)) ? messages : [.. messages.Where(m => leased.Contains(m.VisitorId))];
    });

    /// <inheritdoc/>
    public override async Task MarkSentAsync(ChatMessage message, CancellationToken cancellationToken)
    {
        await base.MarkSentAsync(message, cancellationToken);
        await database.GuardAsync(async () =>
        {
            await using var connection = await database.OpenConnectionAsync(cancellationToken);
            await using var renew = StoreDatabase.Command(connection, null, s_renewSql, ("@lease", LeaseMs), ("@visitor", message.VisitorId), ("@me", database.SenderId));
            await renew.ExecuteNonQueryAsync(cancellationToken);
        });
    }
}
