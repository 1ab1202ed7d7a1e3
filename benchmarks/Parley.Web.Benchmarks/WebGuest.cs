using System.Diagnostics;
using System.Net;
using System.Net.ServerSentEvents;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Parley.Web.Benchmarks;

/// <summary>
/// A guest as the page drives the gateway: <c>GET /api/session</c> for the anti-forgery token, <c>POST /api/guest</c>,
/// <c>GET /api/session</c> again (the token is bound to the signed-in identity), then <c>POST …/messages</c> and one
/// Server-Sent Events stream (a tab). Cookies are kept here, not in the handler, so thousands of guests share one
/// <see cref="HttpClient"/> and its connection pool.
/// </summary>
internal sealed class WebGuest
{
    private const int MaxTextLength = 200;
    private readonly Dictionary<string, string> _cookies = new(StringComparer.Ordinal);

    private WebGuest(string name) => Name = name;

    public string Name { get; }

    public string Conversation { get; private set; } = "";

    private string Csrf { get; set; } = "";

    /// <summary>
    /// One handler for every guest: no cookie container (each guest carries its own), no connection limit (every open
    /// stream holds a connection), and connections spread over 16 loopback source addresses, so neither the per-address
    /// sign-in limit nor one address's ephemeral ports decide the run.
    /// </summary>
    public static HttpClient CreateClient(Uri baseAddress)
    {
        var next = 0;
        var handler = new SocketsHttpHandler
        {
            UseCookies = false,
            AllowAutoRedirect = false,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(10),
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            MaxConnectionsPerServer = int.MaxValue,
            ConnectTimeout = TimeSpan.FromSeconds(30),
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    var source = new IPAddress([127, 0, 0, (byte)(2 + (Interlocked.Increment(ref next) & 15))]);
                    socket.Bind(new IPEndPoint(source, 0));
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        return new HttpClient(handler) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };
    }

    /// <summary>Signs in a new guest.</summary>
    /// <exception cref="HttpRequestException">The gateway refused (status in the message).</exception>
    public static async Task<WebGuest> SignInAsync(HttpClient http, string name, CancellationToken cancellationToken)
    {
        var guest = new WebGuest(name);
        await guest.RefreshSessionAsync(http, cancellationToken);
        using (var request = guest.Post("/api/guest", JsonSerializer.Serialize(new { name })))
        using (var response = await http.SendAsync(request, cancellationToken))
        {
            Check(response, HttpStatusCode.OK);
            guest.KeepCookies(response);
        }

        await guest.RefreshSessionAsync(http, cancellationToken);
        if (guest.Conversation.Length == 0)
        {
            throw new HttpRequestException($"Guest {name} is not signed in after POST /api/guest.");
        }

        return guest;
    }

    /// <summary>Posts a message (what the page's send button does); returns when the gateway answered 202.</summary>
    public async Task SendAsync(HttpClient http, string text, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(text.Length, MaxTextLength);
        using var request = Post($"/api/conversations/{Conversation}/messages", JsonSerializer.Serialize(new { text }));
        using var response = await http.SendAsync(request, cancellationToken);
        Check(response, HttpStatusCode.Accepted);
    }

