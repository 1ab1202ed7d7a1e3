using Parley.Web.Storage;

namespace Parley.Web.Tests;

/// <summary>Messages the owner's client skipped go again, once: the same tests against SQLite and PostgreSQL.</summary>
public sealed partial class StoreContractTests
{
    [Theory]
    [MemberData(nameof(Providers))]
    public async Task A_receipt_for_a_later_message_sends_the_skipped_ones_since_the_last_acknowledged_again_once(string provider)
    {
        await using var db = await OpenAsync(provider);
        var alice = await db.Visitors.GetOrCreateAsync("guest", "a", "Alice", default);
        var bob = await db.Visitors.GetOrCreateAsync("guest", "b", "Bob", default);
        var old = await SentAsync(db, alice.Id, "old, before any receipt");
        var first = await SentAsync(db, alice.Id, "first");
        var lost = await SentAsync(db, alice.Id, "lost");
        var bounced = await SentAsync(db, alice.Id, "bounced");
        var alsoLost = await SentAsync(db, alice.Id, "also lost");
        var inFlight = await db.Messages.AddVisitorMessageAsync(alice.Id, "in flight", default);
        var acknowledged = await SentAsync(db, alice.Id, "acknowledged");
        var later = await SentAsync(db, alice.Id, "later");
        var bobs = await SentAsync(db, bob.Id, "bob's");
        await db.Messages.MarkUndeliveredAsync(alice.Id, bounced.StanzaId, default);
        var firstDelivered = await db.Messages.MarkDeliveredAsync(alice.Id, first.StanzaId, default);

        // The first receipt: the message before it had no acknowledged one before it and goes again.
        Assert.Equal([old.Id], (await db.Messages.ResendGapBeforeAsync(firstDelivered!, default)).Select(m => m.Id));

        // The next: what lies between the two acknowledged messages and the server confirmed, each as its own change;
        // not the bounced one, not the one still in flight, not a later one, not another visitor's.
        var lastSeq = (await db.Messages.GetChangesAsync(alice.Id, 0, 100, default)).Max(m => m.Seq);
        var delivered = await db.Messages.MarkDeliveredAsync(alice.Id, acknowledged.StanzaId, default);
        var resent = await db.Messages.ResendGapBeforeAsync(delivered!, default);
        Assert.Equal([(lost.Id, lastSeq + 2), (alsoLost.Id, lastSeq + 3)], resent.Select(m => (m.Id, m.Seq)));
        Assert.All(resent, m => Assert.Equal((MessageState.Pending, true), (m.State, m.Resent)));
        Assert.Equal([old.Id, lost.Id, alsoLost.Id, inFlight.Id], (await db.Outbox.ClaimAsync(10, default)).Select(m => m.Id));

        // Once: sent again and still not acknowledged, a later receipt does not repeat them, and a receipt for a copy sent
        // again starts no gap of its own.
        await db.Messages.AdvanceAsync(lost.Id, MessageState.Sent, default);
        await db.Messages.AdvanceAsync(alsoLost.Id, MessageState.Sent, default);
        Assert.Empty(await db.Messages.ResendGapBeforeAsync((await db.Messages.MarkDeliveredAsync(alice.Id, later.StanzaId, default))!, default));
        Assert.Empty(await db.Messages.ResendGapBeforeAsync((await db.Messages.MarkDeliveredAsync(alice.Id, alsoLost.StanzaId, default))!, default));
        Assert.Equal(MessageState.Sent, (await db.Messages.GetHistoryAsync(bob.Id, null, 10, default)).Single(m => m.Id == bobs.Id).State);
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task A_message_confirmed_after_the_owner_acknowledged_a_later_one_goes_again(string provider)
    {
        await using var db = await OpenAsync(provider);
        var alice = await db.Visitors.GetOrCreateAsync("guest", "a", "Alice", default);
        var skipped = await db.Messages.AddVisitorMessageAsync(alice.Id, "skipped", default);
        var next = await db.Messages.AddVisitorMessageAsync(alice.Id, "next", default);
        var last = await db.Messages.AddVisitorMessageAsync(alice.Id, "last", default);

        // The receipt for "next" overtakes the server's confirmation of the batch.
        await db.Messages.MarkDeliveredAsync(alice.Id, next.StanzaId, default);
        await db.Messages.AdvanceAsync(skipped.Id, MessageState.Sent, default);
        await db.Messages.AdvanceAsync(last.Id, MessageState.Sent, default);

        Assert.Equal([skipped.Id], (await db.Messages.ResendOvertakenAsync(alice.Id, skipped.Id, default)).Select(m => m.Id));
        Assert.Empty(await db.Messages.ResendOvertakenAsync(alice.Id, skipped.Id, default));
        Assert.Equal([skipped.Id], (await db.Outbox.ClaimAsync(10, default)).Select(m => m.Id));

        // Nothing acknowledged after them: nothing goes again.
        var alone = await SentAsync(db, alice.Id, "alone");
        Assert.Empty(await db.Messages.ResendOvertakenAsync(alice.Id, alone.Id, default));
    }

    private static async Task<ChatMessage> SentAsync(StoreUnderTest db, string visitorId, string text)
    {
        var message = await db.Messages.AddVisitorMessageAsync(visitorId, text, default);
        return (await db.Messages.AdvanceAsync(message.Id, MessageState.Sent, default))!;
    }
}
