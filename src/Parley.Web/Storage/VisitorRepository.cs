using System.Data.Common;
using System.Security.Cryptography;

namespace Parley.Web.Storage;

/// <summary>Visitors: one per identity (issuer + subject), with a stable random id that is also their JID's localpart.</summary>
/// <remarks>All methods throw <see cref="ChatStoreException"/> when the database is unavailable or full.</remarks>
internal sealed class VisitorRepository(StoreDatabase database)
{
    /// <summary>The columns <see cref="Read"/> reads, in its order.</summary>
    internal const string Columns = "id, issuer, subject, display_name, subscription_requested";

    /// <summary>Finds the visitor of an identity, or creates one with a fresh random id; keeps the display name current.</summary>
    /// <exception cref="ChatStoreException">The database is unavailable or full.</exception>
    public Task<Visitor> GetOrCreateAsync(string issuer, string subject, string displayName, CancellationToken cancellationToken) => database.GuardAsync(async () =>
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var upsert = StoreDatabase.Command(connection, null, $"""
            INSERT INTO visitors (id, issuer, subject, display_name, created_at) VALUES (@id, @issuer, @subject, @name, @now)
            ON CONFLICT (issuer, subject) DO UPDATE SET display_name = excluded.display_name
            RETURNING {Columns}
            """,
            ("@id", NewVisitorId()), ("@issuer", issuer), ("@subject", subject), ("@name", displayName), ("@now", database.Now()));
        await using var reader = await upsert.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : throw new InvalidOperationException("The visitor upsert returned no row.");
    });

    /// <summary>The visitor with this id, or <see langword="null"/>.</summary>
    /// <exception cref="ChatStoreException">The database is unavailable.</exception>
    public Task<Visitor?> FindAsync(string id, CancellationToken cancellationToken) => database.GuardAsync(async () =>
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var select = StoreDatabase.Command(connection, null, $"SELECT {Columns} FROM visitors WHERE id = @id", ("@id", id));
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    });

    /// <summary>Records that the owner was asked once to subscribe to this visitor; returns whether this call was the first.</summary>
    /// <exception cref="ChatStoreException">The database is unavailable or full.</exception>
    public Task<bool> MarkSubscriptionRequestedAsync(string visitorId, CancellationToken cancellationToken) => database.GuardAsync(async () =>
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var update = StoreDatabase.Command(connection, null, "UPDATE visitors SET subscription_requested = 1 WHERE id = @id AND subscription_requested = 0", ("@id", visitorId));
        return await update.ExecuteNonQueryAsync(cancellationToken) == 1;
    });

    /// <summary>Reads a visitor row (<see cref="Columns"/> order).</summary>
    internal static Visitor Read(DbDataReader reader)
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
}
