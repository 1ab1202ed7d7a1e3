using System.Buffers;
using BenchmarkDotNet.Attributes;
using Parley.Xmpp;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Benchmarks;

/// <summary>
/// The cost of <see cref="XmppEndpoint.DispatchOneAsync"/> per message, without parsing: the duplicate check and the
/// handler loop of a client with one message handler that reads the body. The messages are parsed once; there are
/// more of them than the duplicate memory holds, so cycling through them never hits a duplicate.
/// </summary>
[MemoryDiagnoser]
public class DispatchBenchmarks
{
    private const int Count = 16_384;

    private Message[] _messages = [];
    private XmppClient _client = null!;
    private Func<Message, CancellationToken, ValueTask> _handler = null!;
    private long _bodyChars;

    [GlobalSetup]
    public void Setup()
    {
        var buffer = new ReadOnlySequence<byte>(ChatStreamGenerator.Generate(Count));
        var parser = new XmlStreamParser(XmlLimits.Default, StanzaRootFactory.Instance);
        var messages = new List<Message>(Count);
        while (parser.TryRead(ref buffer, out _, out var element))
        {
            if (element is Message message)
            {
                messages.Add(message);
            }
        }

        _messages = [.. messages];
        _handler = (message, _) =>
        {
            _bodyChars += message.Body?.Length ?? 0;
            return ValueTask.CompletedTask;
        };
        _client = new XmppClient(new XmppClientOptions { Jid = Jid.Parse("bench@example.test/bench"), Password = "not-used" });
        _client.OnMessage(_handler);
    }

    [GlobalCleanup]
    public void Cleanup() => _client.DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>The handler alone, called directly: the baseline the dispatch overhead is measured against.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Count)]
    public async Task<long> HandlerOnly()
    {
        foreach (var message in _messages)
        {
            await _handler(message, CancellationToken.None);
        }

        return _bodyChars;
    }

    /// <summary>Each message through the client's dispatch: duplicate check, then the handler.</summary>
    [Benchmark(OperationsPerInvoke = Count)]
    public async Task<long> DispatchMessage()
    {
        foreach (var message in _messages)
        {
            await _client.DispatchOneAsync(message, CancellationToken.None);
        }

        return _bodyChars;
    }
}
