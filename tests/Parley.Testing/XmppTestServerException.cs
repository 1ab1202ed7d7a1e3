namespace Parley.Testing;

/// <summary>A test server could not be started, stopped or administered; the message says why and quotes its log.</summary>
public sealed class XmppTestServerException : Exception
{
    /// <summary>Creates the exception with a message.</summary>
    public XmppTestServerException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the error that caused it.</summary>
    public XmppTestServerException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with no message.</summary>
    public XmppTestServerException()
    {
    }

    /// <summary>Whether the server failed because one of its ports was already taken (the harness then retries with new ports).</summary>
    public bool AddressInUse { get; init; }
}
