using System.Buffers.Binary;
using System.Text;

namespace Parley.Xmpp.Net;

/// <summary>A DNS answer that breaks the wire format (RFC 1035) or one of the parser's limits.</summary>
internal sealed class DnsFormatException(string message) : Exception(message);

/// <summary>The part of a DNS answer the SRV resolver uses.</summary>
/// <param name="ResponseCode">RCODE: 0 no error, 3 name error (NXDOMAIN), others are server failures.</param>
/// <param name="IsTruncated">The TC bit: the answer did not fit into the datagram and must be asked again over TCP.</param>
/// <param name="Records">The SRV records for the question (after following CNAMEs), in the order received.</param>
internal readonly record struct DnsResponse(int ResponseCode, bool IsTruncated, IReadOnlyList<SrvRecord> Records);

/// <summary>
/// Just enough of the DNS wire format (RFC 1035) for one SRV question: builds the query and reads the
/// answer section with hard limits. Names are handled as strings without the trailing dot (the root is
/// "."); label bytes outside printable ASCII, '.' and '\' are escaped as \DDD, so a hostile name can
/// neither inject characters nor compare equal to another name.
/// </summary>
internal static class DnsMessage
{
    public const int HeaderLength = 12;
    public const int MaxMessageLength = ushort.MaxValue;
    public const int MaxNameLength = 255;
    public const int MaxLabelLength = 63;
    public const int MaxAnswerCount = 256;
    public const int MaxCnameHops = 8;
    public const int TypeSrv = 33;
    public const int TypeCname = 5;
    public const int ClassIn = 1;
    public const int ResponseCodeNoError = 0;
    public const int ResponseCodeNameError = 3;

    /// <summary>Encodes a dot-separated ASCII name into wire form.</summary>
    /// <exception cref="ArgumentException">An empty label, a non-ASCII character, or a label/name over the limits.</exception>
    public static byte[] EncodeName(string name)
    {
        var labels = name.EndsWith('.') ? name[..^1].Split('.') : name.Split('.');
        var wire = new byte[labels.Sum(l => l.Length + 1) + 1];
        if (wire.Length > MaxNameLength)
            throw new ArgumentException($"The name '{name}' is longer than {MaxNameLength} bytes.", nameof(name));
        var offset = 0;
        foreach (var label in labels)
        {
            if (label.Length is 0 or > MaxLabelLength)
                throw new ArgumentException($"The name '{name}' has an empty label or one longer than {MaxLabelLength} bytes.", nameof(name));
            wire[offset++] = (byte)label.Length;
            foreach (var c in label)
            {
                if (c is <= ' ' or > '~' or '\\')
                    throw new ArgumentException($"The name '{name}' is not a DNS name in A-label form.", nameof(name));
                wire[offset++] = (byte)c;
            }
        }
        return wire;
    }

    /// <summary>Builds a standard recursive query for the SRV records of <paramref name="encodedName"/> (from <see cref="EncodeName"/>).</summary>
    public static byte[] BuildQuery(ushort id, ReadOnlySpan<byte> encodedName)
    {
        var query = new byte[HeaderLength + encodedName.Length + 4];
        BinaryPrimitives.WriteUInt16BigEndian(query, id);
        query[2] = 0x01; // RD: ask the server to recurse.
        query[5] = 1; // QDCOUNT
        encodedName.CopyTo(query.AsSpan(HeaderLength));
        BinaryPrimitives.WriteUInt16BigEndian(query.AsSpan(HeaderLength + encodedName.Length), TypeSrv);
        BinaryPrimitives.WriteUInt16BigEndian(query.AsSpan(HeaderLength + encodedName.Length + 2), ClassIn);
        return query;
    }

