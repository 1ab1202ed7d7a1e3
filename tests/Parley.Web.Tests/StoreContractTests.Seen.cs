using Microsoft.Data.Sqlite;
using Parley.Web.Storage;

namespace Parley.Web.Tests;

/// <summary>Client ids and the seen state (chat markers): the same tests against SQLite and PostgreSQL.</summary>
public sealed partial class StoreContractTests
{
    [Theory]
    [MemberData(nameof(Providers))]
    public async Task A_client_id_stores_a_visitors_message_once_and_another_visitor_may_use_the_same_id(string provider)
    {
        await using var db = await OpenAsync(provider);
        var alice = await db.Visitors.GetOrCreateAsync("guest", "a", "Alice", default);
        var bob = await db.Visitors.GetOrCreateAsync("guest", "b", "Bob", default);

        var (first, created) = await db.Messages.AddVisitorMessageAsync(alice.Id, "hello", "c-1", default);
        Assert.True(created);
        Assert.Equal("c-1", first.ClientId);
        var (again, createdAgain) = await db.Messages.AddVisitorMessageAsync(alice.Id, "hello", "c-1", default);
        Assert.False(createdAgain);
        Assert.Equal(first, again);

        // The replay took no change number; the next message gets the next one.
        var (other, _) = await db.Messages.AddVisitorMessageAsync(alice.Id, "second", "c-2", default);
        Assert.Equal(first.Seq + 1, other.Seq);
        Assert.True((await db.Messages.AddVisitorMessageAsync(bob.Id, "hello", "c-1", default)).Created);
        Assert.True((await db.Messages.AddVisitorMessageAsync(alice.Id, "no id", null, default)).Created);
        Assert.True((await db.Messages.AddVisitorMessageAsync(alice.Id, "no id", null, default)).Created);

        Assert.Equal(["hello", "second", "no id", "no id"], (await db.Messages.GetHistoryAsync(alice.Id, null, 10, default)).Select(m => m.Text));
        Assert.Equal(4, (await db.Outbox.ClaimAsync(10, default)).Count(m => m.VisitorId == alice.Id));
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task A_displayed_marker_makes_that_message_and_the_earlier_ones_seen_each_as_its_own_change(string provider)
    {
        await using var db = await OpenAsync(provider);
        var alice = await db.Visitors.GetOrCreateAsync("guest", "a", "Alice", default);
        var bob = await db.Visitors.GetOrCreateAsync("guest", "b", "Bob", default);
        var one = await db.Messages.AddVisitorMessageAsync(alice.Id, "one", default);
        var bounced = await db.Messages.AddVisitorMessageAsync(alice.Id, "bounced", default);
        var two = await db.Messages.AddVisitorMessageAsync(alice.Id, "two", default);
        var three = await db.Messages.AddVisitorMessageAsync(alice.Id, "three", default);
        var bobs = await db.Messages.AddVisitorMessageAsync(bob.Id, "bob's", default);
        await db.Messages.AdvanceAsync(one.Id, MessageState.Sent, default);
        await db.Messages.MarkDeliveredAsync(alice.Id, two.StanzaId, default);
        await db.Messages.MarkUndeliveredAsync(alice.Id, bounced.StanzaId, default);

        // Another visitor's stanza id, or one nobody has, changes nothing.
        Assert.Empty(await db.Messages.MarkSeenAsync(alice.Id, bobs.StanzaId, default));
        Assert.Empty(await db.Messages.MarkSeenAsync(alice.Id, "web-unknown", default));
        Assert.Empty(await db.Messages.MarkSeenAsync(alice.Id, bounced.StanzaId, default));

        var lastSeq = (await db.Messages.GetChangesAsync(alice.Id, 0, 100, default)).Max(m => m.Seq);
        var seen = await db.Messages.MarkSeenAsync(alice.Id, two.StanzaId, default);
        Assert.Equal([(one.Id, lastSeq + 1), (two.Id, lastSeq + 2)], seen.Select(m => (m.Id, m.Seq)));
        Assert.All(seen, m => Assert.Equal(MessageState.Seen, m.State));
        Assert.Equal(seen[1], await db.Messages.GetChangeAsync(alice.Id, lastSeq + 2, default));

        // Never backwards: a late receipt or "sent", or the same marker again, changes nothing; a later marker moves on.
        Assert.Null(await db.Messages.MarkDeliveredAsync(alice.Id, one.StanzaId, default));
        Assert.Null(await db.Messages.AdvanceAsync(two.Id, MessageState.Sent, default));
        Assert.Empty(await db.Messages.MarkSeenAsync(alice.Id, two.StanzaId, default));
        Assert.Equal([three.Id], (await db.Messages.MarkSeenAsync(alice.Id, three.StanzaId, default)).Select(m => m.Id));

        var history = await db.Messages.GetHistoryAsync(alice.Id, null, 10, default);
        Assert.Equal([MessageState.Seen, MessageState.Undelivered, MessageState.Seen, MessageState.Seen], history.Select(m => m.State));
        Assert.Equal(MessageState.Pending, (await db.Messages.GetHistoryAsync(bob.Id, null, 10, default)).Single().State);
        Assert.DoesNotContain(await db.Outbox.ClaimAsync(10, default), m => m.VisitorId == alice.Id);
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task An_owners_reply_a_tab_has_shown_is_seen_once_and_keeps_whether_it_asked_for_markers(string provider)
    {
        await using var db = await OpenAsync(provider);
        var alice = await db.Visitors.GetOrCreateAsync("guest", "a", "Alice", default);
        var plain = await db.Messages.AddOwnerMessageAsync(alice.Id, "plain", "o-1", default);
        var visitors = await db.Messages.AddVisitorMessageAsync(alice.Id, "question", default);
        var markable = await db.Messages.AddOwnerMessageAsync(alice.Id, "markable", "o-2", null, markable: true, default);
        var later = await db.Messages.AddOwnerMessageAsync(alice.Id, "later", "o-3", null, markable: true, default);
        Assert.False(plain!.Markable);
        Assert.True(markable!.Markable);

        // A visitor's message id is not the owner's: nothing. The owner's messages up to the one named: both, once.
        Assert.Empty(await db.Messages.MarkShownAsync(alice.Id, visitors.Id, default));
        var shown = await db.Messages.MarkShownAsync(alice.Id, markable.Id, default);
        Assert.Equal([(plain.Id, false), (markable.Id, true)], shown.Select(m => (m.Id, m.Markable)));
        Assert.Empty(await db.Messages.MarkShownAsync(alice.Id, markable.Id, default));
        Assert.Equal(MessageState.Pending, (await db.Messages.GetHistoryAsync(alice.Id, null, 10, default)).Single(m => m.Id == visitors.Id).State);
        Assert.Equal(MessageState.Sent, (await db.Messages.GetHistoryAsync(alice.Id, null, 10, default)).Single(m => m.Id == later!.Id).State);
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task A_store_from_before_chat_markers_keeps_its_messages_and_takes_seen_and_client_ids(string provider)
    {
        var location = provider == StoreUnderTest.Postgres ? await postgres.CreateDatabaseAsync() : StoreUnderTest.NewSqlitePath();
        await using (StoreDatabase current = provider == StoreUnderTest.Postgres ? new PostgresDatabase(location, TimeProvider.System) : new SqliteDatabase(location, TimeProvider.System))
        {
            await new StoreMigrator(new EarlierSchema(current, current.Migrations.ToList().IndexOf(SharedMigrations.ClientIdAndMarkable) - 1)).InitializeAsync(default);
        }

        await ExecuteAsync(provider, location, """
            INSERT INTO visitors (id, issuer, subject, display_name, created_at, subscription_requested, last_seq) VALUES ('alice', 'guest', 'a', 'Alice', 0, 1, 3);
            INSERT INTO messages (visitor_id, direction, text, created_at, state, stanza_id, seq, automatic) VALUES
                ('alice', 'visitor', 'hello', 0, 'undelivered', 'web-1', 1, 0),
                ('alice', 'visitor', 'again', 1, 'delivered', 'web-2', 2, 0),
                ('alice', 'owner', 'hi', 2, 'sent', 'o-1', 3, 0);
            """);

        await using var db = await StoreUnderTest.OpenAsync(provider, location);
        var history = await db.Messages.GetHistoryAsync("alice", null, 10, default);
        Assert.Equal([("hello", MessageState.Undelivered, (string?)null, false), ("again", MessageState.Delivered, null, false), ("hi", MessageState.Sent, null, false)],
            history.Select(m => (m.Text, m.State, m.ClientId, m.Markable)));
        Assert.Equal([history[1].Id], (await db.Messages.MarkSeenAsync("alice", "web-2", default)).Select(m => m.Id));
        Assert.True((await db.Messages.AddVisitorMessageAsync("alice", "new", "c-1", default)).Created);
        Assert.False((await db.Messages.AddVisitorMessageAsync("alice", "new", "c-1", default)).Created);
        if (provider == StoreUnderTest.Sqlite)
        {
            SqliteConnection.ClearAllPools();
        }
    }
}
