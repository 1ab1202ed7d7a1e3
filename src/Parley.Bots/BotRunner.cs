using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Parley.Xmpp;
using Parley.Xmpp.Accounts;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;

namespace Parley.Bots;

/// <summary>
/// Runs one bot on one XMPP client: applies the <see cref="MessageRules"/>, hands accepted messages to the bot,
/// connects, announces presence, and stops cleanly. Used by the bot host and by <c>parley echo</c>.
/// </summary>
public sealed partial class BotRunner : IAsyncDisposable
{
    /// <summary>How long starting waits for the server to reflect the bot's initial presence.</summary>
    private static readonly TimeSpan PresenceEchoTimeout = TimeSpan.FromSeconds(10);

    private readonly Bot _bot;
    private readonly MessageRules _rules;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly BotMetrics _metrics;
    private readonly CancellationTokenSource _stopping = new();
    private readonly BotMetrics? _ownMetrics;
    private readonly BotContext _context;
    private IDisposable? _registration;
    private DateTimeOffset _startedAt;
    private int _state; // 0 new, 1 started, 2 stopped

    /// <summary>Creates the runner; nothing happens until <see cref="StartAsync"/>.</summary>
    /// <param name="name">The bot's name, for logs.</param>
    /// <param name="client">The bot's client (not connected yet); the runner connects and disposes it.</param>
    /// <param name="bot">The bot.</param>
    /// <param name="rules">The message rules.</param>
    /// <param name="loggerFactory">Where to log.</param>
    /// <param name="time">The clock.</param>
    /// <param name="metrics">Where to count messages and reports; <see langword="null"/> for a meter of the runner's own.</param>
    public BotRunner(string name, XmppClient client, Bot bot, MessageRules rules, ILoggerFactory? loggerFactory = null, TimeProvider? time = null, BotMetrics? metrics = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(bot);
        ArgumentNullException.ThrowIfNull(rules);
        Name = name;
        Client = client;
        _bot = bot;
        _rules = rules;
        _time = time ?? TimeProvider.System;
        _metrics = metrics ?? (_ownMetrics = new BotMetrics());
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Parley.Bots." + name);
        _context = new BotContext(name, client, _logger, _time, _metrics, _stopping.Token);
        bot.Attach(_context);
    }

    /// <summary>The bot's name.</summary>
    public string Name { get; }

    /// <summary>The bot's client.</summary>
    public XmppClient Client { get; }

    /// <summary>Starts the bot, connects and sends the bot's presence.</summary>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <exception cref="XmppException">Connecting failed (see <see cref="XmppEndpoint.ConnectAsync"/>).</exception>
    /// <exception cref="InvalidOperationException">Already started.</exception>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0)
        {
            throw new InvalidOperationException("The bot was already started.");
        }

        _startedAt = _time.GetUtcNow();
        await _bot.StartAsync(cancellationToken).ConfigureAwait(false);

        // Registered before connecting: offline messages arrive right after the first presence, and a client asks for
        // the command list as soon as it sees the bot online.
        _registration = Client.OnMessage(HandleAsync);
        var commands = new BotCommands(Client.AddExtension(new AdHocCommandHost()), _rules);
        if (_bot.Help is { } help)
        {
            commands.Add("help", "Help", (_, _) => ValueTask.FromResult(AdHocResponse.Completed(help)));
        }

        _bot.AddCommands(commands);
        PrepareRooms();
        await Client.ConnectAsync(cancellationToken).ConfigureAwait(false);

        // Online means available at the server: it reflects our initial presence to us once it has processed it (RFC 6121
        // §4.2.2). A message sent to the bare JID before that can be stored offline by a server that is still making the
        // session available (ejabberd, seen in tests) and then not come until the next login.
        var available = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (Client.OnPresence((presence, _) =>
        {
            if (presence.Type == PresenceType.Available && presence.From is { } from && from.Equals(Client.Jid))
            {
                available.TrySetResult();
            }

            return ValueTask.CompletedTask;
        }))
        {
            await Client.SendPresenceAsync(status: _bot.Status, cancellationToken: cancellationToken).ConfigureAwait(false);
            try
            {
                await available.Task.WaitAsync(PresenceEchoTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                LogNoPresenceEcho(_logger, Name, PresenceEchoTimeout.TotalSeconds);
            }
        }

        LogOnline(_logger, Name, Client.Jid?.ToString() ?? "?");
        await JoinRoomsAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops the bot (its background work is cancelled when <paramref name="cancellationToken"/> fires), then disconnects.</summary>
    /// <param name="cancellationToken">Signalled when the shutdown must end now.</param>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _state, 2) != 1)
        {
            return;
        }

        _registration?.Dispose();
        StopRooms();
        using (cancellationToken.Register(() => _stopping.Cancel()))
        {
            await _bot.StopAsync(cancellationToken).ConfigureAwait(false);
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        await _roomLoop.ConfigureAwait(false);
        if (Client.State != XmppConnectionState.Disconnected)
        {
            // The close gets its own short deadline: the host's token may already have fired after the grace period.
            using var closing = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                await Client.DisconnectAsync(closing.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is XmppException or OperationCanceledException)
            {
                LogDisconnectFailed(_logger, Name, ex.Message);
            }
        }

        LogStopped(_logger, Name);
    }

    /// <summary>Stops (if needed) and disposes the client.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        await Client.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
        _ownMetrics?.Dispose();
    }

