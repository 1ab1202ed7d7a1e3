using System.Buffers;
using System.Text;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Fuzz.Targets;

/// <summary>
/// The stanza parser fed as a stream: the input is cut into reads at points derived from its bytes and fed either as a
/// pipe does (new segments appended to the unconsumed ones) or as one contiguous buffer. Every element read is written
/// out again and must parse back to the same text, and the typed stanzas' accessors are read as the dispatch does.
/// </summary>
/// <remarks>Clear error: <see cref="XmppProtocolException"/> (the parser's answer to malformed or forbidden XML).</remarks>
internal sealed class XmlStreamTarget : FuzzTarget
{
    private const string ClientHeader = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";

    // Small limits, so that refusing a stanza and closing the stream for a limit are reachable with short inputs.
    private static readonly XmlLimits SmallLimits = new()
    {
        MaxStanzaBytes = 1024,
        MaxSkippedStanzaBytes = 4096,
        MaxDepth = 6,
        MaxAttributes = 6,
        MaxAttributeLength = 128,
        MaxNameLength = 32,
    };

    public override string Name => "xml";

    public override string Description => "XmlStreamParser fed a stream in reads split at input-derived points";

    protected override void Feed(byte[] input)
    {
        var splits = new InputSplits(input);
        var limits = splits.NextBool() ? SmallLimits : XmlLimits.Default;
        var parser = new XmlStreamParser(limits, StanzaRootFactory.Instance);
        var sizes = splits.ChunkSizes(input.Length);
        if (splits.NextBool())
        {
            FeedSegmented(parser, input, sizes);
        }
        else
        {
            FeedContiguous(parser, input, sizes);
        }
    }

    protected override bool IsClearError(Exception exception) => exception is XmppProtocolException;

    private static void FeedSegmented(XmlStreamParser parser, byte[] input, List<int> sizes)
    {
        Segment? last = null;
        var consumed = default(SequencePosition);
        var offset = 0;
        foreach (var size in sizes)
        {
            var memory = new ReadOnlyMemory<byte>(input, offset, size);
            offset += size;
            if (last is null)
            {
                last = new Segment(memory, 0);
                consumed = new SequencePosition(last, 0);
            }
            else
            {
                last = last.Append(memory);
            }

            var buffer = new ReadOnlySequence<byte>((Segment)consumed.GetObject()!, consumed.GetInteger(), last, last.Memory.Length);
            Drain(parser, ref buffer);
            consumed = buffer.Start;
        }
    }

    private static void FeedContiguous(XmlStreamParser parser, byte[] input, List<int> sizes)
    {
        var pending = Array.Empty<byte>();
        var offset = 0;
        foreach (var size in sizes)
        {
            pending = [.. pending, .. input.AsSpan(offset, size)];
            offset += size;
            var buffer = new ReadOnlySequence<byte>(pending);
            Drain(parser, ref buffer);
            pending = pending[(int)(pending.Length - buffer.Length)..];
        }
    }

    private static void Drain(XmlStreamParser parser, ref ReadOnlySequence<byte> buffer)
    {
        while (parser.TryRead(ref buffer, out var kind, out var element))
        {
            if (kind == XmlStreamEventKind.Element && element is not null)
            {
                CheckRoundTrip(element);
                ReadAccessors(element);

                // After STARTTLS or SASL success a new stream starts on the same bytes, as the session does it.
                if (element.Name is "proceed" or "success")
                {
                    parser.Reset();
                }
            }
            else if (kind == XmlStreamEventKind.Refused && parser.RefusalReason is null)
            {
                throw new FuzzFindingException("A stanza was refused without a reason.");
            }
        }
    }

    /// <summary>What we write for a parsed element must read back as the same element (the echo and forward paths).</summary>
    private static void CheckRoundTrip(XmppElement element)
    {
        var written = element.ToString();
        var parser = new XmlStreamParser(XmlLimits.Default, StanzaRootFactory.Instance);
        var buffer = new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(ClientHeader + written));
        if (!parser.TryRead(ref buffer, out _, out _))
        {
            throw new FuzzFindingException("The stream header written for the round trip did not parse.");
        }

        XmlStreamEventKind kind;
        XmppElement? reread;
        try
        {
            if (!parser.TryRead(ref buffer, out kind, out reread))
            {
                throw new FuzzFindingException($"The serialized element is incomplete: {written}");
            }
        }
        catch (XmppProtocolException e)
        {
            throw new FuzzFindingException($"The serialized element does not parse ({e.Message}): {written}");
        }

        if (kind != XmlStreamEventKind.Element || reread is null)
        {
            // Only a limit can refuse it; the written form can be longer than what was read (entities spelled out).
            return;
        }

        if (reread.ToString() != written)
        {
            throw new FuzzFindingException($"The element changed in a round trip: {written} became {reread}");
        }
    }

    /// <summary>Reads what the dispatch reads of a stanza; an invalid JID in to/from is the documented FormatException.</summary>
    private static void ReadAccessors(XmppElement element)
    {
        if (element is not Stanza stanza)
        {
            return;
        }

        try
        {
            _ = stanza.From;
            _ = stanza.To;
        }
        catch (FormatException)
        {
        }

        _ = stanza.Id;
        _ = stanza.Error;
        switch (stanza)
        {
            case Message message:
                _ = message.Type;
                _ = message.Body;
                _ = message.Delay;
                break;
            case Presence presence:
                _ = presence.Type;
                _ = presence.Show;
                _ = presence.Priority;
                break;
            case Iq iq:
                _ = iq.Type;
                _ = iq.Payload;
                break;
        }
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
