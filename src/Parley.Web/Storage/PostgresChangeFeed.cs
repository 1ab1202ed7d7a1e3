using System.Threading.Channels;
using Npgsql;
using Parley.Web.Chat;

namespace Parley.Web.Storage;

/// <summary>
/// Listens on the PostgreSQL change channel and pushes each announced change to this gateway's tabs of that visitor:
/// the change may have been written by any gateway sharing the database. Changes of visitors with no tab here are not read.
/// </summary>
/// <remarks>
/// Announcements arrive in commit order, and a visitor's changes commit in seq order, so the tabs see them in order.
/// Whenever announcements may have been missed (the listening connection dropped, or the queue overflowed), every tab
/// is disconnected: the browser reconnects at once and catches up from the store with its last seq.
/// </remarks>
internal sealed partial class PostgresChangeFeed : BackgroundService
{
    private const int QueueCapacity = 4096;
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(30);

    private readonly PostgresChatStore _store;
    private readonly ChatHub _hub;
    private readonly TimeProvider _time;
    private readonly ILogger<PostgresChangeFeed> _logger;
    private readonly Channel<string> _queue = Channel.CreateBounded<string>(new BoundedChannelOptions(QueueCapacity)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.DropWrite,
    });

    private readonly TaskCompletionSource _firstAttempt = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _overflowed;

    public PostgresChangeFeed(ChatStore store, ChatHub hub, TimeProvider time, ILogger<PostgresChangeFeed> logger)
    {
        _store = store as PostgresChatStore ?? throw new InvalidOperationException("The PostgreSQL change feed needs the PostgreSQL store.");
        _hub = hub;
        _time = time;
        _logger = logger;
    }

    /// <summary>Raised when any gateway stored a new pending message: this gateway's outbox may have work (the claim decides who sends it).</summary>
    public event Action? PendingAnnounced;

    /// <summary>Whether the listening connection is up.</summary>
    public bool IsListening { get; private set; }

    /// <summary>Starts listening; returns once the first LISTEN succeeded or failed, so start-up does not race the first change.</summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await base.StartAsync(cancellationToken);
        await _firstAttempt.Task.WaitAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var publisher = PublishLoopAsync(stoppingToken);
        try
        {
            await ListenLoopAsync(stoppingToken);
        }
        finally
        {
            _queue.Writer.TryComplete();
            await publisher;
        }
    }

    private async Task ListenLoopAsync(CancellationToken stoppingToken)
    {
        var delay = TimeSpan.FromSeconds(1);
        var everListened = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await _store.DataSource.OpenConnectionAsync(stoppingToken);
                connection.Notification += OnNotification;
                await using (var listen = connection.CreateCommand())
                {
                    listen.CommandText = "LISTEN " + PostgresChatStore.ChangeChannel;
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }

                IsListening = true;
                delay = TimeSpan.FromSeconds(1);
                _firstAttempt.TrySetResult();
                if (everListened)
                {
                    // Changes committed while we were not listening were never announced to us.
                    Log.Resumed(_logger);
                    _hub.DisconnectAll();
                }

                everListened = true;
                while (true)
                {
                    await connection.WaitAsync(stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception error) when (error is NpgsqlException or TimeoutException or IOException)
            {
                IsListening = false;
                _firstAttempt.TrySetResult();
                Log.ListenFailed(_logger, delay.TotalSeconds, error);
                await Task.Delay(delay, _time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetryDelay.Ticks));
            }
        }
    }

    private void OnNotification(object sender, NpgsqlNotificationEventArgs e)
    {
        if (!_queue.Writer.TryWrite(e.Payload))
        {
            Volatile.Write(ref _overflowed, 1);
        }
    }

    private async Task PublishLoopAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var payload in _queue.Reader.ReadAllAsync(stoppingToken))
            {
                if (Interlocked.Exchange(ref _overflowed, 0) == 1)
                {
                    Log.Overflowed(_logger);
                    _hub.DisconnectAll();
                }

                if (!PostgresChatStore.TryParseChange(payload, out var visitorId, out var seq, out var pending))
                {
                    continue;
                }

                if (pending)
                {
                    PendingAnnounced?.Invoke();
                }

                if (!_hub.IsOnline(visitorId))
                {
                    continue;
                }

                try
                {
                    // Null: a later change of the same message took its place; that one is announced too.
                    if (await _store.GetChangeAsync(visitorId, seq, stoppingToken) is { } change)
                    {
                        _hub.PublishMessage(change);
                    }
                }
                catch (ChatStoreException error)
                {
                    Log.ReadFailed(_logger, visitorId, seq, error);
                    _hub.DisconnectVisitor(visitorId);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 300, Level = LogLevel.Warning, Message = "Listening for PostgreSQL change announcements failed; retrying in {Seconds} s")]
        public static partial void ListenFailed(ILogger logger, double seconds, Exception error);

        [LoggerMessage(EventId = 301, Level = LogLevel.Information, Message = "Listening for PostgreSQL change announcements again; open tabs reconnect to catch up")]
        public static partial void Resumed(ILogger logger);

        [LoggerMessage(EventId = 302, Level = LogLevel.Warning, Message = "Too many change announcements queued; open tabs reconnect to catch up")]
        public static partial void Overflowed(ILogger logger);

        [LoggerMessage(EventId = 303, Level = LogLevel.Warning, Message = "Could not read change {Seq} of visitor {Visitor}; their tabs reconnect to catch up")]
        public static partial void ReadFailed(ILogger logger, string visitor, long seq, Exception error);
    }
}
