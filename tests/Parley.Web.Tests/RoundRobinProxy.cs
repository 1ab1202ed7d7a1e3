using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Parley.Web.Tests;

/// <summary>
/// A minimal reverse proxy on 127.0.0.1 that sends each request to the next backend in turn (no sticky sessions),
/// streaming responses (Server-Sent Events pass through as they are written). Test-only: no hop-by-hop header
/// handling beyond what the gateway needs.
/// </summary>
internal sealed class RoundRobinProxy : IAsyncDisposable
{
    private static readonly HashSet<string> s_skippedResponseHeaders = new(StringComparer.OrdinalIgnoreCase) { "Transfer-Encoding", "Connection", "Keep-Alive" };
    private readonly WebApplication _app;
    private readonly HttpClient _client;
    private readonly Uri[] _backends;
    private readonly int[] _hits;
    private int _next = -1;

    private RoundRobinProxy(WebApplication app, HttpClient client, Uri[] backends)
    {
        _app = app;
        _client = client;
        _backends = backends;
        _hits = new int[backends.Length];
    }

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>How many requests each backend got, in the order given.</summary>
    public IReadOnlyList<int> Hits => [.. _hits.Select((_, i) => Volatile.Read(ref _hits[i]))];

    public static async Task<RoundRobinProxy> StartAsync(params Uri[] backends)
    {
        var client = new HttpClient(new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false }) { Timeout = Timeout.InfiniteTimeSpan };
        RoundRobinProxy? proxy = null;
        var (_, address) = await LoopbackWebApp.StartAsync(app =>
        {
            proxy = new RoundRobinProxy(app, client, backends);
            app.Run(proxy.ForwardAsync);
        });
        proxy!.BaseAddress = address;
        return proxy;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _client.Dispose();
    }

    private async Task ForwardAsync(HttpContext context)
    {
        var index = (int)((uint)Interlocked.Increment(ref _next) % (uint)_backends.Length);
        Interlocked.Increment(ref _hits[index]);
        var request = context.Request;
        using var forward = new HttpRequestMessage(new HttpMethod(request.Method), new Uri(_backends[index], request.Path + request.QueryString));
        if (request.ContentLength > 0 || request.Headers.TransferEncoding.Count > 0)
        {
            forward.Content = new StreamContent(request.Body);
        }

        foreach (var (name, values) in request.Headers)
        {
            if (name.Equals("Host", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if (!forward.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values))
            {
                forward.Content?.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
            }
        }

        using var response = await _client.SendAsync(forward, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
        context.Response.StatusCode = (int)response.StatusCode;
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            if (!s_skippedResponseHeaders.Contains(name))
            {
                context.Response.Headers[name] = values.ToArray();
            }
        }

        await using var body = await response.Content.ReadAsStreamAsync(context.RequestAborted);
        var buffer = new byte[16 * 1024];
        int read;
        try
        {
            while ((read = await body.ReadAsync(buffer, context.RequestAborted)) > 0)
            {
                await context.Response.Body.WriteAsync(buffer.AsMemory(0, read), context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
            }
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The browser closed the stream (a tab closed).
        }
    }
}
