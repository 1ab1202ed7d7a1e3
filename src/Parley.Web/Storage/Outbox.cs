namespace Parley.Web.Storage;

/// <summary>
/// The visitors' messages waiting to be sent: the pending rows, in the order they were written. This is the outbox of
/// a single gateway (SQLite): a claim is a plain read, and each message is marked sent on its own.
/// <see cref="PostgresOutbox"/> shares the outbox between gateways.
/// </summary>
internal class Outbox(MessageRepository messages)
{
    /// <summary>
    /// Takes up to <paramref name="limit"/> pending messages to send, oldest first. No transaction stays open: mark
    /// each message with <see cref="MarkSentAsync"/> once the XMPP server has confirmed it; an unmarked one stays
    /// pending and is handed out again.
    /// </summary>
    /// <exception cref="ChatStoreException">The database is unavailable.</exception>
    public virtual async Task<IReadOnlyList<ChatMessage>> ClaimAsync(int limit, CancellationToken cancellationToken)
        => await messages.GetPendingAsync(limit, cancellationToken);

    /// <summary>Records that the XMPP server confirmed a claimed message (the feed announces the change).</summary>
    /// <exception cref="ChatStoreException">The database is unavailable or full.</exception>
    public virtual Task MarkSentAsync(ChatMessage message, CancellationToken cancellationToken)
        => messages.AdvanceAsync(message.Id, MessageState.Sent, cancellationToken);
}
