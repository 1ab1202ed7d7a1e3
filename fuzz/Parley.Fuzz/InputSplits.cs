namespace Parley.Fuzz;

/// <summary>
/// Reproducible pseudo-random choices derived from the input bytes themselves (FNV-1a of the input seeds a SplitMix64),
/// so that replaying a file takes exactly the decisions the fuzzer took.
/// </summary>
internal sealed class InputSplits
{
    private static readonly int[] MaxChunkSizes = [1, 2, 3, 7, 16, 64, 512, 4096];

    private ulong _state;

    public InputSplits(ReadOnlySpan<byte> input)
    {
        var hash = 14695981039346656037UL;
        foreach (var b in input)
        {
            hash = (hash ^ b) * 1099511628211UL;
        }

        _state = hash;
    }

    /// <summary>The next pseudo-random 64-bit value.</summary>
    public ulong Next()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A pseudo-random choice.</summary>
    public bool NextBool() => (Next() & 1) != 0;

    /// <summary>Cuts <paramref name="length"/> bytes into reads of 1 up to a size picked once per input.</summary>
    public List<int> ChunkSizes(int length)
    {
        var max = MaxChunkSizes[(int)(Next() % (ulong)MaxChunkSizes.Length)];
        var sizes = new List<int>();
        for (var offset = 0; offset < length;)
        {
            var size = (int)Math.Min((long)(Next() % (ulong)max) + 1, length - offset);
            sizes.Add(size);
            offset += size;
        }

        return sizes;
    }
}
