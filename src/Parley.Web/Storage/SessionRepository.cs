using System.Security.Cryptography;

namespace Parley.Web.Storage;

/// <summary>Sign-in sessions: the auth cookie names one, and its visitor is read from here on every request.</summary>
internal sealed class SessionRepository(StoreDatabase database)
{
    /// <summary>Starts a sign-in session; returns its random id.</summary>
    /// <exception cref="ChatStoreException">The database is unavailable or full.</exception>
    public Task<string> CreateAsync(string visitorId, CancellationToken cancellationToken) => database.GuardAsync(async () =>
    {
        var id = Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)).Replace('+', '-').Replace('/', '_');
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var insert = StoreDatabase.Command(connection, null, "INSERT INTO sessions (id, visitor_id, created_at) VALUES (@id, @visitor, @now)",
            ("@id", id), ("@visitor", visitorId), ("@now", database.Now()));
        await insert.ExecuteNonQueryAsync(cancellationToken);
        return id;
    });

    /// <summary>
    /// The visitor a sign-in session belongs to, or <see langword="null"/> when there is no such session or it was ended.
    /// The auth cookie carries only the session id; this is where its claims come from on every request.
    /// </summary>
    /// <exception cref="ChatStoreException">The database is unavailable.</exception>
    public Task<Visitor?> FindVisitorAsync(string sessionId, CancellationToken cancellationToken) => database.GuardAsync(async () =>
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var select = StoreDatabase.Command(connection, null, """
            SELECT v.id, v.issuer, v.subject, v.display_name, v.subscription_requested
            FROM sessions s JOIN visitors v ON v.id = s.visitor_id
            WHERE s.id = @id AND s.ended_at IS NULL
            """,
            ("@id", sessionId));
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? VisitorRepository.Read(reader) : null;
    });

    /// <summary>Ends a session: its cookie is refused from now on, even if someone kept a copy.</summary>
    /// <exception cref="ChatStoreException">The database is unavailable or full.</exception>
    public Task EndAsync(string sessionId, CancellationToken cancellationToken) => database.GuardAsync(async () =>
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var update = StoreDatabase.Command(connection, null, "UPDATE sessions SET ended_at = @now WHERE id = @id AND ended_at IS NULL", ("@id", sessionId), ("@now", database.Now()));
        await update.ExecuteNonQueryAsync(cancellationToken);
    });
}
