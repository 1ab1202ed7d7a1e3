using System.Net;
using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Threading.Channels;

namespace Parley.Web.Tests;

/// <summary>What a browser does against the gateway's API: a cookie jar, the anti-forgery header, push streams (tabs).</summary>
internal sealed class Visitor : IDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly HttpClient _http;

    public Visitor(Uri baseAddress)
    {
        Cookies = new CookieContainer();
        var handler = new HttpClientHandler { CookieContainer = Cookies, AllowAutoRedirect = false };
        if (baseAddress.Scheme == Uri.UriSchemeHttps)
        {
            // Only the widget tests run the gateway on HTTPS, with a certificate made for the test.
            handler.ServerCertificateCustomValidationCallback = HttpClientHandler.DangerousAcceptAnyServerCertificateValidator;
        }

        _http = new HttpClient(handler) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    public CookieContainer Cookies { get; }

    public HttpClient Http => _http;

    public string? Csrf { get; private set; }

    public string? Conversation { get; private set; }

    /// <summary>The ticket of the last page loaded as a frame (sent as <c>X-Parley-Frame</c> with every POST), or empty.</summary>
    public string FrameTicket { get; set; } = "";

    /// <summary>
    /// GET / as a browser loading it into a frame does (<c>Sec-Fetch-Dest</c>, <c>iframe</c> by default), keeping the
    /// page's frame ticket (empty when the gateway gave none).
    /// </summary>
    public async Task<string> LoadPageAsync(string destination = "iframe")
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/");
        request.Headers.Add("Sec-Fetch-Dest", destination);
        using var response = await _http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        var match = Regex.Match(await response.Content.ReadAsStringAsync(), "<meta name=\"parley-frame\" content=\"([^\"]*)\"");
        Assert.True(match.Success, "The page has no parley-frame tag.");
        FrameTicket = match.Groups[1].Value;
        return FrameTicket;
    }

    public async Task<JsonElement> RefreshSessionAsync()
    {
        var session = await _http.GetFromJsonAsync<JsonElement>("/api/session");
        Csrf = session.GetProperty("csrf").GetString();
        Conversation = session.GetProperty("signedIn").GetBoolean() ? session.GetProperty("conversation").GetString() : null;
        return session;
    }

    public async Task<HttpResponseMessage> SignInAsGuestAsync(string name)
    {
        await RefreshSessionAsync();
        var response = await PostAsync("/api/guest", new { name });
        if (response.IsSuccessStatusCode)
        {
            await RefreshSessionAsync();
        }

        return response;
    }

    public async Task<HttpResponseMessage> PostAsync(string path, object body, bool withToken = true)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        if (withToken && Csrf is not null)
        {
            request.Headers.Add("X-CSRF-TOKEN", Csrf);
        }

        if (FrameTicket.Length > 0)
        {
            request.Headers.Add("X-Parley-Frame", FrameTicket);
        }

        return await _http.SendAsync(request);
    }

    public async Task<Message> SendAsync(string text)
    {
        using var response = await PostAsync($"/api/conversations/{Conversation}/messages", new { text });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<Message>(Json))!;
    }

    public async Task<History> HistoryAsync(string? conversation = null, long? before = null)
    {
        var path = $"/api/conversations/{conversation ?? Conversation}/messages" + (before is null ? "" : $"?before={before}");
        return (await _http.GetFromJsonAsync<History>(path, Json))!;
    }

    public async Task<Tab> OpenTabAsync(long after = 0, string? lastEventId = null, string? page = null)
    {
        var query = page is null ? "" : "&page=" + Uri.EscapeDataString(page);
        var request = new HttpRequestMessage(HttpMethod.Get, $"/api/conversations/{Conversation}/events?after={after}{query}");
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        return new Tab(response, await response.Content.ReadAsStreamAsync());
    }

    /// <summary>GET /healthz: the status code and the overall status from the JSON body.</summary>
    public async Task<(HttpStatusCode Code, string Status)> HealthAsync()
    {
        using var response = await _http.GetAsync("/healthz");
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, body.RootElement.GetProperty("status").GetString()!);
    }

    public void Dispose() => _http.Dispose();

    internal sealed record Message(long Id, string From, string Text, DateTimeOffset Time, string State, long Seq, bool Auto = false, SharedFile? File = null, string? ClientId = null);

    internal sealed record SharedFile(string Url, string Name, long? Size);

    internal sealed record History(List<Message> Messages, bool HasMore);

    /// <summary>One open push stream, read in the background into a queue of events.</summary>
    internal sealed class Tab : IAsyncDisposable
    {
        private readonly HttpResponseMessage _response;
        private readonly CancellationTokenSource _stop = new();
        private readonly Channel<SseItem<string>> _events = Channel.CreateUnbounded<SseItem<string>>();
        private readonly Task _reader;

        public Tab(HttpResponseMessage response, Stream stream)
        {
            _response = response;
            _reader = Task.Run(async () =>
            {
                try
                {
                    await foreach (var item in SseParser.Create(stream).EnumerateAsync(_stop.Token))
                    {
                        await _events.Writer.WriteAsync(item);
                    }
                }
                catch (OperationCanceledException)
                {
                }
                catch (IOException)
                {
                }
                finally
                {
                    _events.Writer.TryComplete();
                }
            });
        }

        /// <summary>Waits for the next message event that matches.</summary>
        public async Task<Message> NextMessageAsync(Func<Message, bool> match, TimeSpan? timeout = null)
        {
            using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
            while (true)
            {
                var item = await _events.Reader.ReadAsync(cts.Token);
                if (item.EventType == "message")
                {
                    var message = JsonSerializer.Deserialize<Message>(item.Data, Json)!;
                    if (match(message))
                    {
                        return message;
                    }
                }
            }
        }

        /// <summary>Waits for the next event of a type (e.g. <c>typing</c>) and returns its data.</summary>
        public async Task<JsonElement> NextEventAsync(string type, Func<JsonElement, bool>? match = null, TimeSpan? timeout = null)
        {
            using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
            while (true)
            {
                var item = await _events.Reader.ReadAsync(cts.Token);
                if (item.EventType == type)
                {
                    var data = JsonDocument.Parse(item.Data).RootElement;
                    if (match?.Invoke(data) ?? true)
                    {
                        return data;
                    }
                }
            }
        }

        /// <summary>Waits for an owner-presence event with the given value.</summary>
        public async Task WaitPresenceAsync(string owner, TimeSpan? timeout = null)
        {
            using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
            while (true)
            {
                var item = await _events.Reader.ReadAsync(cts.Token);
                if (item.EventType == "presence" && JsonDocument.Parse(item.Data).RootElement.GetProperty("owner").GetString() == owner)
                {
                    return;
                }
            }
        }

        /// <summary>Whether the server ended the stream within the timeout.</summary>
        public async Task<bool> EndsAsync(TimeSpan timeout)
        {
            using var cts = new CancellationTokenSource(timeout);
            try
            {
                while (await _events.Reader.WaitToReadAsync(cts.Token))
                {
                    _events.Reader.TryRead(out _);
                }

                return true;
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _response.Dispose();
            await _reader;
            _stop.Dispose();
        }
    }
}
