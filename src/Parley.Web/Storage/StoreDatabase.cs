using System.Data.Common;

namespace Parley.Web.Storage;

/// <summary>
/// The database under the repositories: how to connect, the dialect's schema scripts and how its errors read.
/// <see cref="SqliteDatabase"/> and <see cref="PostgresDatabase"/> supply it; the SQL of the repositories is written
/// once, in the form both dialects accept.
/// </summary>
internal abstract class StoreDatabase : IAsyncDisposable
{
    private readonly TimeProvider _time;

    protected StoreDatabase(TimeProvider time) => _time = time;

    /// <summary>"SQLite" or "PostgreSQL", for messages.</summary>
    public abstract string ProviderName { get; }

    /// <summary>The schema, one script per version (index 0 is version 1). A script runs once, in a transaction (<see cref="StoreMigrator"/>).</summary>
    public abstract IReadOnlyList<string> Migrations { get; }

    /// <summary>
    /// A statement run before the schema transaction (settings that cannot change inside one), or <see langword="null"/>.
    /// </summary>
    public virtual string? PrepareSql => null;

    /// <summary>A statement that makes concurrent schema set-ups (two gateways starting) take turns inside the schema transaction, or <see langword="null"/> when the transaction alone does.</summary>
    public virtual string? SchemaLockSql => null;

    /// <summary>Opens a connection.</summary>
    public abstract ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken);

    /// <summary>Whether this error means the database is unavailable or full (and which), or <see langword="null"/> for any other error.</summary>
    public abstract StoreFailure? Classify(Exception error);

    /// <summary>Runs one write (a message's transaction, a limit's statement); a database with a single writer runs them one at a time.</summary>
    public virtual Task<T> RunWriteAsync<T>(Func<Task<T>> write, CancellationToken cancellationToken) => write();

    /// <inheritdoc/>
    public abstract ValueTask DisposeAsync();

    /// <summary>The current time as stored: Unix milliseconds.</summary>
    public long Now() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>Runs a store operation; a database that is unavailable or full becomes a <see cref="ChatStoreException"/> that says so.</summary>
    public async Task GuardAsync(Func<Task> operation)
    {
        try
        {
            await operation();
        }
        catch (Exception error) when (error is not ChatStoreException && Classify(error) is { } failure)
        {
            throw new ChatStoreException(failure, ProviderName, error);
        }
    }

    /// <inheritdoc cref="GuardAsync(Func{Task})"/>
    public async Task<T> GuardAsync<T>(Func<Task<T>> operation)
    {
        try
        {
            return await operation();
        }
        catch (Exception error) when (error is not ChatStoreException && Classify(error) is { } failure)
        {
            throw new ChatStoreException(failure, ProviderName, error);
        }
    }

    /// <summary>A command with <c>@name</c> parameters (both providers accept that form).</summary>
    public static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql, params ReadOnlySpan<(string Name, object? Value)> parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }

        return command;
    }
}
