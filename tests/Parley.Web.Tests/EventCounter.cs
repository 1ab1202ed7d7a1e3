using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Parley.Web.Tests;

/// <summary>Counts log events by id in one running gateway (added to its logger factory after start).</summary>
internal sealed class EventCounter : ILoggerProvider, ILogger
{
    private readonly ConcurrentDictionary<int, int> _counts = new();

    public static EventCounter AttachTo(GatewayHost host)
    {
        var counter = new EventCounter();
        host.Services.GetRequiredService<ILoggerFactory>().AddProvider(counter);
        return counter;
    }

    public int Count(int eventId) => _counts.GetValueOrDefault(eventId);

    public ILogger CreateLogger(string categoryName) => this;

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        => _counts.AddOrUpdate(eventId.Id, 1, static (_, n) => n + 1);

    public void Dispose()
    {
    }
}
