namespace Parley.Xmpp.Internal;

/// <summary>
/// The last <see cref="Capacity"/> (sender, id) pairs of received messages, for the receive-side duplicate check.
/// Not thread-safe: only the dispatch loop uses it.
/// </summary>
/// <remarks>
/// A ring of entries in arrival order, with hash chains threaded through it by sequence number. Every insertion
/// overwrites the oldest slot, and an entry is alive exactly while its sequence number is among the last
/// <see cref="Capacity"/>; chains run from newer to older entries, so a walk stops at the first dead link and nothing
/// is ever unlinked. Eviction therefore reads no old entry and no old string (they are thousands of messages old and
/// out of the CPU cache), and a check for a message that is not a duplicate touches one bucket and, on average, less
/// than one entry. The hash is the strings' randomized hash, so a peer cannot choose ids that collide; equal hashes are
/// confirmed by comparing both strings.
/// </remarks>
internal sealed class RecentMessageIds
{
    private readonly Entry[] _ring;
    private readonly long[] _buckets;
    private readonly int _ringMask;
    private readonly int _bucketMask;

    // Sequence numbers start at the capacity, so that 0 (an empty bucket, an end of chain) is never alive.
    private long _last;

    /// <summary>Creates an empty memory.</summary>
    /// <param name="capacity">How many pairs to remember; a power of two.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="capacity"/> is not a positive power of two.</exception>
    public RecentMessageIds(int capacity)
    {
        if (capacity <= 0 || (capacity & (capacity - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "The capacity must be a positive power of two.");
        }

        Capacity = capacity;
        _ring = new Entry[capacity];
        _ringMask = capacity - 1;
        _buckets = new long[capacity * 2];
        _bucketMask = (capacity * 2) - 1;
        _last = capacity;
    }

    /// <summary>How many pairs are remembered.</summary>
    public int Capacity { get; }

    /// <summary>Remembers a pair unless it is remembered already, forgetting the oldest pair when full.</summary>
    /// <param name="from">The sender as it appeared in the stanza.</param>
    /// <param name="id">The stanza id.</param>
    /// <returns><see langword="true"/> when the pair was new; <see langword="false"/> when it is a duplicate.</returns>
    public bool Add(string from, string id)
    {
        var hash = HashCode.Combine(from.GetHashCode(StringComparison.Ordinal), id.GetHashCode(StringComparison.Ordinal));
        ref var bucket = ref _buckets[hash & _bucketMask];
        var oldestAlive = _last - Capacity + 1;
        for (var sequence = bucket; sequence >= oldestAlive;)
        {
            ref var entry = ref _ring[(int)sequence & _ringMask];
            if (entry.Hash == hash && string.Equals(entry.Id, id, StringComparison.Ordinal) && string.Equals(entry.From, from, StringComparison.Ordinal))
            {
                return false;
            }

            sequence = entry.Next;
        }

        var added = ++_last;
        _ring[(int)added & _ringMask] = new Entry(hash, bucket, from, id);
        bucket = added;
        return true;
    }

    private readonly struct Entry(int hash, long next, string from, string id)
    {
        public readonly int Hash = hash;

        /// <summary>The sequence number of the next older entry in the same bucket, or one that is no longer alive.</summary>
        public readonly long Next = next;

        public readonly string From = from;

        public readonly string Id = id;
    }
}
