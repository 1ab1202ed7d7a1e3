using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Parley.Xmpp.Core;

namespace Parley.Bots.Hosting;

/// <summary>
/// Starts every enabled bot when the host starts (one client per bot account) and stops them when it stops.
/// A bot whose server cannot be reached yet keeps trying in the background; wrong credentials or an untrusted
/// certificate stop the host at start-up.
/// </summary>
public sealed partial class BotHostedService : IHostedService, IAsyncDisposable
{
    private readonly BotHostOptions _options;
    private readonly IHostEnvironment _environment;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly BotMetrics _metrics;
    private readonly bool _ownsMetrics;
    private readonly HttpClient _http = new(new SocketsHttpHandler { PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1) }) { Timeout = Timeout.InfiniteTimeSpan };
    private readonly List<BotRunner> _runners = [];
    private readonly List<Task> _retries = [];
    private readonly CancellationTokenSource _stopping = new();
    private string _stateDirectory = string.Empty;

    /// <summary>Creates the service (done by the host).</summary>
    /// <param name="options">The validated bot options.</param>
    /// <param name="environment">The host environment (for the default state folder).</param>
    /// <param name="loggerFactory">Where to log.</param>
    /// <param name="time">The clock.</param>
    /// <param name="metrics">Where the bots count their work; <see langword="null"/> for a meter of the host's own.</param>
    public BotHostedService(IOptions<BotHostOptions> options, IHostEnvironment environment, ILoggerFactory loggerFactory, TimeProvider? time = null, BotMetrics? metrics = null)
    {
        _ownsMetrics = metrics is null;
        _metrics = metrics ?? new BotMetrics();
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _environment = environment;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<BotHostedService>();
        _time = time ?? TimeProvider.System;
    }

    /// <summary>The running bots.</summary>
    public IReadOnlyList<BotRunner> Runners => _runners;

    /// <summary>Starts the bots.</summary>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <exception cref="XmppAuthenticationException">A bot's credentials were refused.</exception>
    /// <exception cref="XmppTlsException">A bot's server certificate is not trusted.</exception>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _stateDirectory = _options.StateDirectory ?? Environment.GetEnvironmentVariable("STATE_DIRECTORY")?.Split(':')[0] ?? Path.Combine(_environment.ContentRootPath, "state");
        foreach (var (name, options) in _options.Bots.Where(b => b.Value.Enabled))
        {
            var runner = BotFactory.Create(name, options, _stateDirectory, _http, _loggerFactory, _time, _metrics);
            _runners.Add(runner);
            try
            {
                await runner.StartAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (XmppTransportException ex) when (ex.IsTransient)
            {
                LogRetrying(_logger, name, ex.Message);
                _retries.Add(RetryAsync(name, options, _stopping.Token));
            }
        }
    }

    /// <summary>Stops every bot: running work gets until <paramref name="cancellationToken"/> fires, then is cancelled.</summary>
    /// <param name="cancellationToken">Signalled when the shutdown must end now.</param>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_retries).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        List<BotRunner> runners;
        lock (_runners)
        {
            runners = [.. _runners];
        }

        await Task.WhenAll(runners.Select(r => r.StopAsync(cancellationToken))).ConfigureAwait(false);
    }

    /// <summary>Disposes the bots' clients.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var runner in _runners)
        {
            await runner.DisposeAsync().ConfigureAwait(false);
        }

        _http.Dispose();
        _stopping.Dispose();
        if (_ownsMetrics)
        {
            _metrics.Dispose();
        }
    }

    private async Task RetryAsync(string name, BotOptions options, CancellationToken cancellationToken)
    {
        for (var attempt = 1; !cancellationToken.IsCancellationRequested; attempt++)
        {
            await Task.Delay(TimeSpan.FromSeconds(Math.Min(60, 1 << Math.Min(attempt, 6))), _time, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (cancellationToken.IsCancellationRequested)
            {
                return;
            }

            // A runner starts once; a failed one is replaced by a fresh one.
            var runner = BotFactory.Create(name, options, _stateDirectory, _http, _loggerFactory, _time, _metrics);
            try
            {
                await runner.StartAsync(cancellationToken).ConfigureAwait(false);
                lock (_runners)
                {
                    _runners.RemoveAll(r => r.Name == name);
                    _runners.Add(runner);
                }

                return;
            }
            catch (Exception ex) when (ex is XmppException or TimeoutException or OperationCanceledException)
            {
                await runner.DisposeAsync().ConfigureAwait(false);
                LogRetrying(_logger, name, ex.Message);
            }
        }
    }

    [LoggerMessage(8300, LogLevel.Warning, "Bot {Bot} could not connect yet ({Reason}); retrying")]
    private static partial void LogRetrying(ILogger logger, string bot, string reason);
}
