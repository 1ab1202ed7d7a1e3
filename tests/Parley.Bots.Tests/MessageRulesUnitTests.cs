using Microsoft.Extensions.Time.Testing;
using Parley.Xmpp.Core;

namespace Parley.Bots.Tests;

public sealed class MessageRulesUnitTests
{
    private static readonly Jid Bot = Jid.Parse("bot@example.org");
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    private static Message From(string from, string? body, MessageType type = MessageType.Chat) => new(Bot, body, type) { From = Jid.Parse(from) };

    [Theory]
    [InlineData(MessageType.Error, MessageVerdict.NotChat)]
    [InlineData(MessageType.GroupChat, MessageVerdict.NotChat)]
    [InlineData(MessageType.Headline, MessageVerdict.NotChat)]
    [InlineData(MessageType.Chat, MessageVerdict.Accepted)]
    [InlineData(MessageType.Normal, MessageVerdict.Accepted)]
    public void Only_chat_and_normal_messages_pass(MessageType type, MessageVerdict expected)
    {
        var rules = new MessageRules(AllowList.Everyone, null);
        Assert.Equal(expected, rules.Evaluate(From("a@example.org/x", "hi", type), Bot, Start));
    }

    [Fact]
    public void Bodiless_own_and_marked_messages_are_refused()
    {
        var rules = new MessageRules(AllowList.Everyone, null);
        Assert.Equal(MessageVerdict.NoBody, rules.Evaluate(From("a@example.org/x", null), Bot, Start));
        Assert.Equal(MessageVerdict.NoBody, rules.Evaluate(From("a@example.org/x", " \n"), Bot, Start));
        Assert.Equal(MessageVerdict.FromSelf, rules.Evaluate(From("bot@example.org/other", "hi"), Bot, Start));
        Assert.Equal(MessageVerdict.FromSelf, rules.Evaluate(new Message(Bot, "no sender"), Bot, Start));
        var marked = From("a@example.org/x", "hi");
        AutoSubmitted.Mark(marked, AutoSubmitted.AutoReplied);
        Assert.Equal(MessageVerdict.AutoSubmitted, rules.Evaluate(marked, Bot, Start));
        var notAuto = From("a@example.org/x", "hi");
        AutoSubmitted.Mark(notAuto, "no");
        Assert.Equal(MessageVerdict.Accepted, rules.Evaluate(notAuto, Bot, Start));
    }

    [Fact]
    public void Offline_messages_from_before_the_start_are_refused_unless_configured()
    {
        var old = From("a@example.org/x", "hi");
        old.Add(new Delay(Start.AddMinutes(-5), null, null).ToElement());
        Assert.Equal(MessageVerdict.OldOfflineMessage, new MessageRules(AllowList.Everyone, null).Evaluate(old, Bot, Start));
        Assert.Equal(MessageVerdict.Accepted, new MessageRules(AllowList.Everyone, null, answerOfflineMessages: true).Evaluate(old, Bot, Start));
    }

    [Fact]
    public void A_message_stored_offline_while_the_bot_was_starting_is_answered_despite_a_whole_second_stamp()
    {
        // Regression: Prosody stamps offline messages in whole seconds; a message that raced the first presence
        // carried a stamp just before the start and was dropped as "old".
        var startedAt = Start.AddMilliseconds(900);
        var raced = From("a@example.org/x", "are you there?");
        raced.Add(new Delay(Start, null, "Offline Storage").ToElement());
        Assert.Equal(MessageVerdict.Accepted, new MessageRules(AllowList.Everyone, null).Evaluate(raced, Bot, startedAt));
    }

    [Fact]
    public void The_allow_list_takes_users_domains_and_subdomains()
    {
        var list = AllowList.Parse(["alice@example.org", "partner.example", "*.corp.example"]);
        Assert.True(list.Allows(Jid.Parse("alice@example.org/phone")));
        Assert.False(list.Allows(Jid.Parse("bob@example.org/phone")));
        Assert.True(list.Allows(Jid.Parse("anyone@partner.example")));
        Assert.False(list.Allows(Jid.Parse("anyone@sub.partner.example")));
        Assert.True(list.Allows(Jid.Parse("x@eu.corp.example")));
        Assert.False(list.Allows(Jid.Parse("x@corp.example.evil")));
        Assert.Throws<FormatException>(() => AllowList.Parse(["alice@example.org/res"]));
        Assert.True(AllowList.Parse([]).Allows(Jid.Parse("x@y")));
    }

