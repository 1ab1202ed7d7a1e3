using System.Data.Common;
using System.Globalization;
using System.Threading.Channels;
using Npgsql;

namespace Parley.Web.Storage;

/// <summary>
/// The change feed of a PostgreSQL store: every committed change is announced with NOTIFY on <see cref="NotifyChannel"/>
/// (payload "visitor-id seq state"), and every gateway sharing the database listens there and hands each change to its
/// listeners — the change may have been written by any gateway. A change is read from the database only when a
/// listener <see cref="IChangeListener.Wants"/> its visitor.
/// </summary>
/// <remarks>
/// Announcements arrive in commit order, and a visitor's changes commit in seq order, so the tabs see them in order.
/// Whenever announcements may have been missed (the listening connection dropped, or the queue overflowed), every tab
/// listener is told (<see cref="IChangeListener.OnMissed"/>) to catch up from the store.
/// </remarks>
internal sealed partial class PostgresChangeFeed : BackgroundService, IChangeFeed
{
    /// <summary>The NOTIFY channel of committed message changes.</summary>
    public const string NotifyChannel = "parley_changes";

    private const int QueueCapacity = 4096;
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(30);

    private readonly PostgresDatabase _database;
    private readonly MessageRepository _messages;
    private readonly List<IChangeListener> _listeners = [];
    private readonly TimeProvider _time;
    private readonly ILogger<PostgresChangeFeed> _logger;
    private readonly Channel<string> _queue = Channel.CreateBounded<string>(new BoundedChannelOptions(QueueCapacity)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.DropWrite,
    });

    private readonly TaskCompletionSource _firstAttempt = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _overflowed;

    public PostgresChangeFeed(PostgresDatabase database, TimeProvider time, ILogger<PostgresChangeFeed> logger)
    {
        _database = database;
        _messages = new MessageRepository(database, this);
        _time = time;
        _logger = logger;
    }

    /// <inheritdoc/>
    /// <remarks>Raised for this gateway's own messages at commit, and for every gateway's when the announcement arrives (the claim decides who sends it).</remarks>
    public event Action? PendingStored;

    /// <summary>Whether the listening connection is up.</summary>
    public bool IsListening { get; private set; }

    /// <inheritdoc/>
    public void Subscribe(IChangeListener listener) => _listeners.Add(listener);

    /// <inheritdoc/>
    /// <remarks>Delivered at commit, in commit order; a rolled-back change announces nothing.</remarks>
    public async Task AnnounceAsync(DbConnection connection, DbTransaction transaction, ChatMessage change, CancellationToken cancellationToken)
    {
        await using var notify = StoreDatabase.Command(connection, transaction, "SELECT pg_notify(@channel, @payload)", ("@channel", NotifyChannel), ("@payload", FormatChange(change)));
        await notify.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <inheritdoc/>
    /// <remarks>The listeners hear of the change when its announcement arrives; the outbox is woken at once.</remarks>
    public void Committed(ChatMessage change)
    {
        if (change.State == MessageState.Pending)
        {
            PendingStored?.Invoke();
        }
    }

    internal static string FormatChange(ChatMessage change)
        => string.Create(CultureInfo.InvariantCulture, $"{change.VisitorId} {change.Seq} {MessageRepository.StateName(change.State)}");

    /// <summary>Reads a change announcement: visitor id, seq, and whether the message is now pending (the outbox grew).</summary>
    internal static bool TryParseChange(string payload, out string visitorId, out long seq, out bool pending)
    {
        visitorId = "";
        seq = 0;
        pending = false;
        var parts = payload.Split(' ');
        if (parts.Length != 3 || parts[0].Length is 0 or > 64
            || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out seq))
        {
            return false;
        }

        visitorId = parts[0];
        pending = parts[2] == MessageRepository.StateName(MessageState.Pending);
        return true;
    }

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
                await using var connection = await _database.DataSource.OpenConnectionAsync(stoppingToken);
                connection.Notification += OnNotification;
                await using (var listen = connection.CreateCommand())
                {
                    listen.CommandText = "LISTEN " + NotifyChannel;
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }

                IsListening = true;
                delay = TimeSpan.FromSeconds(1);
                _firstAttempt.TrySetResult();
                if (everListened)
                {
                    // Changes committed while we were not listening were never announced to us.
                    Log.Resumed(_logger);
                    Missed(null);
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
                    Missed(null);
                }

                if (!TryParseChange(payload, out var visitorId, out var seq, out var pending))
                {
                    continue;
                }

                if (pending)
                {
                    PendingStored?.Invoke();
                }

                if (!_listeners.Exists(listener => listener.Wants(visitorId)))
                {
                    continue;
                }

                try
                {
                    // Null: a later change of the same message took its place; that one is announced too.
                    if (await _messages.GetChangeAsync(visitorId, seq, stoppingToken) is { } change)
                    {
                        foreach (var listener in _listeners)
                        {
                            listener.OnChange(change);
                        }
                    }
                }
                catch (ChatStoreException error)
                {
                    Log.ReadFailed(_logger, visitorId, seq, error);
                    Missed(visitorId);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    private void Missed(string? visitorId)
    {
        foreach (var listener in _listeners)
        {
            listener.OnMissed(visitorId);
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
