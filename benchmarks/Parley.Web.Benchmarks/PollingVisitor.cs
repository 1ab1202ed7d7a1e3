using System.Diagnostics;
using System.Text;
using Parley.Testing;
using Parley.Xmpp;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;

namespace Parley.Web.Benchmarks;

/// <summary>
/// The polling design: the classic web chat on XMPP without a gateway (a PHP/Python page, a CGI script that logs in per
/// message, a page that polls a chat log), rebuilt with Parley's client against the same Prosody and the same owner:
/// <list type="bullet">
/// <item><c>listener.py</c>: one long-lived client per visitor, logged in with the visitor's own account, appends every
/// message it receives to the visitor's chat log file.</item>
/// <item><c>send.py</c>: per message, appends the line to the chat log, then a fresh client with the visitor's account
/// connects (STARTTLS, SASL, bind), sends its initial presence, fetches the roster, sends the message and logs out
/// (what sleekxmpp's <c>SendMsgBot</c> does in <c>session_start</c>).</item>
/// <item><c>chat.js</c>: <c>setInterval(loadLog, 1000)</c>: the page reads the whole chat log once a second. Here a timer
/// reads the file directly every second; the CGI hop (<c>chatReader.py</c>, a Python process per poll) is left out,
/// which only flatters the polling design.</item>
/// </list>
/// </summary>
internal sealed class PollingVisitor : IAsyncDisposable
{
    private const int MaxLogBytes = 64 * 1024 * 1024;
    private readonly XmppTestServer _server;
    private readonly TestAccount _account;
    private readonly XmppClient _listener;
    private readonly string _chatLog;
    private readonly Lock _logLock = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _poller;
    private Waiter? _waiter;

    private PollingVisitor(XmppTestServer server, TestAccount account, string chatLog)
    {
        _server = server;
        _account = account;
        _chatLog = chatLog;
        _listener = new XmppClient(Options(server, account, "listener"));
        _listener.OnMessage(AppendAsync);
        _poller = PollAsync();
    }

    public static async Task<PollingVisitor> StartAsync(XmppTestServer server, TestAccount account, string chatLog, CancellationToken cancellationToken)
    {
        File.WriteAllText(chatLog, string.Empty);
        var visitor = new PollingVisitor(server, account, chatLog);
        try
        {
            await visitor._listener.ConnectAsync(cancellationToken);
            await visitor._listener.SendPresenceAsync(cancellationToken: cancellationToken);
            return visitor;
        }
        catch
        {
            await visitor.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// One message the polling design's way. Returns when the page's poll has shown the owner's reply, with the time the send
    /// (login, send, logout) took, when the listener wrote the reply to the log, and when the poll saw it (seconds from the click).
    /// </summary>
    public async Task<PollingRoundTrip> RoundTripAsync(Jid owner, string name, string text, CancellationToken cancellationToken)
    {
        // A person does not type in step with the page's poll: without this pause every click would follow a poll by
        // a few milliseconds (the previous round trip ended at one), and every reply would wait a whole second.
        await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(1000)), cancellationToken);
        var waiter = new Waiter(Line("owner", text));
        Volatile.Write(ref _waiter, waiter);
        var clicked = Stopwatch.GetTimestamp();

        // send.py: the log line first, then log in, send, log out.
        Append(Line(name, text));
        await using (var client = new XmppClient(Options(_server, _account, resource: null)))
        {
            await client.ConnectAsync(cancellationToken);
            await client.SendPresenceAsync(cancellationToken: cancellationToken);
            await client.Roster.GetAsync(cancellationToken);
            await client.SendAsync(new Message(owner, text), cancellationToken);
            await client.DisconnectAsync(cancellationToken);
        }

        var sent = Stopwatch.GetTimestamp();
        var (written, shown) = await waiter.Shown.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        return new PollingRoundTrip(
            Stopwatch.GetElapsedTime(clicked, sent).TotalSeconds,
            Stopwatch.GetElapsedTime(clicked, written).TotalSeconds,
            Stopwatch.GetElapsedTime(clicked, shown).TotalSeconds);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _poller;
        await _listener.DisposeAsync();
        _stop.Dispose();
    }

    private static string Line(string name, string text) => $"{name}: {text}\n";

    private static XmppClientOptions Options(XmppTestServer server, TestAccount account, string? resource)
    {
        // No resource: the server assigns one, as for sleekxmpp's send.py.
        var options = server.ClientOptions(account, resource);
        options.StreamManagement = false; // sleekxmpp 1.x without the xep_0198 plugin, as in the polling design
        return options;
    }

    private ValueTask AppendAsync(Message message, CancellationToken cancellationToken)
    {
        if (message.Body is { Length: > 0 } body)
        {
            // Stamped before the write: the poller must never find the line with the stamp still unset.
            var line = Line("owner", body);
            if (Volatile.Read(ref _waiter) is { } waiter && waiter.Line == line)
            {
                waiter.Written = Stopwatch.GetTimestamp();
            }

            Append(line);
        }

        return ValueTask.CompletedTask;
    }

    private void Append(string line)
    {
        lock (_logLock)
        {
            if (new FileInfo(_chatLog).Length > MaxLogBytes)
            {
                throw new InvalidOperationException($"The chat log {_chatLog} grew past {MaxLogBytes} bytes.");
            }

            File.AppendAllText(_chatLog, line, Encoding.UTF8);
        }
    }

    // chat.js's setInterval(loadLog, 1000): runs all the time, not started by a send.
    private async Task PollAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                string log;
                lock (_logLock)
                {
                    log = File.ReadAllText(_chatLog, Encoding.UTF8);
                }

                var now = Stopwatch.GetTimestamp();
                if (Volatile.Read(ref _waiter) is { } waiter && log.Contains(waiter.Line, StringComparison.Ordinal))
                {
                    waiter.Shown.TrySetResult((waiter.Written, now));
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }

    private sealed class Waiter(string line)
    {
        public string Line { get; } = line;

        public long Written { get; set; }

        public TaskCompletionSource<(long Written, long Shown)> Shown { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>One polling-design round trip, in seconds from the click: the send (login, send, logout) done, the reply in the log, the reply shown.</summary>
internal sealed record PollingRoundTrip(double Sent, double Written, double Shown);
