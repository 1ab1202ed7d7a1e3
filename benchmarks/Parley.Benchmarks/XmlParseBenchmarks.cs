using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Benchmarks;

/// <summary>Parsing and serializing one typical chat message (about 250 bytes).</summary>
[MemoryDiagnoser]
public class XmlParseBenchmarks
{
    private const string TypicalMessage =
        "<message from='alice@example.test/phone' to='bob@example.test' type='chat' id='0001a2f3-5c1b0e6d9a7f'>" +
        "<body>Are we still on for lunch tomorrow? I'll book the usual place &amp; send the details later.</body>" +
        "<active xmlns='http://jabber.org/protocol/chatstates'/></message>";

    private readonly ArrayBufferWriter<byte> _output = new(1024);
    private byte[] _stanza = [];
    private XmlStreamParser _parser = null!;
    private XmppElement _message = null!;

    [GlobalSetup]
    public void Setup()
    {
        _stanza = Encoding.UTF8.GetBytes(TypicalMessage);
        _parser = new XmlStreamParser(XmlLimits.Default, StanzaRootFactory.Instance);
        var header = new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(ChatStreamGenerator.Header));
        if (!_parser.TryRead(ref header, out _, out _))
        {
            throw new InvalidOperationException("The stream header did not parse.");
        }

        _message = ParseMessage() ?? throw new InvalidOperationException("The message did not parse.");
    }

    [Benchmark]
    public XmppElement? ParseMessage()
    {
        var buffer = new ReadOnlySequence<byte>(_stanza);
        _parser.TryRead(ref buffer, out _, out var element);
        return element;
    }

    [Benchmark]
    public int SerializeMessage()
    {
        _output.ResetWrittenCount();
        XmlSerializer.WriteElement(_output, _message, XmppNamespaces.Client);
        return _output.WrittenCount;
    }
}
