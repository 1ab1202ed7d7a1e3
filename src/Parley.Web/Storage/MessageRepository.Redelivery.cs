namespace Parley.Web.Storage;

/// <summary>
/// A visitor's message the server confirmed but the owner's client never acknowledged, while it acknowledged a later
/// one of the same visitor, did not reach that client: the server lost it in a crash, or left it in offline storage
/// because it arrived while the owner's client was signing in (ejabberd stores such a message after the client has
/// taken its offline messages). A client sends receipts alike for every message of one sender, and a server delivers
/// one sender's messages in order, so the gap is the signal. Such a message becomes pending again, once, and goes out
/// with its original stanza id.
/// </summary>
internal sealed partial class MessageRepository
{
    /// <summary>
    /// How many unacknowledged messages before an acknowledged one go again at most: the newest. A client that never
    /// sent receipts before (another of the owner's clients read them) then repeats no more than these.
    /// </summary>
    internal const int MaxResentPerGap = 50;

    private const string Unacknowledged = "visitor_id = @visitor AND direction = 'visitor' AND state = 'sent' AND resent = 0";
    private const string Acknowledged = "visitor_id = @visitor AND direction = 'visitor' AND state IN ('delivered', 'seen') AND resent = 0";

    /// <summary>
    /// The owner's client acknowledged <paramref name="acknowledged"/>: the visitor's messages the server confirmed
    /// between the acknowledged message before it and it, never acknowledged and never sent again, become pending
    /// again. An acknowledged copy sent again changes nothing (its gap went with it).
    /// </summary>
    /// <returns>The messages that changed, in change order (empty when nothing did).</returns>
    /// <exception cref="ChatStoreException">The database is unavailable or full.</exception>
    public Task<IReadOnlyList<ChatMessage>> ResendGapBeforeAsync(ChatMessage acknowledged, CancellationToken cancellationToken)
    {
        if (acknowledged.Direction != Direction.Visitor || acknowledged.Resent)
        {
            return Task.FromResult<IReadOnlyList<ChatMessage>>([]);
        }

        var candidates = $"""
            SELECT id FROM messages
            WHERE {Unacknowledged} AND id < @acknowledged
              AND id > COALESCE((SELECT MAX(id) FROM messages WHERE {Acknowledged} AND id < @acknowledged), 0)
            ORDER BY id DESC LIMIT @limit
            """;
        return MoveRunAsync(
            acknowledged.VisitorId,
            candidates,
            [("@visitor", acknowledged.VisitorId), ("@acknowledged", acknowledged.Id), ("@limit", MaxResentPerGap)],
            "state = 'pending', resent = 1",
            cancellationToken);
    }

    /// <summary>
    /// The server confirmed the visitor's messages from <paramref name="sinceId"/> on: those the owner's client has
    /// already acknowledged a later message than (its receipt overtook the confirmation) become pending again, once.
    /// </summary>
    /// <returns>The messages that changed, in change order (empty when nothing did).</returns>
    /// <exception cref="ChatStoreException">The database is unavailable or full.</exception>
    public Task<IReadOnlyList<ChatMessage>> ResendOvertakenAsync(string visitorId, long sinceId, CancellationToken cancellationToken)
    {
        var candidates = $"""
            SELECT id FROM messages
            WHERE {Unacknowledged} AND id >= @since
              AND id < (SELECT MAX(id) FROM messages WHERE {Acknowledged} AND id > @since)
            ORDER BY id DESC LIMIT @limit
            """;
        return MoveRunAsync(visitorId, candidates, [("@visitor", visitorId), ("@since", sinceId), ("@limit", MaxResentPerGap)], "state = 'pending', resent = 1", cancellationToken);
    }
}
