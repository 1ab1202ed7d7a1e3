namespace Parley.Testing;

/// <summary>The libpurple client could not be started or reported a failed transfer; the message quotes its screen and logs.</summary>
public sealed class LibpurpleClientException : Exception
{
    /// <summary>Creates the exception with a message.</summary>
    public LibpurpleClientException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the error that caused it.</summary>
    public LibpurpleClientException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with no message.</summary>
    public LibpurpleClientException()
    {
    }
}
