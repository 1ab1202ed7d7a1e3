using System.Data.Common;
using System.Globalization;

namespace Parley.Web.Storage;

/// <summary>What the visitor's page needs to know of the owner's controls: blocked, and where the current conversation starts.</summary>
/// <param name="Blocked">The owner blocked this visitor: the page says the conversation is closed and nothing is sent.</param>
/// <param name="EndedAfter">The last message of the conversation the owner ended (0: none ended); the page shows only later ones.</param>
internal sealed record VisitorStanding(bool Blocked, long EndedAfter);

/// <summary>A visitor as the owner's "active visitors" command lists them.</summary>
/// <param name="Id">The visitor id (their JID's localpart).</param>
/// <param name="DisplayName">The name the visitor signed in with.</param>
/// <param name="Issuer">Who vouched for the identity: <c>guest</c>, or the provider's issuer.</param>
/// <param name="Email">The e-mail address the provider verified, when it gave one.</param>
/// <param name="Since">When the visitor last signed in.</param>
/// <param name="Page">The page the visitor opened the chat from, when the widget passed it.</param>
/// <param name="Unanswered">The visitor's messages in the current conversation after the owner's last own reply.</param>
/// <param name="Blocked">Whether the owner blocked the visitor.</param>
/// <param name="Address">The address the visitor last came from.</param>
internal sealed record VisitorSummary(
    string Id, string DisplayName, string Issuer, string? Email, DateTimeOffset Since, string? Page, int Unanswered, bool Blocked, string? Address);

/// <summary>A guest's address that may not sign in as a guest until <see cref="Until"/>.</summary>
internal sealed record AddressBlock(string Address, string? VisitorId, DateTimeOffset Until);

/// <summary>
/// The owner's controls in the store: blocked visitors and guest addresses, ended conversations, what a visitor's last
/// visit told about them, and gateway settings such as the away message.
/// </summary>
/// <remarks>All methods throw <see cref="ChatStoreException"/> when the database is unavailable or full.</remarks>
internal sealed class OwnerControlRepository(StoreDatabase database)
{
    /// <summary>The setting that holds the away message.</summary>
    public const string AwayMessageSetting = "away_message";

    private const string SummaryColumns = """
        v.id, v.display_name, v.issuer, v.email,
        COALESCE((SELECT MAX(s.created_at) FROM sessions s WHERE s.visitor_id = v.id), v.created_at),
        v.last_page,
        (SELECT COUNT(*) FROM messages m WHERE m.visitor_id = v.id AND m.direction = 'visitor' AND m.id > v.ended_after
            AND m.id > COALESCE((SELECT MAX(o.id) FROM messages o WHERE o.visitor_id = v.id AND o.direction = 'owner' AND o.automatic = 0), 0)),
        v.blocked_at,
        v.last_address
        """;

