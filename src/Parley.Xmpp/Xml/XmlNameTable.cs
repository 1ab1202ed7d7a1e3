using System.Buffers.Binary;
using System.Text;
using Parley.Xmpp.Core;

namespace Parley.Xmpp.Xml;

/// <summary>
/// Turns UTF-8 names (element and attribute names, prefixes, namespace URIs) and frequent attribute values
/// (<c>chat</c>, <c>en</c>, the peers' JIDs in <c>from</c> and <c>to</c>) into strings without allocating for ones seen
/// before. A fixed table of well-known XMPP names is shared read-only by all parsers; every parser adds a small cache,
/// two-way set-associative, for the strings of its own peer. A collision only costs an allocation, never a wrong
/// answer, because a hit always compares the bytes.
/// </summary>
internal sealed class XmlNameTable
{
    /// <summary>Longer byte strings are not worth caching (they are rarely repeated names).</summary>
    private const int MaxCachedLength = 64;

    private static readonly Entry[] WellKnown = BuildWellKnown();

    /// <summary>Two ways per set: [2 * set] is the most recently used, [2 * set + 1] the one before it.</summary>
    private readonly string?[] _cache;
    private readonly uint _setMask;

    /// <summary>Creates a table with an empty cache.</summary>
    /// <param name="sets">The number of cache sets, a power of two (tests use 1 to force collisions).</param>
    public XmlNameTable(int sets = 256)
    {
        if (sets <= 0 || (sets & (sets - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(sets), sets, "The number of sets must be a positive power of two.");
        }

        _cache = new string?[sets * 2];
        _setMask = (uint)sets - 1;
    }

    /// <summary>Returns the string for a UTF-8 name, shared with earlier calls when possible.</summary>
    /// <param name="utf8">Valid UTF-8.</param>
    public string Get(ReadOnlySpan<byte> utf8) => Get(utf8, wellKnown: true);

    /// <summary>Returns the string for a UTF-8 name or value, shared with earlier calls when possible.</summary>
    /// <param name="utf8">Valid UTF-8.</param>
    /// <param name="wellKnown">Whether to look in the table of well-known names first (not worth it for a JID).</param>
    public string Get(ReadOnlySpan<byte> utf8, bool wellKnown)
    {
        if (utf8.IsEmpty)
        {
            return string.Empty;
        }

        if (utf8.Length > MaxCachedLength)
        {
            return Encoding.UTF8.GetString(utf8);
        }

        var hash = Hash(utf8, out var head, out var tail);
        if (wellKnown)
        {
            var table = WellKnown;
            var mask = table.Length - 1;
            for (var i = (int)hash & mask; ; i = (i + 1) & mask)
            {
                ref readonly var entry = ref table[i];
                if (entry.Key is null)
                {
                    break;
                }

                // Up to 16 bytes, the length, head and tail the hash was made of are the whole key: no byte comparison.
                if (entry.Hash == hash && entry.Key.Length == utf8.Length
                    && (utf8.Length <= 16 ? entry.Head == head && entry.Tail == tail : utf8.SequenceEqual(entry.Key)))
                {
                    return entry.Value;
                }
            }
        }

        // The cache holds only ASCII strings, so a string of the same length whose chars equal the bytes is the answer.
        var set = (int)((hash >> 16) & _setMask) * 2;
        var cache = _cache;
        if (cache[set] is { } recent && recent.Length == utf8.Length && Ascii.Equals(utf8, recent))
        {
            return recent;
        }

        if (cache[set + 1] is { } older && older.Length == utf8.Length && Ascii.Equals(utf8, older))
        {
            cache[set + 1] = cache[set];
            cache[set] = older;
            return older;
        }

        if (!Ascii.IsValid(utf8))
        {
            return Encoding.UTF8.GetString(utf8);
        }

        var value = Encoding.ASCII.GetString(utf8);
        cache[set + 1] = cache[set];
        cache[set] = value;
        return value;
    }

    /// <summary>
    /// Hashes a non-empty name. <paramref name="head"/> and <paramref name="tail"/> are what the hash is made of: the
    /// first and last 8 (or 4) bytes, or for 1-3 bytes the first, middle and last, so for up to 16 bytes they and the
    /// length determine the bytes.
    /// </summary>
    private static uint Hash(ReadOnlySpan<byte> s, out ulong head, out ulong tail)
    {
        if (s.Length >= 8)
        {
            head = BinaryPrimitives.ReadUInt64LittleEndian(s);
            tail = BinaryPrimitives.ReadUInt64LittleEndian(s[^8..]);
        }
        else if (s.Length >= 4)
        {
            head = BinaryPrimitives.ReadUInt32LittleEndian(s);
            tail = BinaryPrimitives.ReadUInt32LittleEndian(s[^4..]);
        }
        else
        {
            head = s[0];
            tail = ((ulong)s[^1] << 8) | ((ulong)s[s.Length / 2] << 16);
        }

        var h = (head * 0x9E3779B97F4A7C15UL) ^ ((tail + (ulong)s.Length) * 0xC2B2AE3D27D4EB4FUL);
        h ^= h >> 29;
        return (uint)h ^ (uint)(h >> 32);
    }

    private static Entry[] BuildWellKnown()
    {
        string[] names =
        [
            // Stream level.
            "stream", "features", "error", "text", "starttls", "proceed", "mechanisms", "mechanism", "auth", "success",
            "failure", "challenge", "response", "bind", "jid", "resource", "session", "required", "optional",
            "handshake", "version", "db", "sm", "enable", "enabled", "resume", "resumed", "r", "a", "h", "max", "location",
            "c", "ver", "hash", "node", "register", "csi", "ping",

            // Stanzas and their usual children.
            "message", "presence", "iq", "body", "subject", "thread", "show", "status", "priority", "delay", "x",
            "query", "item", "group", "identity", "feature", "active", "composing", "paused", "inactive", "gone",
            "request", "received", "markable", "displayed", "acknowledged", "origin-id", "stanza-id", "store",
            "no-store", "no-copy", "forwarded", "sent", "result", "fin", "set", "first", "last", "count", "data",
            "field", "value", "option", "title", "instructions", "command", "note", "nick", "photo", "reason",

            // Attribute names.
            "to", "from", "id", "type", "xml:lang", "xmlns", "stamp", "name", "subscription", "ask", "var", "category",
            "by", "code", "label", "action", "sessionid", "status", "seconds", "xmlns:stream", "xmlns:db",

            // Frequent attribute values.
            "chat", "groupchat", "normal", "headline", "get", "unavailable", "subscribe", "subscribed",
            "unsubscribe", "unsubscribed", "probe", "en", "1.0", "both", "none", "cancel", "modify", "wait",
            "continue", "submit", "form", "text-single", "hidden", "boolean", "list-single", "jid-single",
            "away", "dnd", "xa", "true", "false", "executing", "completed", "sha-1", "client", "pc", "phone",

            // Namespaces.
            XmppNamespaces.Client, XmppNamespaces.Component, XmppNamespaces.Streams, XmppNamespaces.StreamErrors,
            XmppNamespaces.Stanzas, XmppNamespaces.Tls, XmppNamespaces.Sasl, XmppNamespaces.Bind, XmppNamespaces.Session,
            XmppNamespaces.Roster, XmppNamespaces.DiscoInfo, XmppNamespaces.DiscoItems, XmppNamespaces.Caps,
            XmppNamespaces.Ping, XmppNamespaces.Delay, XmppNamespaces.StreamManagement, XmppNamespaces.Register,
            XmppNamespaces.RegisterFeature, XmppNamespaces.Commands, XmppNamespaces.DataForms, XmppNamespaces.ChatStates,
            XmppNamespaces.Receipts, XmlChars.XmlNamespace, "jabber:server", "jabber:server:dialback",
            "urn:xmpp:features:dialback", "urn:xmpp:sid:0", "urn:xmpp:chat-markers:0", "urn:xmpp:hints",
            "urn:xmpp:carbons:2", "urn:xmpp:forward:0", "urn:xmpp:mam:2", "urn:xmpp:csi:0", "urn:xmpp:time",
            "urn:xmpp:message-correct:0", "urn:xmpp:http:upload:0", "jabber:x:oob", "jabber:x:delay",
            "jabber:x:conference", "jabber:iq:version", "jabber:iq:last", "jabber:iq:private", "vcard-temp",
            "vcard-temp:x:update", "http://jabber.org/protocol/muc", "http://jabber.org/protocol/muc#user",
            "http://jabber.org/protocol/nick", "http://jabber.org/protocol/rsm", "http://jabber.org/protocol/pubsub",
            "http://jabber.org/protocol/pubsub#event", "http://jabber.org/protocol/xhtml-im",
            "http://jabber.org/features/iq-auth", "http://jabber.org/protocol/ibb",
            "http://jabber.org/protocol/bytestreams", "urn:xmpp:blocking", "urn:xmpp:ping",
        ];

        var distinct = names.Distinct(StringComparer.Ordinal).ToArray();
        var size = 1;
        while (size < distinct.Length * 4)
        {
            size <<= 1;
        }

        var table = new Entry[size];
        foreach (var name in distinct)
        {
            var key = Encoding.UTF8.GetBytes(name);
            var hash = Hash(key, out var head, out var tail);
            var i = (int)hash & (size - 1);
            while (table[i].Key is not null)
            {
                i = (i + 1) & (size - 1);
            }

            table[i] = new Entry(key, name, hash, head, tail);
        }

        return table;
    }

    private readonly struct Entry(byte[] key, string value, uint hash, ulong head, ulong tail)
    {
        public readonly byte[] Key = key;
        public readonly string Value = value;
        public readonly uint Hash = hash;
        public readonly ulong Head = head;
        public readonly ulong Tail = tail;
    }
}
