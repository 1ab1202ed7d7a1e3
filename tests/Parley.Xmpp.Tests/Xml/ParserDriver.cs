using System.Buffers;

namespace Parley.Xmpp.Tests.Xml;

/// <summary>One event the parser produced.</summary>
internal sealed record ParsedEvent(XmlStreamEventKind Kind, XmppElement? Element, string? Reason = null)
{
    /// <summary>A canonical text form, to compare runs fed in different chunkings.</summary>
    public string Describe() => Kind switch
    {
        XmlStreamEventKind.StreamHeader => "header " + string.Join(' ', Element!.Attributes.Select(a => $"{a.Name}={a.Value}")),
        XmlStreamEventKind.Element => $"{Element!.GetType().Name} {Element}",
        XmlStreamEventKind.Refused => $"refused {Element} ({Reason})",
        _ => "end",
    };
}

/// <summary>Drives <see cref="XmlStreamParser"/> the way the engine does with a pipe: read, TryRead until false, advance.</summary>
internal static class ParserDriver
{
    public static byte[] Fixture(string name) => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Fixtures", "xml", name));

    /// <summary>Feeds the bytes as chunks chained into one multi-segment sequence (like a pipe's segments).</summary>
    /// <param name="data">All bytes.</param>
    /// <param name="chunkSizes">Sizes of the successive reads; the last size repeats until the data is used up.</param>
    /// <param name="limits">Limits, or the defaults.</param>
    /// <param name="resetAfter">Called for each event; when it returns true the parser is reset (a stream restart).</param>
    /// <param name="parser">The parser to use, or a new one.</param>
    public static List<ParsedEvent> FeedSegmented(byte[] data, IReadOnlyList<int> chunkSizes, XmlLimits? limits = null, Func<ParsedEvent, bool>? resetAfter = null, XmlStreamParser? parser = null)
    {
        parser ??= new XmlStreamParser(limits ?? XmlLimits.Default, StanzaRootFactory.Instance);
        var events = new List<ParsedEvent>();
        Segment? first = null, last = null;
        SequencePosition consumed = default;
        var offset = 0;
        var read = 0;
        while (offset < data.Length)
        {
            var size = Math.Min(chunkSizes[Math.Min(read++, chunkSizes.Count - 1)], data.Length - offset);
            var memory = new ReadOnlyMemory<byte>(data, offset, size);
            offset += size;
            if (last is null)
            {
                first = last = new Segment(memory, 0);
                consumed = new SequencePosition(first, 0);
            }
            else
            {
                last = last.Append(memory);
            }

            var buffer = new ReadOnlySequence<byte>((Segment)consumed.GetObject()!, consumed.GetInteger(), last, last.Memory.Length);
            Drain(parser, ref buffer, events, resetAfter);
            consumed = buffer.Start;
        }

        return events;
    }

    /// <summary>Feeds the bytes as reads into one contiguous buffer of the unconsumed bytes (single-segment sequences).</summary>
    public static List<ParsedEvent> FeedContiguous(byte[] data, IReadOnlyList<int> chunkSizes, XmlLimits? limits = null, Func<ParsedEvent, bool>? resetAfter = null)
    {
        var parser = new XmlStreamParser(limits ?? XmlLimits.Default, StanzaRootFactory.Instance);
        var events = new List<ParsedEvent>();
        var pending = Array.Empty<byte>();
        var offset = 0;
        var read = 0;
        while (offset < data.Length)
        {
            var size = Math.Min(chunkSizes[Math.Min(read++, chunkSizes.Count - 1)], data.Length - offset);
            pending = [.. pending, .. data.AsSpan(offset, size)];
            offset += size;
            var buffer = new ReadOnlySequence<byte>(pending);
            Drain(parser, ref buffer, events, resetAfter);
            pending = pending[(int)(pending.Length - buffer.Length)..];
        }

        return events;
    }

    public static List<ParsedEvent> FeedAll(byte[] data, XmlLimits? limits = null, Func<ParsedEvent, bool>? resetAfter = null)
        => FeedContiguous(data, [data.Length], limits, resetAfter);

    /// <summary>
    /// Feeds the bytes whole, byte by byte, in 7-byte segments and in 3-byte contiguous reads; the parser must give the same
    /// events (or throw the same error) whichever way the bytes arrive.
    /// </summary>
    public static IEnumerable<Func<List<ParsedEvent>>> EveryWay(byte[] data, XmlLimits? limits = null)
    {
        yield return () => FeedAll(data, limits);
        yield return () => FeedSegmented(data, [1], limits);
        yield return () => FeedSegmented(data, [7], limits);
        yield return () => FeedContiguous(data, [3], limits);
    }

    /// <summary>Asserts that the stream fails every way it is fed with exactly this text, offset and stream error condition.</summary>
    public static void AssertFails(byte[] data, long offset, string message, string condition = "not-well-formed", XmlLimits? limits = null)
    {
        var expected = $"{message} (at byte {offset} of the stream).";
        foreach (var feed in EveryWay(data, limits))
        {
            var error = Assert.Throws<XmppProtocolException>(() => feed());
            Assert.Equal(expected, error.Message);
            Assert.Equal(condition, error.StreamErrorCondition);
        }
    }

    private static void Drain(XmlStreamParser parser, ref ReadOnlySequence<byte> buffer, List<ParsedEvent> events, Func<ParsedEvent, bool>? resetAfter)
    {
        while (parser.TryRead(ref buffer, out var kind, out var element))
        {
            var parsed = new ParsedEvent(kind, element, kind == XmlStreamEventKind.Refused ? parser.RefusalReason : null);
            events.Add(parsed);
            if (resetAfter?.Invoke(parsed) == true)
            {
                parser.Reset();
            }
        }
    }

    /// <summary>A segment of a multi-segment sequence.</summary>
    internal sealed class Segment : ReadOnlySequenceSegment<byte>
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
