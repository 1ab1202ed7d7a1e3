
namespace Parley.Xmpp.Tests.Internal;

/// <summary>The ring behind the receive-side duplicate check, against a plain set-and-queue model of the same memory.</summary>
public sealed class RecentMessageIdsUnitTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(-4)]
    [InlineData(3)]
    [InlineData(4095)]
    [InlineData(65536)]
    public void Capacity_must_be_a_positive_power_of_two(int capacity)
        => Assert.Throws<ArgumentOutOfRangeException>(() => new RecentMessageIds(capacity));

    [Fact]
    public void A_pair_is_new_once_and_a_duplicate_after_that()
    {
        var ids = new RecentMessageIds(8);
        Assert.True(ids.Add("alice@example.test/a", "m1"));
        Assert.False(ids.Add("alice@example.test/a", "m1"));

        // Equal strings that are not the same instances.
        Assert.False(ids.Add(new string("alice@example.test/a".AsSpan()), new string("m1".AsSpan())));
        Assert.True(ids.Add("alice@example.test/b", "m1"));
        Assert.True(ids.Add("alice@example.test/a", "m2"));
    }

    [Fact]
    public void Senders_whose_hashes_are_remembered_still_compare_by_value()
    {
        // More sender instances than the hash cache has slots, each used several times, some as fresh equal copies:
        // whether a sender's hash comes from the cache or is computed, the answers are the same.
        var ids = new RecentMessageIds(4096);
        var senders = Enumerable.Range(0, 200).Select(i => $"user{i}@example.test/r").ToArray();
        for (var round = 0; round < 3; round++)
        {
            for (var i = 0; i < senders.Length; i++)
            {
                var sender = round == 1 ? new string(senders[i].AsSpan()) : senders[i];
                Assert.Equal(round == 0, ids.Add(sender, "m" + (i % 7)));
                Assert.True(ids.Add(sender, $"r{round}-{i}"));
            }
        }

        Assert.True(ids.Add("user0@example.test/s", "m0"));
        Assert.False(ids.Add(new string("user0@example.test/s".AsSpan()), "m0"));
    }

    [Fact]
    public void Exactly_the_capacity_is_remembered_and_the_oldest_goes_first()
    {
        var ids = new RecentMessageIds(4);
        for (var i = 0; i < 4; i++)
        {
            Assert.True(ids.Add("a", "m" + i));
        }

        // All four are still there (checking does not add).
        for (var i = 0; i < 4; i++)
        {
            Assert.False(ids.Add("a", "m" + i));
        }

        Assert.True(ids.Add("a", "m4"));
        Assert.True(ids.Add("a", "m0"));
        Assert.False(ids.Add("a", "m2"));
        Assert.False(ids.Add("a", "m4"));
    }

    [Theory]
    [InlineData(1, 4)]
    [InlineData(4, 16)]
    [InlineData(64, 100)]
    [InlineData(4096, 6000)]
    public void Answers_like_a_set_with_a_queue_over_a_long_random_run(int capacity, int universe)
    {
        // A small universe of pairs makes duplicates, evictions and shared buckets frequent.
        var ids = new RecentMessageIds(capacity);
        var modelSet = new HashSet<(string, string)>();
        var modelOrder = new Queue<(string, string)>();
        var random = new Random(capacity);
        var senders = Enumerable.Range(0, 7).Select(i => $"user{i}@example.test/r").ToArray();
        var duplicates = 0;
        for (var step = 0; step < 200_000; step++)
        {
            var n = random.Next(universe);
            var key = (senders[n % senders.Length], "id-" + (n / senders.Length));
            var expected = modelSet.Add(key);
            if (expected)
            {
                modelOrder.Enqueue(key);
                if (modelOrder.Count > capacity)
                {
                    modelSet.Remove(modelOrder.Dequeue());
                }
            }
            else
            {
                duplicates++;
            }

            Assert.Equal(expected, ids.Add(key.Item1, key.Item2));
        }

        Assert.InRange(duplicates, 1_000, 199_000);
    }
}
