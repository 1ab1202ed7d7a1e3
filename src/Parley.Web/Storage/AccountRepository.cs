using System.Data.Common;
using System.Globalization;

namespace Parley.Web.Storage;

/// <summary>Visitors' real accounts on the owner's server (account mode), with passwords after ASP.NET Data Protection.</summary>
internal sealed class AccountRepository(StoreDatabase database)
{
    private const string Columns = "visitor_id, jid, protected_password, provisioned";

    /// <summary>The visitor's account, or <see langword="null"/> when none was made yet.</summary>
    /// <exception cref="ChatStoreException">The database is unavailable.</exception>
    public Task<VisitorAccount?> FindAsync(string visitorId, CancellationToken cancellationToken) => database.GuardAsync(async () =>
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        return await ReadAsync(connection, visitorId, cancellationToken);
    });

    /// <summary>
    /// Records the visitor's account before it is created on the server, so a crash in between cannot leave an account
    /// whose password nobody knows; when one is recorded already (another gateway was faster), returns that one.
    /// </summary>
    /// <exception cref="ChatStoreException">The database is unavailable or full.</exception>
    public Task<VisitorAccount> GetOrAddAsync(string visitorId, string jid, string protectedPassword, CancellationToken cancellationToken) => database.GuardAsync(async () =>
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using (var insert = StoreDatabase.Command(connection, null, """
            INSERT INTO visitor_accounts (visitor_id, jid, protected_password, created_at) VALUES (@visitor, @jid, @password, @now)
            ON CONFLICT (visitor_id) DO NOTHING
            """,
            ("@visitor", visitorId), ("@jid", jid), ("@password", protectedPassword), ("@now", database.Now())))
        {
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        return await ReadAsync(connection, visitorId, cancellationToken) ?? throw new InvalidOperationException("The account insert left no row.");
    });

    /// <summary>Records that the visitor's account exists on the server with the recorded password.</summary>
    /// <exception cref="ChatStoreException">The database is unavailable or full.</exception>
    public Task MarkProvisionedAsync(string visitorId, CancellationToken cancellationToken) => database.GuardAsync(async () =>
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var update = StoreDatabase.Command(connection, null, "UPDATE visitor_accounts SET provisioned = 1 WHERE visitor_id = @visitor", ("@visitor", visitorId));
        await update.ExecuteNonQueryAsync(cancellationToken);
    });

    private static async Task<VisitorAccount?> ReadAsync(DbConnection connection, string visitorId, CancellationToken cancellationToken)
    {
        await using var select = StoreDatabase.Command(connection, null, $"SELECT {Columns} FROM visitor_accounts WHERE visitor_id = @visitor", ("@visitor", visitorId));
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new VisitorAccount(reader.GetString(0), reader.GetString(1), reader.GetString(2), Convert.ToInt64(reader.GetValue(3), CultureInfo.InvariantCulture) != 0)
            : null;
    }
}
