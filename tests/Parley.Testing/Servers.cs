using Parley.Testing.Internal;
using Xunit;

namespace Parley.Testing;

/// <summary>The server kinds and the data for "same test, every server" theories.</summary>
/// <example>
/// <code>
/// [Theory]
/// [MemberData(nameof(Servers.Kinds), MemberType = typeof(Servers))]
/// public async Task Logs_in(string server)
/// {
///     var xmpp = await _fixture.GetAsync(server);
///     ...
/// }
/// </code>
/// </example>
public static class Servers
{
    /// <summary>Prosody 0.12.</summary>
    public const string Prosody = "prosody";

    /// <summary>ejabberd 23.01.</summary>
    public const string Ejabberd = "ejabberd";

    /// <summary>Every kind, in a stable order.</summary>
    public static IReadOnlyList<string> All { get; } = [Prosody, Ejabberd];

    /// <summary>Theory data: one row per server kind.</summary>
    public static TheoryData<string> Kinds => [.. All];

    /// <summary>Theory data: one row per server kind and value, the server kind first.</summary>
    /// <param name="values">The second column, e.g. the transports or inputs the test runs over.</param>
    public static TheoryData<string, T> With<T>(params IEnumerable<T> values)
    {
        var data = new TheoryData<string, T>();
        foreach (var kind in All)
        {
            foreach (var value in values)
            {
                data.Add(kind, value);
            }
        }

        return data;
    }

    /// <summary>Creates a server of the given kind (not started).</summary>
    /// <exception cref="ArgumentException"><paramref name="kind"/> is not one of <see cref="All"/>.</exception>
    public static XmppTestServer Create(string kind, XmppTestServerOptions? options = null) => kind switch
    {
        Prosody => new ProsodyServer(options),
        Ejabberd => new EjabberdServer(options),
        _ => throw new ArgumentException($"Unknown server kind '{kind}' (known: {string.Join(", ", All)}).", nameof(kind)),
    };

    /// <summary>Creates and starts a dedicated server of the given kind, e.g. for a test that stops or kills it.</summary>
    /// <exception cref="ArgumentException"><paramref name="kind"/> is unknown.</exception>
    /// <exception cref="XmppTestServerException">It did not start; the message quotes its log.</exception>
    public static Task<XmppTestServer> StartNewAsync(string kind, XmppTestServerOptions? options = null, CancellationToken cancellationToken = default)
    {
        return Started.OrDisposedAsync(Create(kind, options), static (server, ct) => server.StartAsync(ct), cancellationToken);
    }
}
