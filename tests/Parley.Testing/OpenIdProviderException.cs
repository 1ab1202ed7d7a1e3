namespace Parley.Testing;

/// <summary>The test OpenID provider could not be started or administered; the message says why and quotes its output.</summary>
public sealed class OpenIdProviderException : Exception
{
    /// <summary>Creates the exception with a message.</summary>
    public OpenIdProviderException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the error that caused it.</summary>
    public OpenIdProviderException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with no message.</summary>
    public OpenIdProviderException()
    {
    }
}
