using System.Threading.Channels;
using Parley.Web.Storage;
using Parley.Xmpp.Core;

namespace Parley.Web.Xmpp;

/// <summary>
/// Keeps the <see cref="VisitorLink"/> connected (reconnecting with backoff) and runs its work in one loop: announce
/// arriving visitors, send the outbox, end the presences whose linger ran out. The loop runs when woken (a new pending
/// message in the store's change feed, a tab opened or closed, the link came back) and every few seconds. It also says
/// how the link is doing, for the health check.
/// </summary>
internal sealed partial class LinkSupervisor : BackgroundService
{
    private static readonly TimeSpan MaxConnectDelay = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan IdleCheck = TimeSpan.FromSeconds(5);

    private readonly VisitorLink _link;
    private readonly PresenceTracker _presence;
    private readonly OutboxSender _outbox;
    private readonly TimeProvider _time;
    private readonly ILogger<LinkSupervisor> _logger;
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private long _disconnectedSinceTicks; // UTC ticks; a long so the health check never reads a torn value

    public LinkSupervisor(VisitorLink link, PresenceTracker presence, OutboxSender outbox, IChangeFeed changes, TimeProvider time, ILogger<LinkSupervisor> logger)
    {
        _link = link;
        _presence = presence;
        _outbox = outbox;
        _time = time;
        _logger = logger;
        _disconnectedSinceTicks = time.GetUtcNow().UtcTicks;
        _link.ConnectionChanged += connected =>
        {
            if (!connected)
            {
                Interlocked.Exchange(ref _disconnectedSinceTicks, _time.GetUtcNow().UtcTicks);
            }
            else
            {
                Wake(); // what the lost link left unconfirmed goes out again at once
            }
        };
        _presence.WorkDue += Wake;
        changes.PendingStored += Wake;
    }

    /// <summary>Whether the link to the XMPP server is up (the component, or in account mode the administrator's session).</summary>
    public bool IsConnected => _link.IsConnected;

    /// <summary>Since when the link has been down (the gateway's start when it never connected); <see langword="null"/> while connected.</summary>
    public DateTimeOffset? DisconnectedSince => IsConnected ? null : new DateTimeOffset(Interlocked.Read(ref _disconnectedSinceTicks), TimeSpan.Zero);

    /// <summary>What the link is, for logs and the health check ("component chat.example.org", "accounts on example.org").</summary>
    public string LinkName => _link.Name;

    /// <summary>Asks the loop to run now.</summary>
    public void Wake() => _wake.Writer.TryWrite(true);

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (IsConnected)
        {
            await _presence.LeaveAllAsync(cancellationToken);
        }

        await _link.DisposeAsync();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var delay = TimeSpan.FromSeconds(1);
        while (!stoppingToken.IsCancellationRequested)
        {
            if (_link.NeedsConnect)
            {
                try
                {
                    await _link.ConnectAsync(stoppingToken);
                    delay = TimeSpan.FromSeconds(1);
                    Log.Connected(_logger, LinkName);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception ex) when (ex is XmppException or TimeoutException)
                {
                    Log.ConnectFailed(_logger, LinkName, delay.TotalSeconds, ex);
                    await Task.Delay(delay, _time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                    delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxConnectDelay.Ticks));
                    continue;
                }
            }

            if (IsConnected)
            {
                try
                {
                    await _presence.AnnounceArrivingAsync(stoppingToken);
                    await _outbox.FlushAsync(stoppingToken);
                    await _presence.EndLingeringAsync(stoppingToken);
                }
                catch (ChatStoreException ex)
                {
                    // The outbox stays in the database; the next check (or wake) tries again.
                    XmppSideLog.StoreFailed(_logger, ex.Message);
                }
            }

            using var idle = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            idle.CancelAfter(IdleCheck);
            try
            {
                await _wake.Reader.ReadAsync(idle.Token);
            }
            catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
            {
                // The periodic check: retries pending messages and ends presences whose linger ran out.
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "XMPP link ({Link}) connected")]
        public static partial void Connected(ILogger logger, string link);

        [LoggerMessage(EventId = 101, Level = LogLevel.Warning, Message = "XMPP link ({Link}) could not connect; retrying in {Seconds} s")]
        public static partial void ConnectFailed(ILogger logger, string link, double seconds, Exception error);
    }
}
