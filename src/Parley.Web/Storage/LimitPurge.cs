namespace Parley.Web.Storage;

/// <summary>
/// Keeps the tables of <see cref="LimitRepository"/> bounded: every <see cref="DefaultInterval"/> (or the interval
/// given) it deletes the used tokens and counters that expired. With several gateways each one purges; deleting what
/// another already deleted is harmless.
/// </summary>
internal sealed partial class LimitPurge(LimitRepository limits, TimeProvider time, ILogger<LimitPurge> logger, TimeSpan? interval = null) : BackgroundService
{
    /// <summary>How often expired rows are deleted.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromMinutes(1);

    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(interval ?? DefaultInterval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                var purged = await limits.PurgeAsync(stoppingToken);
                Log.Purged(logger, purged);
            }
            catch (ChatStoreException ex)
            {
                // The rows wait for the next round: an expired row that stays a little longer changes no answer.
                Log.PurgeFailed(logger, ex);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 310, Level = LogLevel.Debug, Message = "Deleted {Count} expired used tokens and rate-limit counters")]
        public static partial void Purged(ILogger logger, int count);

        [LoggerMessage(EventId = 311, Level = LogLevel.Warning, Message = "Could not delete expired used tokens and rate-limit counters; trying again in a minute")]
        public static partial void PurgeFailed(ILogger logger, Exception exception);
    }
}
