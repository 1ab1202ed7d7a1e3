using Parley.Testing;
using Parley.Xmpp.Tests.Client;

namespace Parley.Xmpp.Tests.Im;

/// <summary>Connected clients of fresh accounts on one shared test server; disposes them all.</summary>
internal sealed class ImSession : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private readonly List<XmppClient> _clients = [];
    private readonly Dictionary<XmppClient, TestAccount> _accounts = [];

    private ImSession(XmppTestServer server) => Server = server;

    public XmppTestServer Server { get; }

    public Jid Domain => Jid.Parse(Server.Domain);

    public static async Task<ImSession> StartAsync(ServerFixture fixture, string kind) => new(await fixture.GetAsync(kind).WaitAsync(TimeSpan.FromMinutes(3)));

    public Task<TestAccount> CreateAccountAsync() => Server.CreateAccountAsync();

    /// <summary>Connects a client for the account, with the server's certificate pinned.</summary>
    public async Task<XmppClient> ConnectAsync(TestAccount account, string resource = "test")
    {
        var options = Server.ClientOptions(account, resource);
        options.DefaultIqTimeout = Timeout;
        var client = new XmppClient(options);
        _clients.Add(client);
        _accounts[client] = account;
        using var cts = new CancellationTokenSource(Timeout);
        await client.ConnectAsync(cts.Token);
        return client;
    }

    /// <summary>The account a client of this session logs in with.</summary>
    public TestAccount AccountOf(XmppClient client) => _accounts[client];

    /// <summary>Connects, fetches the roster (an interested resource, RFC 6121 §2.2) and sends initial presence (an available one).</summary>
    public async Task<XmppClient> ConnectOnlineAsync(TestAccount account, string resource = "test")
    {
        var client = await ConnectAsync(account, resource);
        await client.Roster.GetAsync().WaitAsync(Timeout);
        await client.SendPresenceAsync().WaitAsync(Timeout);
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            await client.DisposeAsync();
        }
    }
}

/// <summary>Collects events and lets a test wait for one that matches, including one that came before the wait.</summary>
internal sealed class EventLog<T>
{
    private readonly Lock _lock = new();
    private readonly List<T> _items = [];
    private readonly List<(Func<T, bool> Predicate, TaskCompletionSource<T> Completion)> _waiters = [];

    public IReadOnlyList<T> Items
    {
        get
        {
            lock (_lock)
            {
                return [.. _items];
            }
        }
    }

    public void Add(T item)
    {
        List<TaskCompletionSource<T>> matched = [];
        lock (_lock)
        {
            _items.Add(item);
            _waiters.RemoveAll(w =>
            {
                if (!w.Predicate(item))
                {
                    return false;
                }

                matched.Add(w.Completion);
                return true;
            });
        }

        foreach (var completion in matched)
        {
            completion.TrySetResult(item);
        }
    }

    public Task<T> WaitForAsync(Func<T, bool> predicate, string what)
    {
        var completion = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            foreach (var item in _items)
            {
                if (predicate(item))
                {
                    return Task.FromResult(item);
                }
            }

            _waiters.Add((predicate, completion));
        }

        return WaitAsync(completion.Task, what);
    }

    private async Task<T> WaitAsync(Task<T> task, string what)
    {
        try
        {
            return await task.WaitAsync(ImSession.Timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"Waited {ImSession.Timeout.TotalSeconds} s for {what}; saw {Items.Count} other events: {string.Join("; ", Items)}");
        }
    }
}
