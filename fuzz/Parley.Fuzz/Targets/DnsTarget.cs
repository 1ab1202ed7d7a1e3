using System.Buffers.Binary;
using Parley.Xmpp.Net;

namespace Parley.Fuzz.Targets;

/// <summary>
/// A DNS reply to the SRV resolver's question for <c>_xmpp-client._tcp.example.org</c>, read as the UDP and TCP paths
/// read it (the message without the TCP length prefix; its id is taken as the query's, so the fuzzer need not guess it).
/// The records found are then ordered as the resolver orders them (RFC 2782 weights).
/// </summary>
/// <remarks>
/// Clear error: <see cref="DnsFormatException"/>. Checked: names hold only printable ASCII (anything else is escaped as
/// \DDD), and ordering keeps every record exactly once.
/// </remarks>
internal sealed class DnsTarget : FuzzTarget
{
    private const string QueryName = "_xmpp-client._tcp.example.org";

    public override string Name => "dns";

    public override string Description => "DnsMessage.TryParseResponse (SRV answers, CNAME chains, compression) and SrvResolver.Order";

    protected override void Feed(byte[] input)
    {
        var id = input.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(input) : (ushort)0;
        if (!DnsMessage.TryParseResponse(input, id, QueryName, out var response))
        {
            return;
        }

        foreach (var record in response.Records)
        {
            if (record.Target.Length == 0 || record.Target.Any(c => c is <= ' ' or > '~'))
            {
                throw new FuzzFindingException($"An SRV target holds a character outside printable ASCII: '{record.Target}'.");
            }
        }

        var usable = response.Records.Where(r => r.Target != ".").ToList();
        var ordered = SrvResolver.Order(usable, new Random((int)new InputSplits(input).Next()));
        if (ordered.Count != usable.Count || usable.Except(ordered).Any())
        {
            throw new FuzzFindingException($"Ordering {usable.Count} SRV records gave {ordered.Count}.");
        }
    }

    protected override bool IsClearError(Exception exception) => exception is DnsFormatException;
}
