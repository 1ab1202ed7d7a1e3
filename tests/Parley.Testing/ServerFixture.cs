using Xunit;

namespace Parley.Testing;

/// <summary>
/// One Prosody and one ejabberd shared by every test of a collection, started lazily: the first
/// <see cref="GetAsync"/> starts all kinds in parallel; later calls return the running instances.
/// A server that failed to start fails every test that asks for it with the same message (it quotes the log).
/// </summary>
/// <remarks>
/// xunit only finds collection definitions in the test assembly itself, so each test project declares
/// <c>[CollectionDefinition(ServerFixture.CollectionName)] public sealed class ServerCollection : ICollectionFixture&lt;ServerFixture&gt;;</c>
/// and its server tests carry <c>[Collection(ServerFixture.CollectionName)]</c>. Tests in one collection
/// run one after the other; that keeps the shared servers' state predictable. A test that stops, kills or
/// reconfigures a server starts its own with <see cref="Servers.StartNewAsync"/>. The tests must not
/// stop the shared servers.
/// </remarks>
public sealed class ServerFixture : IAsyncLifetime
{
    /// <summary>The collection name the test projects use for the shared servers.</summary>
    public const string CollectionName = "XMPP servers";

    private readonly Lock _lock = new();
    private Dictionary<string, Task<XmppTestServer>>? _servers;

    /// <summary>The shared server of the given kind, started on first use (all kinds start together).</summary>
    /// <param name="kind">One of <see cref="Servers.All"/>.</param>
    /// <param name="cancellationToken">Stops waiting (the start itself goes on for the other tests).</param>
    /// <exception cref="ArgumentException"><paramref name="kind"/> is unknown.</exception>
    /// <exception cref="XmppTestServerException">The server did not start; the message quotes its log.</exception>
    public Task<XmppTestServer> GetAsync(string kind, CancellationToken cancellationToken = default)
    {
        if (!Servers.All.Contains(kind))
        {
            throw new ArgumentException($"Unknown server kind '{kind}' (known: {string.Join(", ", Servers.All)}).", nameof(kind));
        }

        lock (_lock)
        {
            // The starts must not be cancelled by the first caller's token: other tests share them.
            _servers ??= Servers.All.ToDictionary(k => k, k => Task.Run(() => Servers.StartNewAsync(k), CancellationToken.None));
            return _servers[kind].WaitAsync(cancellationToken);
        }
    }

    /// <inheritdoc/>
    public Task InitializeAsync() => Task.CompletedTask;

    /// <summary>Kills the shared servers and deletes their folders.</summary>
    public async Task DisposeAsync()
    {
        Dictionary<string, Task<XmppTestServer>>? servers;
        lock (_lock)
        {
            servers = _servers;
            _servers = null;
        }

        if (servers is null)
        {
            return;
        }

        foreach (var start in servers.Values)
        {
            // A start that failed was cleaned up by StartNewAsync and reported by every test that asked for it.
            await ((Task)start).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (start.IsCompletedSuccessfully)
            {
                await start.Result.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