    /// <summary>Reads an answer to the SRV query with <paramref name="id"/> for <paramref name="name"/>.</summary>
    /// <returns><see langword="false"/> when the message is not an answer to that query (another id, not a response, another question).</returns>
    /// <exception cref="DnsFormatException">The message claims to be the answer but is malformed or exceeds a limit.</exception>
    public static bool TryParseResponse(ReadOnlySpan<byte> message, ushort id, string name, out DnsResponse response)
    {
        response = default;
        if (message.Length > MaxMessageLength)
            throw new DnsFormatException($"The DNS message is longer than {MaxMessageLength} bytes.");
        var offset = 0;
        var header = Take(message, ref offset, HeaderLength);
        var flags = BinaryPrimitives.ReadUInt16BigEndian(header[2..]);
        if (BinaryPrimitives.ReadUInt16BigEndian(header) != id || (flags & 0x8000) == 0 || ((flags >> 11) & 0xF) != 0)
            return false;
        var responseCode = flags & 0xF;
        var questionCount = BinaryPrimitives.ReadUInt16BigEndian(header[4..]);
        var answerCount = BinaryPrimitives.ReadUInt16BigEndian(header[6..]);

        // Some servers leave the question out of an error answer; it carries no records, so it is safe to take.
        if (questionCount == 0 && responseCode != ResponseCodeNoError)
        {
            response = new DnsResponse(responseCode, false, []);
            return true;
        }
        if (questionCount != 1)
            return false;
        var questionName = ReadName(message, ref offset);
        var question = Take(message, ref offset, 4);
        if (!questionName.Equals(name, StringComparison.OrdinalIgnoreCase)
            || BinaryPrimitives.ReadUInt16BigEndian(question) != TypeSrv
            || BinaryPrimitives.ReadUInt16BigEndian(question[2..]) != ClassIn)
            return false;

        // A truncated answer is asked again over TCP, so its (possibly partial) records are not read.
        if ((flags & 0x0200) != 0)
        {
            response = new DnsResponse(responseCode, true, []);
            return true;
        }
        if (answerCount > MaxAnswerCount)
            throw new DnsFormatException($"The DNS answer has {answerCount} records; at most {MaxAnswerCount} are accepted.");

        var srv = new List<(string Owner, SrvRecord Record)>();
        var cnames = new List<(string Owner, string Target)>();
        for (var i = 0; i < answerCount; i++)
        {
            var owner = ReadName(message, ref offset);
            var fixedPart = Take(message, ref offset, 10);
            var type = BinaryPrimitives.ReadUInt16BigEndian(fixedPart);
            var recordClass = BinaryPrimitives.ReadUInt16BigEndian(fixedPart[2..]);
            var dataLength = BinaryPrimitives.ReadUInt16BigEndian(fixedPart[8..]);
            var dataStart = offset;
            var data = Take(message, ref offset, dataLength);
            if (recordClass != ClassIn || type is not (TypeSrv or TypeCname))
                continue;

            // Names inside RDATA may be compressed, so they are read against the whole message, but must end with the RDATA.
            var nameOffset = dataStart + (type == TypeSrv ? 6 : 0);
            if (type == TypeSrv && dataLength < 7)
                throw new DnsFormatException("An SRV record is shorter than its fixed fields.");
            var target = ReadName(message[..offset], ref nameOffset);
            if (nameOffset != offset)
                throw new DnsFormatException("A record's data length does not match its content.");
            if (type == TypeCname)
            {
                cnames.Add((owner, target));
                continue;
            }
            srv.Add((owner, new SrvRecord(
                target,
                Port: BinaryPrimitives.ReadUInt16BigEndian(data[4..]),
                Priority: BinaryPrimitives.ReadUInt16BigEndian(data),
                Weight: BinaryPrimitives.ReadUInt16BigEndian(data[2..]))));
        }

        // A recursive server answers an alias with the CNAME chain followed by the records of its end.
        var current = name;
        for (var hop = 0; hop < MaxCnameHops; hop++)
        {
            var next = cnames.FindIndex(c => c.Owner.Equals(current, StringComparison.OrdinalIgnoreCase));
            if (next < 0)
                break;
            current = cnames[next].Target;
        }
        response = new DnsResponse(
            responseCode,
            false,
            srv.Where(s => s.Owner.Equals(current, StringComparison.OrdinalIgnoreCase)).Select(s => s.Record).ToList());
        return true;
    }

    /// <summary>Reads a possibly compressed name starting at <paramref name="offset"/> and moves past it.</summary>
    /// <exception cref="DnsFormatException">The name runs past the message, is too long, uses an unknown label type, or a pointer does not point strictly before the data that refers to it (which also rules out loops).</exception>
    internal static string ReadName(ReadOnlySpan<byte> message, ref int offset)
    {
        var text = new StringBuilder();
        var position = offset;
        var segmentStart = offset;
        var end = -1;
        var wireLength = 1;
        while (true)
        {
            if (position >= message.Length)
                throw new DnsFormatException("A name runs past the end of the DNS message.");
            var length = message[position];
            if (length == 0)
            {
                position++;
                break;
            }
            if ((length & 0xC0) == 0xC0)
            {
                if (position + 1 >= message.Length)
                    throw new DnsFormatException("A compression pointer runs past the end of the DNS message.");
                var target = ((length & 0x3F) << 8) | message[position + 1];
                if (target >= segmentStart)
                    throw new DnsFormatException("A compression pointer does not point backwards (a loop or a forward reference).");
                if (end < 0)
                    end = position + 2;
                position = segmentStart = target;
                continue;
            }
            if ((length & 0xC0) != 0)
                throw new DnsFormatException($"Unsupported DNS label type 0x{length & 0xC0:x2}.");
            wireLength += 1 + length;
            if (wireLength > MaxNameLength)
                throw new DnsFormatException($"A name is longer than {MaxNameLength} bytes.");
            if (position + 1 + length > message.Length)
                throw new DnsFormatException("A label runs past the end of the DNS message.");
            if (text.Length > 0)
                text.Append('.');
            foreach (var b in message.Slice(position + 1, length))
            {
                if (b is > (byte)' ' and < 0x7F and not (byte)'.' and not (byte)'\\')
                    text.Append((char)b);
                else
                    text.Append('\\').Append(b.ToString("D3", System.Globalization.CultureInfo.InvariantCulture));
            }
            position += 1 + length;
        }
        offset = end >= 0 ? end : position;
        return text.Length == 0 ? "." : text.ToString();
    }

    private static ReadOnlySpan<byte> Take(ReadOnlySpan<byte> message, ref int offset, int count)
    {
        if (count > message.Length - offset)
            throw new DnsFormatException("The DNS message is truncated.");
        var slice = message.Slice(offset, count);
        offset += count;
        return slice;
    }
}
