namespace Parley.Testing.Internal;

/// <summary>Starting a server that is disposed again when its start fails, so a failed start leaves no process or folder behind.</summary>
internal static class Started
{
    public static async Task<T> OrDisposedAsync<T>(T server, Func<T, CancellationToken, Task> start, CancellationToken cancellationToken)
        where T : IAsyncDisposable
    {
        try
        {
            await start(server, cancellationToken).ConfigureAwait(false);
            return server;
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}
