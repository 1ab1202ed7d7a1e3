using System.Security.Cryptography;

namespace Parley.Xmpp.Core;

/// <summary>Stanza ids: a random per-process prefix plus a counter, so ids are unique and not guessable across connections.</summary>
internal static class IdGenerator
{
    private static readonly string Prefix = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
    private static long _counter;

    public static string Next() => string.Create(null, stackalloc char[32], $"{Prefix}-{Interlocked.Increment(ref _counter):x}");
}