    /// <summary>The visitor's standing, or <see langword="null"/> when there is no such visitor.</summary>
    public Task<VisitorStanding?> GetStandingAsync(string visitorId, CancellationToken cancellationToken) => database.GuardAsync(async () =>
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var select = StoreDatabase.Command(connection, null, "SELECT blocked_at, ended_after FROM visitors WHERE id = @id", ("@id", visitorId));
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new VisitorStanding(!reader.IsDBNull(0), Convert.ToInt64(reader.GetValue(1), CultureInfo.InvariantCulture))
            : null;
    });

    /// <summary>Records that the visitor is here (a tab opened, a sign-in) and what the visit told; a null value keeps the stored one.</summary>
    public Task RecordVisitAsync(string visitorId, string? address, string? page, string? email, CancellationToken cancellationToken) => database.GuardAsync(async () =>
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var update = StoreDatabase.Command(
            connection,
            null,
            """
            UPDATE visitors SET seen_at = @now, last_address = COALESCE(@address, last_address), last_page = COALESCE(@page, last_page), email = COALESCE(@email, email)
            WHERE id = @id
            """,
            ("@id", visitorId), ("@now", database.Now()), ("@address", address), ("@page", page), ("@email", email));
        await update.ExecuteNonQueryAsync(cancellationToken);
    });

    /// <summary>
    /// The visitors seen since <paramref name="seenSince"/> and those in <paramref name="alsoIds"/> (tabs open now), most
    /// recently seen first, at most <paramref name="limit"/>.
    /// </summary>
    public Task<List<VisitorSummary>> ListActiveAsync(DateTimeOffset seenSince, IReadOnlyCollection<string> alsoIds, int limit, CancellationToken cancellationToken)
        => database.GuardAsync(async () =>
        {
            await using var connection = await database.OpenConnectionAsync(cancellationToken);
            var found = new List<VisitorSummary>();
            await using (var recent = StoreDatabase.Command(
                connection, null, $"SELECT {SummaryColumns} FROM visitors v WHERE v.seen_at >= @since ORDER BY v.seen_at DESC LIMIT @limit", ("@since", seenSince.ToUnixTimeMilliseconds()), ("@limit", limit)))
            {
                found.AddRange(await ReadSummariesAsync(recent, cancellationToken));
            }

            foreach (var id in alsoIds)
            {
                if (found.Count >= limit)
                {
                    break;
                }

                if (found.Exists(v => v.Id == id))
                {
                    continue;
                }

                await using var one = StoreDatabase.Command(connection, null, $"SELECT {SummaryColumns} FROM visitors v WHERE v.id = @id", ("@id", id));
                found.AddRange(await ReadSummariesAsync(one, cancellationToken));
            }

            return found;
        });

    /// <summary>One visitor's summary, or <see langword="null"/>.</summary>
    public Task<VisitorSummary?> FindSummaryAsync(string visitorId, CancellationToken cancellationToken) => database.GuardAsync(async () =>
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var one = StoreDatabase.Command(connection, null, $"SELECT {SummaryColumns} FROM visitors v WHERE v.id = @id", ("@id", visitorId));
        return (await ReadSummariesAsync(one, cancellationToken)).FirstOrDefault();
    });

    /// <summary>The blocked visitors, most recently blocked first, at most <paramref name="limit"/>.</summary>
    public Task<List<VisitorSummary>> ListBlockedAsync(int limit, CancellationToken cancellationToken) => database.GuardAsync(async () =>
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var select = StoreDatabase.Command(
            connection, null, $"SELECT {SummaryColumns} FROM visitors v WHERE v.blocked_at IS NOT NULL ORDER BY v.blocked_at DESC LIMIT @limit", ("@limit", limit));
        return await ReadSummariesAsync(select, cancellationToken);
    });

    /// <summary>Blocks or unblocks a visitor (the identity: a new sign-in with it finds the same visitor); false when there is no such visitor.</summary>
    public Task<bool> SetBlockedAsync(string visitorId, bool blocked, CancellationToken cancellationToken) => database.GuardAsync(async () =>
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var update = StoreDatabase.Command(
            connection, null, "UPDATE visitors SET blocked_at = @at WHERE id = @id", ("@id", visitorId), ("@at", blocked ? database.Now() : null));
        return await update.ExecuteNonQueryAsync(cancellationToken) == 1;
    });

    /// <summary>Keeps guests from signing in from <paramref name="address"/> until <paramref name="until"/>.</summary>
    public Task BlockAddressAsync(string address, string? visitorId, DateTimeOffset until, CancellationToken cancellationToken) => database.GuardAsync(async () =>
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var upsert = StoreDatabase.Command(
            connection,
            null,
            """
            INSERT INTO address_blocks (address, visitor_id, until_ms) VALUES (@address, @visitor, @until)
            ON CONFLICT (address) DO UPDATE SET visitor_id = excluded.visitor_id, until_ms = excluded.until_ms
            """,
            ("@address", address), ("@visitor", visitorId), ("@until", until.ToUnixTimeMilliseconds()));
        await upsert.ExecuteNonQueryAsync(cancellationToken);
    });

    /// <summary>Lifts an address block; false when there was none.</summary>
    public Task<bool> UnblockAddressAsync(string address, CancellationToken cancellationToken) => database.GuardAsync(async () =>
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var delete = StoreDatabase.Command(connection, null, "DELETE FROM address_blocks WHERE address = @address", ("@address", address));
        return await delete.ExecuteNonQueryAsync(cancellationToken) == 1;
    });

    /// <summary>Whether guests from this address are blocked now.</summary>
    public Task<bool> IsAddressBlockedAsync(string address, CancellationToken cancellationToken) => database.GuardAsync(async () =>
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var select = StoreDatabase.Command(
            connection, null, "SELECT 1 FROM address_blocks WHERE address = @address AND until_ms > @now", ("@address", address), ("@now", database.Now()));
        return await select.ExecuteScalarAsync(cancellationToken) is not (null or DBNull);
    });

    /// <summary>The address blocks still in force, soonest to end first, at most <paramref name="limit"/>.</summary>
    public Task<List<AddressBlock>> ListAddressBlocksAsync(int limit, CancellationToken cancellationToken) => database.GuardAsync(async () =>
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var select = StoreDatabase.Command(
            connection, null, "SELECT address, visitor_id, until_ms FROM address_blocks WHERE until_ms > @now ORDER BY until_ms LIMIT @limit", ("@now", database.Now()), ("@limit", limit));
        var list = new List<AddressBlock>();
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(new AddressBlock(reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2))));
        }

        return list;
    });

    /// <summary>
    /// Ends the visitor's current conversation: their page shows only messages after the last one stored now. Returns
    /// that message's id (0 when there were none), or <see langword="null"/> when there is no such visitor.
    /// </summary>
    public Task<long?> EndConversationAsync(string visitorId, CancellationToken cancellationToken) => database.GuardAsync(async () =>
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var update = StoreDatabase.Command(
            connection,
            null,
            "UPDATE visitors SET ended_after = COALESCE((SELECT MAX(id) FROM messages WHERE visitor_id = @id), 0) WHERE id = @id RETURNING ended_after",
            ("@id", visitorId));
        return await update.ExecuteScalarAsync(cancellationToken) is { } value and not DBNull ? Convert.ToInt64(value, CultureInfo.InvariantCulture) : (long?)null;
    });

    /// <summary>A gateway setting, or <see langword="null"/> when unset.</summary>
    public Task<string?> GetSettingAsync(string name, CancellationToken cancellationToken) => database.GuardAsync(async () =>
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var select = StoreDatabase.Command(connection, null, "SELECT value FROM gateway_settings WHERE name = @name", ("@name", name));
        return await select.ExecuteScalarAsync(cancellationToken) as string;
    });

    /// <summary>Sets a gateway setting; <see langword="null"/> removes it.</summary>
    public Task SetSettingAsync(string name, string? value, CancellationToken cancellationToken) => database.GuardAsync(async () =>
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var write = value is null
            ? StoreDatabase.Command(connection, null, "DELETE FROM gateway_settings WHERE name = @name", ("@name", name))
            : StoreDatabase.Command(
                connection,
                null,
                "INSERT INTO gateway_settings (name, value) VALUES (@name, @value) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                ("@name", name), ("@value", value));
        await write.ExecuteNonQueryAsync(cancellationToken);
    });

    private static async Task<List<VisitorSummary>> ReadSummariesAsync(DbCommand command, CancellationToken cancellationToken)
    {
        var list = new List<VisitorSummary>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(new VisitorSummary(
                reader.GetString(0),
                reader.GetString(1),
                reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetString(3),
                DateTimeOffset.FromUnixTimeMilliseconds(Convert.ToInt64(reader.GetValue(4), CultureInfo.InvariantCulture)),
                reader.IsDBNull(5) ? null : reader.GetString(5),
                Convert.ToInt32(reader.GetValue(6), CultureInfo.InvariantCulture),
                !reader.IsDBNull(7),
                reader.IsDBNull(8) ? null : reader.GetString(8)));
        }

        return list;
    }
}
