using System.Data.Common;

namespace Parley.Web.Storage;

/// <summary>
/// How the store announces committed changes of conversations, without knowing who listens: the tabs of a visitor
/// (through an <see cref="IChangeListener"/>) and the outbox (<see cref="PendingStored"/>). <see cref="SqliteChangeFeed"/>
/// publishes each change in-process at commit; <see cref="PostgresChangeFeed"/> announces it with NOTIFY, so every
/// gateway sharing the database hears every change.
/// </summary>
/// <remarks>A visitor's changes reach the listeners in seq order. When changes may have been missed, the listeners are told to catch up from the store.</remarks>
internal interface IChangeFeed
{
    /// <summary>Raised when a new pending message was stored (by this gateway or, sharing a database, by another): the outbox has work.</summary>
    event Action? PendingStored;

    /// <summary>Adds a listener of committed changes (at start-up, before the first change).</summary>
    void Subscribe(IChangeListener listener);

    /// <summary>Runs inside the transaction of a change just before it commits (the message repository calls it).</summary>
    Task AnnounceAsync(DbConnection connection, DbTransaction transaction, ChatMessage change, CancellationToken cancellationToken);

    /// <summary>Runs after a change of this process committed, still in commit order (the message repository calls it).</summary>
    void Committed(ChatMessage change);
}

/// <summary>Who hears of committed changes through an <see cref="IChangeFeed"/>.</summary>
internal interface IChangeListener
{
    /// <summary>Whether changes of this visitor are wanted now; a feed that must read a change from the database reads only those.</summary>
    bool Wants(string visitorId);

    /// <summary>A message was stored or changed (committed).</summary>
    void OnChange(ChatMessage change);

    /// <summary>Changes of this visitor (<see langword="null"/>: of any visitor) may have been missed: catch up from the store.</summary>
    void OnMissed(string? visitorId);
}

/// <summary>The SQLite feed: one gateway process, so every change is published here at commit, in commit order.</summary>
internal sealed class SqliteChangeFeed : IChangeFeed
{
    private readonly List<IChangeListener> _listeners = [];

    /// <inheritdoc/>
    public event Action? PendingStored;

    /// <inheritdoc/>
    public void Subscribe(IChangeListener listener) => _listeners.Add(listener);

    /// <inheritdoc/>
    public Task AnnounceAsync(DbConnection connection, DbTransaction transaction, ChatMessage change, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc/>
    public void Committed(ChatMessage change)
    {
        foreach (var listener in _listeners)
        {
            listener.OnChange(change);
        }

        if (change.State == MessageState.Pending)
        {
            PendingStored?.Invoke();
        }
    }
}