    /// <summary>Opens a tab: the conversation's event stream, read in the background.</summary>
    public async Task<GuestStream> OpenStreamAsync(HttpClient http, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/conversations/{Conversation}/events");
        request.Headers.Add("Cookie", CookieHeader());
        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        try
        {
            Check(response, HttpStatusCode.OK);
            return new GuestStream(response, await response.Content.ReadAsStreamAsync(cancellationToken));
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    private async Task RefreshSessionAsync(HttpClient http, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/session");
        AddCookies(request);
        using var response = await http.SendAsync(request, cancellationToken);
        Check(response, HttpStatusCode.OK);
        KeepCookies(response);
        using var session = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        Csrf = session.RootElement.GetProperty("csrf").GetString() ?? throw new HttpRequestException("No anti-forgery token in /api/session.");
        Conversation = session.RootElement.GetProperty("signedIn").GetBoolean() ? session.RootElement.GetProperty("conversation").GetString() ?? "" : "";
    }

    private HttpRequestMessage Post(string path, string json)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.Add("X-CSRF-TOKEN", Csrf);
        AddCookies(request);
        return request;
    }

    private void AddCookies(HttpRequestMessage request)
    {
        if (_cookies.Count > 0)
        {
            request.Headers.Add("Cookie", CookieHeader());
        }
    }

    private string CookieHeader() => string.Join("; ", _cookies.Select(c => c.Key + "=" + c.Value));

    private void KeepCookies(HttpResponseMessage response)
    {
        if (!response.Headers.TryGetValues("Set-Cookie", out var values))
        {
            return;
        }

        foreach (var value in values)
        {
            var pair = value.AsSpan(0, value.IndexOf(';', StringComparison.Ordinal) is var end and >= 0 ? end : value.Length);
            var equals = pair.IndexOf('=');
            if (equals > 0)
            {
                _cookies[pair[..equals].ToString()] = pair[(equals + 1)..].ToString();
            }
        }
    }

    private static void Check(HttpResponseMessage response, HttpStatusCode expected)
    {
        if (response.StatusCode != expected)
        {
            throw new HttpRequestException($"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri} answered {(int)response.StatusCode}, expected {(int)expected}.", null, response.StatusCode);
        }
    }
}

/// <summary>One open event stream. Completes <see cref="Ready"/> at the first event and a waiting round trip when the owner's matching reply arrives.</summary>
internal sealed class GuestStream : IAsyncDisposable
{
    private readonly HttpResponseMessage _response;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _reader;
    private Waiter? _waiter;

    public GuestStream(HttpResponseMessage response, Stream stream)
    {
        _response = response;
        _reader = ReadAsync(stream);
    }

    /// <summary>Completes when the first event (the owner's presence, which the gateway always sends first) arrived.</summary>
    public Task Ready => _ready.Task;

    /// <summary>Whether the server closed the stream.</summary>
    public bool Ended => _reader.IsCompleted;

    /// <summary>Waits for the owner's message with exactly <paramref name="text"/>; the result is the <see cref="Stopwatch"/> timestamp of its arrival.</summary>
    public Task<long> ExpectReply(string text)
    {
        var waiter = new Waiter(text);
        Volatile.Write(ref _waiter, waiter);
        return waiter.Arrived.Task;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _response.Dispose();
        await _reader;
        _stop.Dispose();
    }

    private async Task ReadAsync(Stream stream)
    {
        await Task.Yield();
        try
        {
            await foreach (var item in SseParser.Create(stream).EnumerateAsync(_stop.Token))
            {
                _ready.TrySetResult();
                if (item.EventType == "message" && Volatile.Read(ref _waiter) is { } waiter)
                {
                    using var message = JsonDocument.Parse(item.Data);
                    if (message.RootElement.GetProperty("from").GetString() == "owner" && message.RootElement.GetProperty("text").GetString() == waiter.Text)
                    {
                        waiter.Arrived.TrySetResult(Stopwatch.GetTimestamp());
                    }
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (IOException) when (_stop.IsCancellationRequested)
        {
        }
        catch (ObjectDisposedException) when (_stop.IsCancellationRequested)
        {
        }
        catch (HttpRequestException ex)
        {
            _ready.TrySetException(ex);
        }
        catch (IOException ex)
        {
            _ready.TrySetException(ex);
        }
        finally
        {
            _ready.TrySetException(new IOException("The event stream ended before its first event."));
            Volatile.Read(ref _waiter)?.Arrived.TrySetException(new IOException("The event stream ended."));
        }
    }

    private sealed record Waiter(string Text)
    {
        public TaskCompletionSource<long> Arrived { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