    private async ValueTask HandleAsync(Message message, CancellationToken cancellationToken)
    {
        if (Client.Jid is not { } self)
        {
            return; // messages only arrive once bound
        }

        var verdict = _rules.Evaluate(message, self.Bare, _startedAt, out var rateLimit);
        _metrics.Message(Name, verdict);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        if (verdict == MessageVerdict.RateLimited)
        {
            await RefuseAsync(message, rateLimit, linked.Token).ConfigureAwait(false);
            return;
        }

        if (verdict != MessageVerdict.Accepted)
        {
            LogIgnored(_logger, Name, message.From?.ToString() ?? "(none)", verdict);
            return;
        }

        if (rateLimit.Refused > 0)
        {
            LogLimitEnded(_logger, Name, message.From!.Bare.ToString(), rateLimit.Refused);
        }

        await _bot.OnMessageAsync(message, linked.Token).ConfigureAwait(false);
    }

    /// <summary>
    /// A limited sender is told once per run of refusals when the bot answers again, so nothing is dropped in silence;
    /// the rest of the run is only counted, and logged when it ends.
    /// </summary>
    private async Task RefuseAsync(Message message, RateLimitDecision rateLimit, CancellationToken cancellationToken)
    {
        if (!rateLimit.NoticeDue)
        {
            LogIgnored(_logger, Name, message.From?.ToString() ?? "(none)", MessageVerdict.RateLimited);
            return;
        }

        LogLimited(_logger, Name, message.From!.Bare.ToString(), (int)Math.Ceiling(rateLimit.RetryAfter.TotalSeconds));
        try
        {
            await _context.ReplyAsync(message, BotCommands.RateLimitNotice(rateLimit), cancellationToken).ConfigureAwait(false);
        }
        catch (XmppException ex)
        {
            LogNoticeFailed(_logger, Name, ex.Message);
        }
    }

    [LoggerMessage(8000, LogLevel.Information, "Bot {Bot} online as {Jid}")]
    private static partial void LogOnline(ILogger logger, string bot, string jid);

    [LoggerMessage(8001, LogLevel.Information, "Bot {Bot} stopped")]
    private static partial void LogStopped(ILogger logger, string bot);

    [LoggerMessage(8002, LogLevel.Debug, "Bot {Bot} ignored a message from {From}: {Verdict}")]
    private static partial void LogIgnored(ILogger logger, string bot, string from, MessageVerdict verdict);

    [LoggerMessage(8003, LogLevel.Warning, "Bot {Bot} did not disconnect cleanly: {Reason}")]
    private static partial void LogDisconnectFailed(ILogger logger, string bot, string reason);

    [LoggerMessage(8005, LogLevel.Information, "Bot {Bot} is limiting {From}: answers again in {Seconds} s")]
    private static partial void LogLimited(ILogger logger, string bot, string from, int seconds);

    [LoggerMessage(8006, LogLevel.Information, "Bot {Bot} answers {From} again after refusing {Count} messages")]
    private static partial void LogLimitEnded(ILogger logger, string bot, string from, int count);

    [LoggerMessage(8007, LogLevel.Warning, "Bot {Bot} could not send a rate-limit notice: {Reason}")]
    private static partial void LogNoticeFailed(ILogger logger, string bot, string reason);

    [LoggerMessage(8004, LogLevel.Warning, "Bot {Bot}: the server did not reflect its presence within {Seconds} s; going on")]
    private static partial void LogNoPresenceEcho(ILogger logger, string bot, double seconds);
}
