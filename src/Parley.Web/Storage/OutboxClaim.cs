namespace Parley.Web.Storage;

/// <summary>
/// Pending messages taken for sending (<see cref="ChatStore.ClaimOutboxAsync"/>). On PostgreSQL the claim is a
/// transaction holding the messages' row locks, so a second gateway skips them; its marks commit together in
/// <see cref="CompleteAsync"/>. Dispose always; without <see cref="CompleteAsync"/> nothing is marked.
/// </summary>
internal abstract class OutboxClaim : IAsyncDisposable
{
    protected OutboxClaim(IReadOnlyList<ChatMessage> messages) => Messages = messages;

    /// <summary>The claimed messages, oldest first.</summary>
    public IReadOnlyList<ChatMessage> Messages { get; }

    /// <summary>Records that the owner was asked to subscribe to this visitor; true when this call was the first.</summary>
    /// <exception cref="ChatStoreException">The database is unavailable or full.</exception>
    public abstract Task<bool> MarkSubscriptionRequestedAsync(string visitorId, CancellationToken cancellationToken);

    /// <summary>Records that a claimed message was written to the XMPP connection.</summary>
    /// <exception cref="ChatStoreException">The database is unavailable or full.</exception>
    public abstract Task MarkSentAsync(ChatMessage message, CancellationToken cancellationToken);

    /// <summary>Makes the marks durable and visible, and releases the claim.</summary>
    /// <exception cref="ChatStoreException">The database is unavailable or full (the marks are lost: those messages are sent again later).</exception>
    public abstract Task CompleteAsync(CancellationToken cancellationToken);

    /// <inheritdoc/>
    public abstract ValueTask DisposeAsync();
}
