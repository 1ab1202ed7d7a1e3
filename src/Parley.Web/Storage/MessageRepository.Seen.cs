namespace Parley.Web.Storage;

/// <summary>
/// "Seen" both ways (XEP-0333): a displayed marker names one message and says every earlier one of the chat was
/// displayed too, so one write moves a run of messages to <see cref="MessageState.Seen"/>, each as its own change.
/// </summary>
internal sealed partial class MessageRepository
{
    /// <summary>
    /// How many earlier messages one marker moves at most: the newest ones. A long conversation never marked before keeps
    /// its older messages as they were rather than making one write unbounded.
    /// </summary>
    internal const int MaxSeenPerMarker = 200;

    /// <summary>
    /// The owner's client displayed the visitor's message with this stanza id: it and the visitor's earlier messages
    /// become seen (never a bounced one, never backwards). A stanza id the visitor has no message with changes nothing.
    /// </summary>
    /// <returns>The messages that changed, in change order (empty when nothing did).</returns>
    /// <exception cref="ChatStoreException">The database is unavailable or full.</exception>
    public Task<IReadOnlyList<ChatMessage>> MarkSeenAsync(string visitorId, string stanzaId, CancellationToken cancellationToken)
        => MarkSeenThroughAsync(visitorId, "visitor", "stanza_id = @key", stanzaId, cancellationToken);

    /// <summary>
    /// A tab of the visitor showed the owner's message with this id: it and the owner's earlier messages become seen.
    /// Only the first call for a message changes it, so whoever gets it back tells the owner's client, once.
    /// </summary>
    /// <returns>The messages that changed, in change order (empty when nothing did).</returns>
    /// <exception cref="ChatStoreException">The database is unavailable or full.</exception>
    public Task<IReadOnlyList<ChatMessage>> MarkShownAsync(string visitorId, long messageId, CancellationToken cancellationToken)
        => MarkSeenThroughAsync(visitorId, "owner", "id = @key", messageId, cancellationToken);

    private Task<IReadOnlyList<ChatMessage>> MarkSeenThroughAsync(string visitorId, string direction, string target, object key, CancellationToken cancellationToken)
    {
        // What a marker would change, newest first: the named message (never a bounced one) and those before it.
        var candidates = $"""
            SELECT id FROM messages
            WHERE visitor_id = @visitor AND direction = @direction AND state IN ('pending', 'sent', 'delivered')
              AND id <= (SELECT id FROM messages WHERE visitor_id = @visitor AND direction = @direction AND {target} AND state <> 'undelivered')
            ORDER BY id DESC LIMIT @limit
            """;
        (string, object?)[] parameters = [("@visitor", visitorId), ("@direction", direction), ("@key", key), ("@limit", MaxSeenPerMarker)];

        return MoveRunAsync(visitorId, candidates, parameters, "state = 'seen'", cancellationToken);
    }
}
