using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Parley.Xmpp.Tests.Support;

/// <summary>Collects every log line in memory (and optionally a file) so tests can assert on logs, e.g. that secrets never reach them.</summary>
internal sealed class CapturingLoggerFactory(string? filePath = null) : ILoggerFactory
{
    private readonly Lock _fileLock = new();

    public ConcurrentQueue<(string Category, LogLevel Level, EventId Id, string Message)> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException();

    public void Dispose()
    {
    }

    private void Write(string category, LogLevel level, EventId id, string message)
    {
        Entries.Enqueue((category, level, id, message));
        if (filePath is not null)
        {
            lock (_fileLock)
            {
                File.AppendAllText(filePath, $"{DateTime.UtcNow:HH:mm:ss.fff} {level} {category}[{id.Id}] {message}\n");
            }
        }
    }

    private sealed class Logger(CapturingLoggerFactory owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => owner.Write(category, logLevel, eventId, formatter(state, exception) + (exception is null ? string.Empty : $" | {exception.GetType().Name}: {exception.Message}"));
    }
}
