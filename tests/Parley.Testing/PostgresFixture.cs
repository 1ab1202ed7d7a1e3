using Xunit;

namespace Parley.Testing;

/// <summary>
/// One private PostgreSQL shared by the tests of a class (<c>IClassFixture&lt;PostgresFixture&gt;</c>) or collection,
/// started on first use; each test takes its own database with <see cref="CreateDatabaseAsync"/>.
/// </summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private readonly Lock _lock = new();
    private Task<PostgresServer>? _server;

    /// <summary>The running server, started on the first call.</summary>
    /// <exception cref="XmppTestServerException">It did not start; the message quotes its output.</exception>
    public Task<PostgresServer> GetAsync(CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            // Not cancelled by the first caller's token: later tests share the start.
            _server ??= Task.Run(() => PostgresServer.StartNewAsync(CancellationToken.None), CancellationToken.None);
            return _server.WaitAsync(cancellationToken);
        }
    }

    /// <summary>A fresh, empty database on the shared server; returns its connection string.</summary>
    /// <exception cref="XmppTestServerException">The server did not start, or createdb failed.</exception>
    public async Task<string> CreateDatabaseAsync(CancellationToken cancellationToken = default)
        => await (await GetAsync(cancellationToken).ConfigureAwait(false)).CreateDatabaseAsync(cancellationToken).ConfigureAwait(false);

    /// <inheritdoc/>
    public Task InitializeAsync() => Task.CompletedTask;

    /// <summary>Stops the server and deletes its folder.</summary>
    public async Task DisposeAsync()
    {
        Task<PostgresServer>? server;
        lock (_lock)
        {
            server = _server;
            _server = null;
        }

        if (server is null)
        {
            return;
        }

        await ((Task)server).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (server.IsCompletedSuccessfully)
        {
            await server.Result.DisposeAsync().ConfigureAwait(false);
        }
    }
}
