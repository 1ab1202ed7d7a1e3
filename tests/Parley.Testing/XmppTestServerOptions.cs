namespace Parley.Testing;

/// <summary>Settings for one private test server. The defaults suit most tests.</summary>
public sealed record XmppTestServerOptions
{
    /// <summary>The XMPP domain; defaults to <c>&lt;kind&gt;.test</c> (e.g. <c>prosody.test</c>). Lower-case letters, digits, dots and dashes.</summary>
    public string? Domain { get; init; }

    /// <summary>Whether clients must negotiate TLS before authenticating (off by default: STARTTLS is offered, not required).</summary>
    public bool RequireEncryption { get; init; }

    /// <summary>How long a start may take until the server answers with stream features; defaults to 30 s (Prosody) / 90 s (ejabberd).</summary>
    public TimeSpan? StartTimeout { get; init; }

    /// <summary>Log at debug level (every stanza in the server log). Also switched on by the environment variable PARLEY_SERVER_DEBUG=1.</summary>
    public bool DebugLogging { get; init; }

    internal bool EffectiveDebugLogging => DebugLogging || Environment.GetEnvironmentVariable("PARLEY_SERVER_DEBUG") is "1" or "true";
}
