namespace Parley.Web.Storage;

/// <summary>Why the store could not do what it was asked.</summary>
internal enum StoreFailure
{
    /// <summary>The database cannot be reached or is not accepting work (down, restarting, locked, read-only, out of connections).</summary>
    Unavailable,

    /// <summary>The database has no room left (disk or quota full).</summary>
    Full,
}

/// <summary>
/// The database is unavailable or full. Nothing of the failed operation was stored; everything stored before is kept.
/// The web API answers 503 with a Retry-After; the XMPP side answers the owner with a "wait" error.
/// </summary>
internal sealed class ChatStoreException : Exception
{
    public ChatStoreException(StoreFailure failure, string provider, Exception innerException)
        : base(Describe(failure, provider, innerException), innerException)
        => Failure = failure;

    /// <summary>Unavailable or full.</summary>
    public StoreFailure Failure { get; }

    private static string Describe(StoreFailure failure, string provider, Exception inner) => failure == StoreFailure.Full
        ? $"The {provider} database is full; nothing more can be stored until space is freed ({inner.Message})."
        : $"The {provider} database is unavailable; try again shortly ({inner.Message}).";
}
