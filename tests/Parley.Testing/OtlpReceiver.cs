using System.Collections.Concurrent;
using System.Net;
using Xunit;

namespace Parley.Testing;

/// <summary>
/// A tiny OTLP/HTTP collector on 127.0.0.1: it takes protobuf posts to <c>/v1/traces</c> and <c>/v1/metrics</c>, keeps
/// their bodies and answers 200 with an empty export response (an empty protobuf message). It does not decode them; the
/// tests look for strings (service and instrument names), which protobuf carries as plain UTF-8.
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private const int MaxBody = 8 * 1024 * 1024;
    private readonly HttpListener _listener = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<(string Path, string ContentType, byte[] Body)> _posts = new();
    private readonly Task _loop;

    private OtlpReceiver(int port)
    {
        BaseAddress = new Uri($"http://127.0.0.1:{port}/");
        _listener.Prefixes.Add(BaseAddress.ToString());
        _listener.Start();
        _loop = Task.Run(RunAsync);
    }

    /// <summary>The collector's base address, for <c>Parley:Telemetry:OtlpEndpoint</c>.</summary>
    public Uri BaseAddress { get; }

    /// <summary>Starts listening on a free loopback port.</summary>
    public static OtlpReceiver Start() => new(LoopbackPorts.Allocate());

    /// <summary>The bodies of the protobuf posts received on <paramref name="path"/>.</summary>
    public IReadOnlyList<byte[]> Bodies(string path)
        => [.. _posts.Where(p => p.Path == path && p.ContentType == "application/x-protobuf").Select(p => p.Body)];

    /// <summary>Waits until a protobuf post to <paramref name="path"/> contains <paramref name="text"/>.</summary>
    public async Task WaitForAsync(string path, string text, TimeSpan timeout)
    {
        var needle = System.Text.Encoding.UTF8.GetBytes(text);
        var deadline = DateTime.UtcNow + timeout;
        while (!Bodies(path).Any(body => body.AsSpan().IndexOf(needle) >= 0))
        {
            Assert.True(DateTime.UtcNow < deadline, $"No OTLP post to {path} containing '{text}' within {timeout.TotalSeconds} s (posts so far: {string.Join(", ", _posts.Select(p => $"{p.Path} {p.ContentType} {p.Body.Length} B"))}).");
            await Task.Delay(100);
        }
    }

    /// <summary>Stops listening.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _listener.Close();
        _stop.Dispose();
    }

    private async Task RunAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync().WaitAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or HttpListenerException or ObjectDisposedException)
            {
                return;
            }

            using var body = new MemoryStream();
            var buffer = new byte[16 * 1024];
            int read;
            while ((read = await context.Request.InputStream.ReadAsync(buffer)) > 0 && body.Length <= MaxBody)
            {
                body.Write(buffer, 0, read);
            }

            _posts.Enqueue((context.Request.Url!.AbsolutePath, context.Request.ContentType ?? "", body.ToArray()));
            context.Response.StatusCode = context.Request.HttpMethod == "POST" ? 200 : 405;
            context.Response.ContentType = "application/x-protobuf";
            context.Response.ContentLength64 = 0;
            context.Response.Close();
        }
    }
}
