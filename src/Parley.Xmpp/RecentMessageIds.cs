using System.Runtime.CompilerServices;

namespace Parley.Xmpp;

/// <summary>
/// The last <see cref="Capacity"/> (sender, id) pairs of received messages, for the receive-side duplicate check.
/// Not thread-safe: only the dispatch loop uses it.
/// </summary>
/// <remarks>
/// A ring of slots in arrival order with hash chains threaded through it. The parts read on every check (bucket heads,
/// each slot's hash and next link) are small parallel arrays, about 40 KB for 4,096 pairs, which stay in the CPU cache
/// while the parser's allocations stream through it; the strings are read only when the hashes are equal. A new pair
/// overwrites the oldest slot, which is the last link of its chain (chains run from newer to older), so unlinking it
/// walks the short chain of its bucket in the same small arrays. The hash is the strings' randomized hash, so a peer
/// cannot choose ids that collide; equal hashes are confirmed by comparing both strings.
/// </remarks>
internal sealed class RecentMessageIds
{
    private const ushort None = ushort.MaxValue;
    private const int MaxCapacity = 1 << 15;
    private const int SenderHashCacheSize = 64;

    private readonly ushort[] _buckets;
    private readonly int[] _hashes;
    private readonly ushort[] _next;
    private readonly string[] _from;
    private readonly string[] _ids;
    private readonly int _bucketMask;
    private int _count;
    private int _oldest;

    // The randomized string hash costs about two cycles per byte, and a client hears from few senders, whose address
    // strings the parser shares: their hashes are remembered by string instance (a miss only recomputes).
    private readonly string?[] _senders = new string?[SenderHashCacheSize];
    private readonly int[] _senderHashes = new int[SenderHashCacheSize];

    /// <summary>Creates an empty memory.</summary>
    /// <param name="capacity">How many pairs to remember; a power of two, at most 32,768.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="capacity"/> is not a power of two in range.</exception>
    public RecentMessageIds(int capacity)
    {
        if (capacity <= 0 || capacity > MaxCapacity || (capacity & (capacity - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, $"The capacity must be a power of two up to {MaxCapacity}.");
        }

        Capacity = capacity;
        _buckets = new ushort[capacity * 2];
        _buckets.AsSpan().Fill(None);
        _bucketMask = (capacity * 2) - 1;
        _hashes = new int[capacity];
        _next = new ushort[capacity];
        _from = new string[capacity];
        _ids = new string[capacity];
    }

    /// <summary>How many pairs are remembered.</summary>
    public int Capacity { get; }

    /// <summary>Remembers a pair unless it is remembered already, forgetting the oldest pair when full.</summary>
    /// <param name="from">The sender as it appeared in the stanza.</param>
    /// <param name="id">The stanza id.</param>
    /// <returns><see langword="true"/> when the pair was new; <see langword="false"/> when it is a duplicate.</returns>
    public bool Add(string from, string id)
    {
        var hash = HashCode.Combine(SenderHash(from), id.GetHashCode(StringComparison.Ordinal));
        ref var head = ref _buckets[hash & _bucketMask];
        for (int slot = head; slot != None; slot = _next[slot])
        {
            if (_hashes[slot] == hash && string.Equals(_ids[slot], id, StringComparison.Ordinal) && string.Equals(_from[slot], from, StringComparison.Ordinal))
            {
                return false;
            }
        }

        int added;
        if (_count < Capacity)
        {
            added = _count++;
        }
        else
        {
            added = _oldest;
            _oldest = (_oldest + 1) & (Capacity - 1);
            Unlink(added);
        }

        _hashes[added] = hash;
        _next[added] = head;
        _from[added] = from;
        _ids[added] = id;
        head = (ushort)added;
        return true;
    }

    /// <summary>The sender's string hash, from the cache when this very string was hashed recently.</summary>
    private int SenderHash(string from)
    {
        var index = RuntimeHelpers.GetHashCode(from) & (SenderHashCacheSize - 1);
        if (ReferenceEquals(_senders[index], from))
        {
            return _senderHashes[index];
        }

        var hash = from.GetHashCode(StringComparison.Ordinal);
        _senders[index] = from;
        _senderHashes[index] = hash;
        return hash;
    }

    /// <summary>Removes the oldest slot from its chain, whose last link it is.</summary>
    private void Unlink(int oldest)
    {
        ref var link = ref _buckets[_hashes[oldest] & _bucketMask];
        while (link != oldest)
        {
            link = ref _next[link];
        }

        link = None;
    }
}
