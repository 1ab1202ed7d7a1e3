using Parley.Testing;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp.FileTransfer.Tests;

/// <summary>
/// IQ handlers that answer later (<see cref="XmppEndpoint.SetDeferredIqHandler"/>), and their use by the file-transfer
/// receiver: the dispatch loop goes on while an offer waits for the receive policy.
/// </summary>
[Collection(ServerFixture.CollectionName)]
public sealed class DeferredIqTests(ServerFixture servers) : IDisposable
{
    private const string TestNamespace = "urn:parley:test:deferred";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly string _root = Directory.CreateTempSubdirectory("parley-ft-deferred-").FullName;

    public static TheoryData<string> Kinds => Servers.Kinds;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_chat_message_after_an_si_offer_is_dispatched_while_the_receive_policy_decides(string kind)
    {
        await using var pair = await TransferPair.ConnectAsync(await servers.GetAsync(kind), _root);
        var policyEntered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var decision = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        pair.ReceiverFt.IncomingPolicy = async (offer, ct) =>
        {
            policyEntered.TrySetResult();
            await decision.Task.WaitAsync(ct);
            return offer.Accept(pair.Inbox);
        };
        var chat = new TaskCompletionSource<(string? Body, bool PolicyDone)>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var _ = pair.Receiver.OnMessage((message, _) =>
        {
            chat.TrySetResult((message.Body, decision.Task.IsCompleted));
            return ValueTask.CompletedTask;
        });
        var (path, sha) = TestFiles.Create(_root, "slow-decision.bin", 100_000, seed: 41);

        var send = pair.SenderFt.SendFileAsync(pair.ReceiverJid, path, new FileSendOptions { Methods = [FileTransferMethod.Socks5Bytestreams] });
        await policyEntered.Task.WaitAsync(Patience);
        await pair.Sender.SendAsync(new Message(pair.ReceiverJid, "sent after the offer", MessageType.Chat));
        var (body, policyDone) = await chat.Task.WaitAsync(Patience);

        Assert.Equal("sent after the offer", body);
        Assert.False(policyDone);
        Assert.False(send.IsCompleted);
        decision.SetResult();
        var result = await send.WaitAsync(Patience);
        var received = await pair.Received.Task.WaitAsync(Patience);
        Assert.Equal(FileTransferMethod.Socks5Bytestreams, result.Method);
        Assert.True(received.Succeeded, received.ToString());
        Assert.Equal(sha, received.Sha256);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_deferred_request_is_answered_later_and_later_stanzas_are_dispatched_meanwhile(string kind)
    {
        await using var peers = await Peers.ConnectAsync(await servers.GetAsync(kind), (request, ct) =>
        {
            Peers.Taken.TrySetResult(request);
            return ValueTask.CompletedTask;
        });
        var chat = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var _ = peers.Receiver.OnMessage((message, _) =>
        {
            chat.TrySetResult(message.Body);
            return ValueTask.CompletedTask;
        });

        var answer = peers.Sender.SendIqAsync(new Iq(IqType.Get, peers.Receiver.Jid, new XmppElement("query", TestNamespace)), Patience);
        var taken = await Peers.Taken.Task.WaitAsync(Patience);
        await peers.Sender.SendAsync(new Message(peers.Receiver.Jid!, "after the IQ", MessageType.Chat));

        Assert.Equal("after the IQ", await chat.Task.WaitAsync(Patience));
        Assert.False(answer.IsCompleted);
        Assert.False(taken.IsAnswered);
        var payload = new XmppElement("query", TestNamespace);
        payload.AddChild("late", text: "yes");
        await taken.RespondAsync(payload);
        var result = await answer;
        Assert.Equal(IqType.Result, result.Type);
        Assert.Equal("yes", result.Payload?.ElementText("late", TestNamespace));
        await Assert.ThrowsAsync<InvalidOperationException>(() => taken.RespondAsync(null));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_deferred_request_never_answered_gets_internal_server_error_after_its_timeout(string kind)
    {
        await using var peers = await Peers.ConnectAsync(await servers.GetAsync(kind), (request, _) =>
        {
            Peers.Taken.TrySetResult(request);
            return ValueTask.CompletedTask;
        }, TimeSpan.FromSeconds(1));

        var failure = await Assert.ThrowsAsync<XmppStanzaException>(() =>
            peers.Sender.SendIqAsync(new Iq(IqType.Get, peers.Receiver.Jid, new XmppElement("query", TestNamespace)), Patience));

        Assert.Equal("internal-server-error", failure.Condition);
        var taken = await Peers.Taken.Task.WaitAsync(Patience);
        Assert.True(taken.IsAnswered);
        await Assert.ThrowsAsync<InvalidOperationException>(() => taken.RespondAsync(null));
    }

    [Theory]
    [InlineData(Servers.Prosody, false)]
    [InlineData(Servers.Ejabberd, false)]
    [InlineData(Servers.Prosody, true)]
    [InlineData(Servers.Ejabberd, true)]
    public async Task A_deferred_handler_that_throws_answers_at_once(string kind, bool stanzaError)
    {
        await using var peers = await Peers.ConnectAsync(await servers.GetAsync(kind), (_, _) =>
            throw (stanzaError ? new XmppStanzaException(StanzaError.Forbidden("no")) : new InvalidOperationException("handler bug")));

        var failure = await Assert.ThrowsAsync<XmppStanzaException>(() =>
            peers.Sender.SendIqAsync(new Iq(IqType.Get, peers.Receiver.Jid, new XmppElement("query", TestNamespace)), Patience));

        Assert.Equal(stanzaError ? "forbidden" : "internal-server-error", failure.Condition);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Work_handed_to_the_background_answers_with_its_result_or_its_error(string kind)
    {
        var calls = 0;
        await using var peers = await Peers.ConnectAsync(await servers.GetAsync(kind), (request, ct) =>
        {
            var call = Interlocked.Increment(ref calls);
            request.AnswerInBackground(async token =>
            {
                await Task.Delay(200, token);
                return call == 1 ? new XmppElement("query", TestNamespace) : throw new XmppStanzaException(StanzaError.NotAcceptable("second"));
            }, ct);
            return ValueTask.CompletedTask;
        });

        var first = await peers.Sender.SendIqAsync(new Iq(IqType.Get, peers.Receiver.Jid, new XmppElement("query", TestNamespace)), Patience);
        var second = await Assert.ThrowsAsync<XmppStanzaException>(() =>
            peers.Sender.SendIqAsync(new Iq(IqType.Get, peers.Receiver.Jid, new XmppElement("query", TestNamespace)), Patience));

        Assert.Equal(IqType.Result, first.Type);
        Assert.Equal("not-acceptable", second.Condition);
    }

    /// <summary>Two connected clients; the receiver has a deferred handler for the test namespace.</summary>
    private sealed class Peers : IAsyncDisposable
    {
        private Peers(XmppClient sender, XmppClient receiver)
        {
            Sender = sender;
            Receiver = receiver;
        }

        // One test at a time runs in the collection, and each connects its own peers first.
        public static TaskCompletionSource<IqRequest> Taken { get; private set; } = new();

        public XmppClient Sender { get; }

        public XmppClient Receiver { get; }

        public static async Task<Peers> ConnectAsync(XmppTestServer server, DeferredIqRequestHandler handler, TimeSpan? answerTimeout = null)
        {
            Taken = new TaskCompletionSource<IqRequest>(TaskCreationOptions.RunContinuationsAsynchronously);
            var sender = new XmppClient(server.ClientOptions(await server.CreateAccountAsync(), "send"));
            var receiver = new XmppClient(server.ClientOptions(await server.CreateAccountAsync(), "recv"));
            receiver.SetDeferredIqHandler("query", TestNamespace, handler, answerTimeout);
            await sender.ConnectAsync();
            await receiver.ConnectAsync();
            return new Peers(sender, receiver);
        }

        public async ValueTask DisposeAsync()
        {
            await Sender.DisposeAsync();
            await Receiver.DisposeAsync();
        }
    }
}
