namespace Parley.Xmpp.Tests.Client;

/// <summary>The receive-side duplicate check of <see cref="XmppEndpoint.DispatchOneAsync"/>, on a client that is not connected.</summary>
public sealed class DispatchUnitTests : IAsyncDisposable
{
    // XmppEndpoint.RecentMessageIdCapacity.
    private const int Memory = 4096;

    private readonly XmppClient _client = new(new XmppClientOptions { Jid = Jid.Parse("me@example.test/here"), Password = "not-used" });
    private readonly List<string?> _delivered = [];

    public DispatchUnitTests() =>
        _client.OnMessage((message, _) =>
        {
            _delivered.Add(message.Body);
            return ValueTask.CompletedTask;
        });

    public ValueTask DisposeAsync() => _client.DisposeAsync();

    [Fact]
    public async Task A_second_message_with_the_same_sender_and_id_is_dropped()
    {
        await DispatchAsync(Chat("alice@example.test/phone", "m1", "first"));
        await DispatchAsync(Chat("alice@example.test/phone", "m1", "again"));

        Assert.Equal(["first"], _delivered);
    }

    [Fact]
    public async Task Same_id_from_another_sender_or_another_id_from_the_same_sender_is_delivered()
    {
        await DispatchAsync(Chat("alice@example.test/phone", "m1", "a"));
        await DispatchAsync(Chat("alice@example.test/laptop", "m1", "b"));
        await DispatchAsync(Chat("alice@example.test/phone", "m2", "c"));

        // Key equality compares both strings, not only the hash: equal-length strings built separately.
        await DispatchAsync(Chat(new string("alice@example.test/phone".AsSpan()), new string("m2".AsSpan()), "dropped"));

        Assert.Equal(["a", "b", "c"], _delivered);
    }

    [Fact]
    public async Task Messages_without_id_or_sender_and_errors_are_never_treated_as_duplicates()
    {
        await DispatchAsync(Chat("alice@example.test/phone", null, "no id"));
        await DispatchAsync(Chat("alice@example.test/phone", null, "no id"));
        await DispatchAsync(Chat(null, "m1", "no sender"));
        await DispatchAsync(Chat(null, "m1", "no sender"));
        var error = Chat("alice@example.test/phone", "e1", "error");
        error.Type = MessageType.Error;
        await DispatchAsync(error);
        await DispatchAsync(error);

        Assert.Equal(["no id", "no id", "no sender", "no sender", "error", "error"], _delivered);
    }

    [Fact]
    public async Task The_memory_forgets_the_oldest_id_after_its_capacity()
    {
        await DispatchAsync(Chat("alice@example.test/phone", "old", "first"));
        for (var i = 0; i < Memory - 1; i++)
        {
            await DispatchAsync(Chat("bob@example.test/phone", "n" + i, null));
        }

        // Still remembered: exactly the capacity has been seen.
        await DispatchAsync(Chat("alice@example.test/phone", "old", "kept out"));
        await DispatchAsync(Chat("bob@example.test/phone", "push-out", null));

        // One more pushed it out.
        await DispatchAsync(Chat("alice@example.test/phone", "old", "delivered again"));

        Assert.Equal(["first", "delivered again"], _delivered.Where(b => b is not null));
    }

    [Fact]
    public async Task Handlers_run_in_order_whether_they_complete_synchronously_or_not_and_failures_do_not_stop_the_rest()
    {
        using var logs = new Support.CapturingLoggerFactory();
        await using var client = new XmppClient(new XmppClientOptions { Jid = Jid.Parse("me@example.test/here"), Password = "not-used" }, logs);
        var order = new List<string>();
        client.OnMessage((_, _) =>
        {
            order.Add("sync");
            return ValueTask.CompletedTask;
        });
        client.OnMessage((_, _) =>
        {
            order.Add("throws");
            throw new InvalidOperationException("sync failure");
        });
        client.OnMessage(async (_, _) =>
        {
            await Task.Yield();
            order.Add("async");
        });
        client.OnMessage((_, _) =>
        {
            order.Add("after async");
            return ValueTask.CompletedTask;
        });
        client.OnMessage(async (_, _) =>
        {
            await Task.Yield();
            order.Add("async throws");
            throw new InvalidOperationException("async failure");
        });
        client.OnMessage((_, _) =>
        {
            order.Add("faulted");
            return ValueTask.FromException(new InvalidOperationException("faulted failure"));
        });
        client.OnMessage((_, _) =>
        {
            order.Add("last");
            return ValueTask.CompletedTask;
        });

        await client.DispatchOneAsync(Chat("alice@example.test/phone", "m1", "hi"), CancellationToken.None);

        Assert.Equal(["sync", "throws", "async", "after async", "async throws", "faulted", "last"], order);
        var failures = logs.Entries.Where(e => e.Id.Id == 2000).ToList();
        Assert.Equal(3, failures.Count);
    }

    [Fact]
    public async Task A_duplicate_runs_no_handler_even_when_the_first_copy_was_handled_asynchronously()
    {
        var handled = 0;
        _client.OnMessage(async (_, _) =>
        {
            await Task.Yield();
            handled++;
        });

        await DispatchAsync(Chat("alice@example.test/phone", "m1", "first"));
        await DispatchAsync(Chat("alice@example.test/phone", "m1", "again"));

        Assert.Equal(1, handled);
        Assert.Equal(["first"], _delivered);
    }

    private ValueTask DispatchAsync(Message message) => _client.DispatchOneAsync(message, CancellationToken.None);

    private static Message Chat(string? from, string? id, string? body)
    {
        var message = new Message { Type = MessageType.Chat, Body = body, Id = id };
        if (from is not null)
        {
            message.SetAttribute("from", from);
        }

        return message;
    }
}
