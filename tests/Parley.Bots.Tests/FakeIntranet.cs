using System.Collections.Concurrent;
using System.Net;

namespace Parley.Bots.Tests;

/// <summary>A tiny HTTP server on 127.0.0.1 playing the intranet: files, status codes, an endpoint that never answers, and a record of what was asked.</summary>
internal sealed class FakeIntranet : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<string, Func<HttpListenerContext, CancellationToken, Task>> _routes = new(StringComparer.Ordinal);
    private readonly Task _loop;

    public FakeIntranet()
    {
        Port = Files.FreePort();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(AcceptAsync);
    }

    public int Port { get; }

    public ConcurrentQueue<(string Path, string? Authorization)> Requests { get; } = new();

    public string Url(string path) => $"http://127.0.0.1:{Port}{path}";

    public void File(string path, byte[] content) => _routes[path] = async (c, ct) =>
    {
        c.Response.ContentType = "application/pdf";
        c.Response.ContentLength64 = content.Length;
        await c.Response.OutputStream.WriteAsync(content, ct);
        c.Response.Close();
    };

    /// <summary>Serves the content chunked, without Content-Length (the size is only known while reading).</summary>
    public void Chunked(string path, byte[] content) => _routes[path] = async (c, ct) =>
    {
        c.Response.SendChunked = true;
        for (var offset = 0; offset < content.Length; offset += 1000)
        {
            await c.Response.OutputStream.WriteAsync(content.AsMemory(offset, Math.Min(1000, content.Length - offset)), ct);
            await c.Response.OutputStream.FlushAsync(ct);
        }

        c.Response.Close();
    };

    public void Status(string path, int status) => _routes[path] = (c, _) =>
    {
        c.Response.StatusCode = status;
        c.Response.Close();
        return Task.CompletedTask;
    };

    public void Hang(string path) => _routes[path] = async (c, ct) =>
    {
        await Task.Delay(Timeout.Infinite, ct).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        c.Response.Abort();
    };

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Close();
        _loop.Wait(TimeSpan.FromSeconds(5));
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            var path = context.Request.Url!.AbsolutePath;
            Requests.Enqueue((context.Request.RawUrl ?? path, context.Request.Headers["Authorization"]));
            _ = Task.Run(async () =>
            {
                try
                {
                    if (_routes.TryGetValue(path, out var route))
                    {
                        await route(context, _stop.Token);
                    }
                    else
                    {
                        context.Response.StatusCode = 404;
                        context.Response.Close();
                    }
                }
                catch (Exception ex) when (ex is HttpListenerException or IOException or ObjectDisposedException)
                {
                    // The bot gave up on the request (timeout): nothing to answer.
                }
            });
        }
    }
}
