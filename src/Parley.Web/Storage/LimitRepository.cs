using System.Globalization;

namespace Parley.Web.Storage;

/// <summary>The answer of <see cref="LimitRepository.CountAsync"/>: whether the request is within its limit, and when the counter's window ends.</summary>
internal readonly record struct LimitCount(bool Allowed, DateTimeOffset WindowEnds);

/// <summary>
/// The gateway's "once" and "so many per window" kept in the store, so that every gateway sharing the database keeps
/// them together: single-use tokens that were used (the widget's site tokens), and request counters per fixed window.
/// Each check is one statement, so of two gateways asking at the same moment only one is told yes. Rows live until
/// they expire; <see cref="PurgeAsync"/> deletes the expired ones (<see cref="LimitPurge"/> runs it every minute).
/// </summary>
/// <remarks>
/// Times are this gateway's clock, like every other time the store keeps: gateways sharing a database need clocks in
/// step (NTP). The SQL is written once, in the form SQLite and PostgreSQL both accept.
/// All methods throw <see cref="ChatStoreException"/> when the database is unavailable or full.
/// </remarks>
internal sealed class LimitRepository(StoreDatabase database)
{
    /// <summary>The longest token or counter name kept.</summary>
    public const int MaxKeyLength = 200;

    // A refused request counts too (it is within the window), but a counter stops one past the limit: the answer is the
    // same from there on, and no flood can overflow it.
    private const string CountSql = """
        INSERT INTO rate_counters (counter, window_ends, hits) VALUES (@counter, @ends, 1)
        ON CONFLICT (counter) DO UPDATE SET
            hits = CASE WHEN rate_counters.window_ends <= @now THEN 1
                        WHEN rate_counters.hits > @limit THEN rate_counters.hits
                        ELSE rate_counters.hits + 1 END,
            window_ends = CASE WHEN rate_counters.window_ends <= @now THEN EXCLUDED.window_ends ELSE rate_counters.window_ends END
        RETURNING hits, window_ends
        """;

    /// <summary>
    /// Records that a single-use token was used, until <paramref name="expires"/>: <see langword="true"/> the first time,
    /// <see langword="false"/> when it was already used, whichever gateway used it.
    /// </summary>
    /// <param name="token">The token's identity (at most <see cref="MaxKeyLength"/> characters).</param>
    /// <param name="expires">When the token would be refused as expired anyway; the record is purged after that.</param>
    /// <param name="cancellationToken">Cancels the request to the database.</param>
    /// <exception cref="ArgumentException"><paramref name="token"/> is empty or too long.</exception>
    /// <exception cref="ChatStoreException">The database is unavailable or full: nothing was recorded.</exception>
    public Task<bool> TryUseOnceAsync(string token, DateTimeOffset expires, CancellationToken cancellationToken)
    {
        CheckKey(token, nameof(token));

        // Expired rows need no special case: a token is refused as expired before its row expires.
        return WriteAsync(async connection =>
        {
            await using var insert = StoreDatabase.Command(connection, null, "INSERT INTO used_tokens (token, expires_at) VALUES (@token, @expires) ON CONFLICT (token) DO NOTHING",
                ("@token", token), ("@expires", expires.ToUnixTimeMilliseconds()));
            return await insert.ExecuteNonQueryAsync(cancellationToken) == 1;
        }, cancellationToken);
    }

    /// <summary>
    /// Counts one request against <paramref name="counter"/>: allowed while the counter's window holds at most
    /// <paramref name="limit"/> requests, counting those of every gateway. A window starts with the first request
    /// after the previous one ended and lasts <paramref name="window"/>.
    /// </summary>
    /// <param name="counter">What is counted, such as a policy and a client (at most <see cref="MaxKeyLength"/> characters).</param>
    /// <param name="limit">Requests allowed per window (at least 1).</param>
    /// <param name="window">The window's length (1 s to 1 day).</param>
    /// <param name="cancellationToken">Cancels the request to the database.</param>
    /// <exception cref="ArgumentException"><paramref name="counter"/> is empty or too long.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> or <paramref name="window"/> is out of range.</exception>
    /// <exception cref="ChatStoreException">The database is unavailable or full.</exception>
    public Task<LimitCount> CountAsync(string counter, int limit, TimeSpan window, CancellationToken cancellationToken)
    {
        CheckKey(counter, nameof(counter));
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(window, TimeSpan.FromSeconds(1));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(window, TimeSpan.FromDays(1));
        return WriteAsync(async connection =>
        {
            var now = database.Now();
            await using var count = StoreDatabase.Command(connection, null, CountSql,
                ("@counter", counter), ("@now", now), ("@ends", now + (long)window.TotalMilliseconds), ("@limit", limit));
            await using var reader = await count.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                throw new InvalidOperationException($"The {database.ProviderName} database returned no row for the counter '{counter}'.");
            }

            var hits = Convert.ToInt64(reader.GetValue(0), CultureInfo.InvariantCulture);
            var ends = Convert.ToInt64(reader.GetValue(1), CultureInfo.InvariantCulture);
            return new LimitCount(hits <= limit, DateTimeOffset.FromUnixTimeMilliseconds(ends));
        }, cancellationToken);
    }

    /// <summary>Deletes the used tokens and counters that expired; returns how many rows went.</summary>
    /// <exception cref="ChatStoreException">The database is unavailable.</exception>
    public Task<int> PurgeAsync(CancellationToken cancellationToken) => WriteAsync(async connection =>
    {
        var now = database.Now();
        await using var tokens = StoreDatabase.Command(connection, null, "DELETE FROM used_tokens WHERE expires_at <= @now", ("@now", now));
        var purged = await tokens.ExecuteNonQueryAsync(cancellationToken);
        await using var counters = StoreDatabase.Command(connection, null, "DELETE FROM rate_counters WHERE window_ends <= @now", ("@now", now));
        return purged + await counters.ExecuteNonQueryAsync(cancellationToken);
    }, cancellationToken);

    private static void CheckKey(string key, string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(key, name);
        if (key.Length > MaxKeyLength)
        {
            throw new ArgumentException($"At most {MaxKeyLength} characters.", name);
        }
    }

    private Task<T> WriteAsync<T>(Func<System.Data.Common.DbConnection, Task<T>> write, CancellationToken cancellationToken)
        => database.RunWriteAsync(() => database.GuardAsync(async () =>
        {
            await using var connection = await database.OpenConnectionAsync(cancellationToken);
            return await write(connection);
        }), cancellationToken);
}
