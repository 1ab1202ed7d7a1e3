using System.Collections.Concurrent;
using Parley.Testing;

namespace Parley.Xmpp.Tests.Client;

/// <summary>
/// An ordinary account on the same server sends stanzas that break a per-stanza limit to a component and to a
/// client. The server forwards them; the link must stay up, the sender must hear why, and the next message must arrive.
/// </summary>
[Collection(ServerFixture.CollectionName)]
public sealed class HostileStanzaTests(ServerFixture servers)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var kind in Servers.All)
        {
            foreach (var shape in Shapes.Keys)
            {
                data.Add(kind, shape);
            }
        }

        return data;
    }

    // Payloads sit on a child element, which both servers forward as they are (ejabberd drops unknown attributes on the
    // stanza itself but keeps unknown children whole).
    private static readonly Dictionary<string, Func<XmppElement>> Shapes = new()
    {
        ["40 nested elements"] = () =>
        {
            var root = new XmppElement("a", "urn:example:nest");
            var inner = root;
            for (var i = 1; i < 40; i++)
            {
                var next = new XmppElement("a", "urn:example:nest");
                inner.Add(next);
                inner = next;
            }

            return root;
        },
        ["80 attributes"] = () =>
        {
            var element = new XmppElement("x", "urn:example:attributes");
            for (var i = 0; i < 80; i++)
            {
                element.SetAttribute($"a{i}", i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }

            return element;
        },
        ["a 20,000-character attribute"] = () =>
        {
            var element = new XmppElement("x", "urn:example:attribute");
            element.SetAttribute("v", new string('v', 20_000));
            return element;
        },
        ["100 KB of apostrophes"] = () => new XmppElement("x", "urn:example:text") { Text = new string('\'', 100_000) },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task A_hostile_stanza_to_the_component_is_refused_and_the_next_message_arrives(string kind, string shape)
    {
        var server = await servers.GetAsync(kind);
        var account = await server.CreateAccountAsync();
        await using var component = new XmppComponent(new XmppComponentOptions
        {
            Domain = server.ComponentDomain,
            Secret = server.ComponentSecret,
            Host = server.Host,
            Port = server.ComponentPort,
            KeepAliveInterval = TimeSpan.Zero,
        });
        var link = new LinkWatch(component);
        await component.ConnectAsync();
        await using var mallory = new XmppClient(server.ClientOptions(account, "desk"));
        var errors = new ErrorWatch(mallory);
        await mallory.ConnectAsync();

        var visitor = Jid.Create("x", server.ComponentDomain);
        await SendHostileThenOrdinaryAsync(mallory, visitor, shape);

        await link.AssertOrdinaryArrivesAsync();
        var error = await errors.Refused.Task.WaitAsync(Wait);
        Assert.Equal(visitor, error.From);
        Assert.Equal("hostile", error.Id);
        link.AssertNeverLeftConnected();
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task A_hostile_stanza_to_a_client_is_refused_and_the_next_message_arrives(string kind, string shape)
    {
        var server = await servers.GetAsync(kind);
        var (victimAccount, malloryAccount) = (await server.CreateAccountAsync(), await server.CreateAccountAsync());
        await using var victim = new XmppClient(server.ClientOptions(victimAccount, "desk"));
        var link = new LinkWatch(victim);
        await victim.ConnectAsync();
        await using var mallory = new XmppClient(server.ClientOptions(malloryAccount, "desk"));
        var errors = new ErrorWatch(mallory);
        await mallory.ConnectAsync();

        await SendHostileThenOrdinaryAsync(mallory, victim.Jid!, shape);

        await link.AssertOrdinaryArrivesAsync();
        var error = await errors.Refused.Task.WaitAsync(Wait);
        Assert.Equal(victim.Jid, error.From);
        link.AssertNeverLeftConnected();
    }

    private static async Task SendHostileThenOrdinaryAsync(XmppClient mallory, Jid to, string shape)
    {
        var hostile = new Message(to, "hostile") { Id = "hostile" };
        hostile.Add(Shapes[shape]());
        await mallory.SendAsync(hostile);
        await mallory.SendAsync(new Message(to, "ordinary") { Id = "ordinary" });
    }

    /// <summary>Collects what an endpoint receives and every state it passes through.</summary>
    private sealed class LinkWatch
    {
        private readonly ConcurrentQueue<XmppConnectionState> _states = new();
        private readonly TaskCompletionSource<Message> _ordinary = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly ConcurrentQueue<string?> _bodies = new();

        public LinkWatch(XmppEndpoint endpoint)
        {
            endpoint.StateChanged += (_, e) => _states.Enqueue(e.NewState);
            endpoint.OnMessage((message, _) =>
            {
                _bodies.Enqueue(message.Body);
                if (message.Body == "ordinary")
                {
                    _ordinary.TrySetResult(message);
                }

                return ValueTask.CompletedTask;
            });
        }

        public async Task AssertOrdinaryArrivesAsync()
        {
            await _ordinary.Task.WaitAsync(Wait);

            // The refused stanza was skipped, not handed to the application.
            Assert.Equal(["ordinary"], _bodies);
        }

        /// <summary>Connecting, then Connected, and nothing after: the link never dropped and reconnected.</summary>
        public void AssertNeverLeftConnected()
            => Assert.Equal([XmppConnectionState.Connecting, XmppConnectionState.Connected], _states);
    }

    /// <summary>The policy-violation error that answers the hostile stanza.</summary>
    private sealed class ErrorWatch
    {
        public ErrorWatch(XmppClient sender)
            => sender.OnMessage((message, _) =>
            {
                if (message.IsError && message.Error?.Condition == "policy-violation")
                {
                    Refused.TrySetResult(message);
                }

                return ValueTask.CompletedTask;
            });

        public TaskCompletionSource<Message> Refused { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
