namespace Parley.Testing;

/// <summary>The Dino client could not be started or did not log in; the message quotes its log and state.</summary>
public sealed class DinoClientException : Exception
{
    /// <summary>Creates the exception with a message.</summary>
    public DinoClientException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the error that caused it.</summary>
    public DinoClientException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with no message.</summary>
    public DinoClientException()
    {
    }
}
