using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Parley.Testing;

namespace Parley.Xmpp.Tests.Client;

/// <summary>Dropped links and a killed server: clients come back by themselves and no message is silently lost or doubled.</summary>
[Collection(ServerFixture.CollectionName)]
public sealed class ReliabilityTests(ServerFixture servers)
{
    public static TheoryData<string> Kinds => Servers.Kinds;

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_dropped_link_is_resumed_and_every_message_arrives_exactly_once(string kind)
    {
        var server = await servers.GetAsync(kind);
        await using var relay = new FaultyLink(server.ClientPort);
        await using var pair = await LinkedPair.ConnectAsync(server, relay);
        var (a, b, received) = (pair.A, pair.B, pair.Received);
        Assert.True(a.IsStreamManagementEnabled);

        var sends = new List<Task>();
        for (var i = 0; i < 60; i++)
        {
            if (i == 30)
            {
                relay.DropAll();
            }

            sends.Add(a.SendAsync(new Message(b.Jid!, $"m{i}")));
            await Task.Delay(5);
        }

        Assert.True(await pair.Reconnected.WaitAsync(TimeSpan.FromSeconds(20)), "the session should have been resumed, not restarted");
        await Task.WhenAll(sends).WaitAsync(TimeSpan.FromSeconds(20));
        await pair.SendMarkerAndWaitAsync();

        // Resumption re-sends what the server had not acknowledged ahead of anything newer: same order, nothing twice.
        Assert.Equal([.. Enumerable.Range(0, 60).Select(i => $"m{i}"), LinkedPair.Marker], received);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task An_acknowledgement_request_left_unanswered_replaces_the_session_and_the_message_still_arrives_once(string kind)
    {
        // The link goes silent right after a message (no keep-alive to notice it): the <r/> that follows the message is
        // not answered within AckTimeout, so the client closes the connection and starts a new session, not a resumed
        // one (the way out of a server that reads but no longer parses: Prosody 0.12 after some resumptions), and sends
        // the message again on it.
        var server = await servers.GetAsync(kind);
        await using var relay = new FaultyLink(server.ClientPort);
        using var logs = new Support.CapturingLoggerFactory();
        await using var pair = await LinkedPair.ConnectAsync(server, relay, logs, options =>
        {
            options.KeepAliveInterval = TimeSpan.Zero;
            options.AckTimeout = TimeSpan.FromSeconds(1);
        });
        var received = pair.Received;

        relay.Freeze();
        await pair.A.SendAsync(new Message(pair.B.Jid!, "through the silence"));

        Assert.False(await pair.Reconnected.WaitAsync(TimeSpan.FromSeconds(20)), "a new session, not a resumed one");
        Assert.Contains(logs.Entries, e => e.Id.Id == 3004);
        await pair.SendMarkerAndWaitAsync();
        Assert.Equal(["through the silence", LinkedPair.Marker], received);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_graceful_disconnect_acknowledges_every_stanza_received_before_the_closing_tag(string kind)
    {
        // XEP-0198 §4: without a last <a/>, the server takes what arrived since the previous one for lost and stores the
        // messages offline again (or bounces them) when the stream closes. Alice leaves as soon as the third message is
        // there, before the server's <r/> for it has come and been answered.
        var server = await servers.GetAsync(kind);
        var (alice, bob) = (await server.CreateAccountAsync(), await server.CreateAccountAsync());
        using var logs = new Support.CapturingLoggerFactory();
        var a = new XmppClient(server.ClientOptions(alice, "a"), logs);
        await using var b = new XmppClient(server.ClientOptions(bob, "b"));
        var left = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var received = 0;
        a.OnMessage((message, cancellationToken) =>
        {
            if (Interlocked.Increment(ref received) == 3)
            {
                // Not from the handler itself: disconnecting waits for the dispatch loop this handler runs on.
                _ = Task.Run(
                    async () =>
                    {
                        await a.DisconnectAsync(CancellationToken.None);
                        left.SetResult();
                    },
                    CancellationToken.None);
            }

            return ValueTask.CompletedTask;
        });
        await a.ConnectAsync();
        await b.ConnectAsync();
        Assert.True(a.IsStreamManagementEnabled);
        await b.SendAsync(new Message(a.Jid!, "m0"));
        await b.SendAsync(new Message(a.Jid!, "m1"));
        await b.SendAsync(new Message(a.Jid!, "m2"));
        await left.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await a.DisposeAsync();

        var traffic = logs.Entries.Where(e => e.Category == "Parley.Xmpp.Traffic").Select(e => e.Message).ToList();
        var enabled = traffic.FindIndex(m => m.StartsWith("RECV <enabled", StringComparison.Ordinal));
        Assert.True(enabled >= 0, "stream management was enabled");
        var stanzasIn = traffic.Skip(enabled + 1).Count(m => m.StartsWith("RECV <message", StringComparison.Ordinal)
            || m.StartsWith("RECV <iq", StringComparison.Ordinal) || m.StartsWith("RECV <presence", StringComparison.Ordinal));
        var lastSent = traffic.Last(m => m.StartsWith("SEND ", StringComparison.Ordinal));
        Assert.Matches("^SEND <a xmlns=['\"]urn:xmpp:sm:3['\"] h=['\"]" + stanzasIn + "['\"] ?/>$", lastSent);

        // And the server agrees: nothing comes back as undelivered when Alice logs in again.
        var redelivered = 0;
        await using var again = new XmppClient(server.ClientOptions(alice, "again"));
        again.OnMessage((message, _) =>
        {
            Interlocked.Increment(ref redelivered);
            return ValueTask.CompletedTask;
        });
        var marker = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        again.OnMessage((message, _) =>
        {
            if (message.Body == "marker")
            {
                marker.TrySetResult();
            }

            return ValueTask.CompletedTask;
        });
        await again.ConnectAsync();
        await again.SendPresenceAsync();
        await again.PingAsync();

        // The server handed out stored messages when it took the presence, before answering the ping; a message Bob
        // sends now comes behind them.
        await b.SendAsync(new Message(again.Jid!, "marker"));
        await marker.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(1, Volatile.Read(ref redelivered));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_link_gone_silent_is_noticed_by_the_keep_alive_ping_and_replaced(string kind)
    {
        var server = await servers.GetAsync(kind);
        var account = await server.CreateAccountAsync();
        await using var relay = new FaultyLink(server.ClientPort);
        var options = server.ClientOptions(account);
        options.Port = relay.Port;
        options.Reconnect = FaultyLink.FastReconnect;
        options.KeepAliveInterval = TimeSpan.FromSeconds(1);
        await using var client = new XmppClient(options);
        var lost = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var back = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.StateChanged += (_, e) =>
        {
            if (e.NewState == XmppConnectionState.Reconnecting)
            {
                lost.TrySetResult(e.Error);
            }
            else if (e.NewState == XmppConnectionState.Connected && e.OldState == XmppConnectionState.Reconnecting)
            {
                back.TrySetResult();
            }
        };
        await client.ConnectAsync();
        relay.Freeze();
        await lost.Task.WaitAsync(TimeSpan.FromSeconds(15));
        await back.Task.WaitAsync(TimeSpan.FromSeconds(15));
        Assert.True(await client.PingAsync() < TimeSpan.FromSeconds(5));
        Assert.True(relay.ConnectionCount >= 1);
    }

    [Fact]
    public async Task The_server_killed_and_restarted_mid_conversation_loses_nothing_silently()
    {
        await using var server = await Servers.StartNewAsync(Servers.Prosody);
        var (alice, bob) = (await server.CreateAccountAsync(), await server.CreateAccountAsync());
        var aOptions = server.ClientOptions(alice, "a");
        aOptions.Reconnect = FaultyLink.FastReconnect;
        var bOptions = server.ClientOptions(bob, "b");
        bOptions.Reconnect = FaultyLink.FastReconnect;
        var logPath = Path.Combine(Path.GetTempPath(), $"parley-kill-{Guid.NewGuid():N}.log");
        using var logs = new Support.CapturingLoggerFactory(logPath);
        await using var a = new XmppClient(aOptions, logs);
        await using var b = new XmppClient(bOptions, logs);
        var received = new ConcurrentQueue<string>();
        var failed = new ConcurrentQueue<string>();
        b.OnMessage((message, _) =>
        {
            if (message.Type != MessageType.Error && message.Body is { } body)
            {
                received.Enqueue(body);
            }

            return ValueTask.CompletedTask;
        });
        a.OnMessage((message, _) =>
        {
            if (message.Type == MessageType.Error && message.Body is { } body)
            {
                failed.Enqueue(body); // bounced by the server: reported, not lost
            }

            return ValueTask.CompletedTask;
        });
        a.Undelivered += (_, e) =>
        {
            foreach (var stanza in e.Stanzas.OfType<Message>())
            {
                failed.Enqueue(stanza.Body!);
            }
        };
        var reconnections = 0;
        a.StateChanged += (_, e) =>
        {
            if (e.NewState == XmppConnectionState.Connected && e.OldState == XmppConnectionState.Reconnecting)
            {
                Interlocked.Increment(ref reconnections);
            }
        };
        await a.ConnectAsync();
        await b.ConnectAsync();
        await b.SendPresenceAsync();

        const int count = 200;
        var sends = new List<Task>();
        for (var i = 0; i < count; i++)
        {
            if (i == 80)
            {
                server.Kill();
            }

            if (i == 120)
            {
                await server.StartAsync();
            }

            sends.Add(a.SendAsync(new Message(b.Jid!, $"m{i}")));
            await Task.Delay(10);
        }

        await Task.WhenAll(sends).WaitAsync(TimeSpan.FromSeconds(60));
        await WaitUntilAsync(() => received.Count + failed.Count >= count, TimeSpan.FromSeconds(60));

        // A late duplicate would travel ahead of one more message on the same route.
        await a.SendAsync(new Message(b.Jid!, "marker"));
        await WaitUntilAsync(() => received.Contains("marker"), TimeSpan.FromSeconds(20));
        received = new ConcurrentQueue<string>(received.Where(body => body != "marker"));

        Assert.True(reconnections >= 1);
        Assert.Equal(XmppConnectionState.Connected, a.State);
        Assert.Equal(XmppConnectionState.Connected, b.State);
        var got = received.ToList();
        Assert.True(got.Count == got.Distinct().Count(), $"duplicates; log in {logPath}"); // exactly once
        var accountedFor = got.Concat(failed).ToHashSet();
        Assert.All(Enumerable.Range(0, count), i => Assert.Contains($"m{i}", accountedFor));
    }

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail("timed out waiting");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>
    /// Alice connected through a <see cref="FaultyLink"/> (fast reconnects), Bob directly and available; what Bob receives,
    /// and whether Alice's next return from reconnecting resumed the session.
    /// </summary>
    private sealed class LinkedPair : IAsyncDisposable
    {
        private readonly TaskCompletionSource<bool> _reconnected = new(TaskCreationOptions.RunContinuationsAsynchronously);

        private LinkedPair(XmppClient a, XmppClient b)
        {
            (A, B) = (a, b);
            b.OnMessage((message, _) =>
            {
                if (message.Body is { } body)
                {
                    Received.Enqueue(body);
                }

                return ValueTask.CompletedTask;
            });
            a.StateChanged += (_, e) =>
            {
                if (e.NewState == XmppConnectionState.Connected && e.OldState == XmppConnectionState.Reconnecting)
                {
                    _reconnected.TrySetResult(e.Resumed);
                }
            };
        }

        public XmppClient A { get; }

        /// <summary>The body of the message <see cref="SendMarkerAndWaitAsync"/> sends.</summary>
        public const string Marker = "marker";

        public XmppClient B { get; }

        public ConcurrentQueue<string> Received { get; } = new();

        /// <summary>
        /// Alice sends one more message and waits until Bob has it: everything she sent before, and any re-sent copy of
        /// it, travels ahead of it on the same route, so whatever was going to arrive has arrived.
        /// </summary>
        public async Task SendMarkerAndWaitAsync()
        {
            await A.SendAsync(new Message(B.Jid!, Marker));
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            while (!Received.Contains(Marker))
            {
                Assert.True(DateTime.UtcNow < deadline, "the marker message never arrived");
                await Task.Delay(20);
            }
        }

        /// <summary>Completes with <see cref="ConnectionStateChangedEventArgs.Resumed"/> when Alice is connected again.</summary>
        public Task<bool> Reconnected => _reconnected.Task;

        public static async Task<LinkedPair> ConnectAsync(XmppTestServer server, FaultyLink link, ILoggerFactory? aliceLogs = null, Action<XmppClientOptions>? configureAlice = null)
        {
            var aOptions = server.ClientOptions(await server.CreateAccountAsync(), "a");
            aOptions.Port = link.Port;
            aOptions.Reconnect = FaultyLink.FastReconnect;
            configureAlice?.Invoke(aOptions);
            var pair = new LinkedPair(new XmppClient(aOptions, aliceLogs), new XmppClient(server.ClientOptions(await server.CreateAccountAsync(), "b")));
            await pair.A.ConnectAsync();
            await pair.B.ConnectAsync();
            await pair.B.SendPresenceAsync();
            return pair;
        }

        public async ValueTask DisposeAsync()
        {
            await A.DisposeAsync();
            await B.DisposeAsync();
        }
    }
}