    [Fact]
    public void The_token_bucket_allows_a_burst_then_refills_per_sender()
    {
        var time = new FakeTimeProvider();
        var limiter = new SenderRateLimiter(burst: 2, perMinute: 6, time); // one token per 10 s
        var alice = Jid.Parse("alice@example.org");
        Assert.True(limiter.TryTake(alice));
        Assert.True(limiter.TryTake(alice));
        Assert.False(limiter.TryTake(alice));
        Assert.True(limiter.TryTake(Jid.Parse("bob@example.org")));
        time.Advance(TimeSpan.FromSeconds(9));
        Assert.False(limiter.TryTake(alice));
        time.Advance(TimeSpan.FromSeconds(1.5));
        Assert.True(limiter.TryTake(alice));
        Assert.False(limiter.TryTake(alice));
        time.Advance(TimeSpan.FromHours(1));
        Assert.True(limiter.TryTake(alice));
        Assert.True(limiter.TryTake(alice));
        Assert.False(limiter.TryTake(alice)); // never more than the burst
    }

    [Fact]
    public void A_run_of_refusals_asks_for_one_notice_says_when_to_retry_and_is_counted_when_it_ends()
    {
        var time = new FakeTimeProvider();
        var limiter = new SenderRateLimiter(burst: 1, perMinute: 6, time); // one token per 10 s
        var alice = Jid.Parse("alice@example.org");
        Assert.Equal(RateLimitDecision.Unlimited, limiter.Take(alice));

        time.Advance(TimeSpan.FromSeconds(4));
        var first = limiter.Take(alice);
        Assert.False(first.Allowed);
        Assert.True(first.NoticeDue);
        Assert.Equal(6, first.RetryAfter.TotalSeconds, precision: 3);

        var second = limiter.Take(alice);
        Assert.False(second.NoticeDue);
        Assert.Equal(2, second.Refused);

        time.Advance(TimeSpan.FromSeconds(6));
        var back = limiter.Take(alice);
        Assert.True(back.Allowed);
        Assert.Equal(2, back.Refused);
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(0, limiter.Take(alice).Refused);
    }

    [Fact]
    public void The_rules_report_the_limits_decision_only_for_a_message_that_reached_the_limit()
    {
        var rules = new MessageRules(AllowList.Everyone, new SenderRateLimiter(burst: 1, perMinute: 1, new FakeTimeProvider()));
        var message = From("alice@example.org/phone", "hi");
        Assert.Equal(MessageVerdict.Accepted, rules.Evaluate(message, Bot, Start, out var allowed));
        Assert.True(allowed.Allowed);
        Assert.Equal(MessageVerdict.RateLimited, rules.Evaluate(message, Bot, Start, out var refused));
        Assert.True(refused.NoticeDue);
        Assert.Equal(MessageVerdict.NoBody, rules.Evaluate(From("alice@example.org/phone", " "), Bot, Start, out var untouched));
        Assert.Equal(RateLimitDecision.Unlimited, untouched);
    }

    [Fact]
    public void The_limiter_forgets_the_least_recently_seen_sender_beyond_its_capacity()
    {
        var time = new FakeTimeProvider();
        var limiter = new SenderRateLimiter(burst: 1, perMinute: 0.001, time, maxSenders: 2);
        var a = Jid.Parse("a@x");
        Assert.True(limiter.TryTake(a));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(limiter.TryTake(Jid.Parse("b@x")));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(limiter.TryTake(Jid.Parse("c@x"))); // evicts a
        Assert.True(limiter.TryTake(a));
    }

    [Fact]
    public async Task The_auto_reply_store_claims_once_per_period_and_reloads()
    {
        var folder = Directory.CreateTempSubdirectory("parley-store-").FullName;
        try
        {
            var path = Path.Combine(folder, "s.json");
            var store = new AutoReplyStore(path);
            var alice = Jid.Parse("alice@example.org/phone");
            Assert.True(await store.TryClaimAsync(alice, Start, TimeSpan.FromHours(24)));
            Assert.False(await store.TryClaimAsync(alice.Bare, Start.AddHours(23), TimeSpan.FromHours(24)));
            var reloaded = new AutoReplyStore(path);
            await reloaded.LoadAsync();
            Assert.False(await reloaded.TryClaimAsync(alice, Start.AddHours(1), TimeSpan.FromHours(24)));
            Assert.True(await reloaded.TryClaimAsync(alice, Start.AddHours(24), TimeSpan.FromHours(24)));
            Assert.False(File.Exists(path + ".tmp"));
            await File.WriteAllTextAsync(path, "{ not json");
            await Assert.ThrowsAsync<InvalidDataException>(() => new AutoReplyStore(path).LoadAsync());
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
