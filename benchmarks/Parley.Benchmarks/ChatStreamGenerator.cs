using System.Buffers;
using System.Text;

namespace Parley.Benchmarks;

/// <summary>
/// Generates, deterministically, a server-to-client stream of chat messages as Prosody would deliver them:
/// bodies of different lengths (some with entities, some non-ASCII), chat states, receipt requests and delay stamps.
/// </summary>
internal static class ChatStreamGenerator
{
    public const string Header =
        "<?xml version='1.0'?><stream:stream xml:lang='en' from='example.test' version='1.0' id='5c1b0e6d-bench' " +
        "xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client'>";

    public const string Footer = "</stream:stream>";

    private static readonly string[] Words =
    [
        "hello", "there", "how", "are", "you", "today", "meeting", "at", "noon", "ok", "sure", "thanks", "see", "the",
        "build", "is", "green", "again", "lunch", "tomorrow", "can", "we", "talk", "about", "release", "notes", "yes",
        "no", "maybe", "later", "coffee", "deploy", "server", "review", "please", "merged", "bug", "fixed", "great",
    ];

    private static readonly string[] Escaped =
    [
        "&amp;", "&lt;3", "&gt;_&lt;", "&quot;quoted&quot;", "it&apos;s", "a &lt; b &amp;&amp; c &gt; d",
    ];

    private static readonly string[] NonAscii = ["café", "naïve", "Grüße", "日本語", "привет", "😀", "👍🏽"];

    private static readonly string[] Users = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"];
    private static readonly string[] Resources = ["phone", "laptop", "web-3f2a", "gajim.X7K2", "conversations.9Qd1"];

    /// <summary>Writes the stream header, <paramref name="count"/> messages and the stream end.</summary>
    public static byte[] Generate(int count)
    {
        var output = new ArrayBufferWriter<byte>(count * 260);
        var random = new XorShift(0x5EED_CAFE_F00D_1234);
        var text = new StringBuilder(1024);
        Write(output, Header);
        for (var i = 0; i < count; i++)
        {
            text.Clear();
            AppendMessage(text, random, i);
            Write(output, text.ToString());
        }

        Write(output, Footer);
        return output.WrittenSpan.ToArray();
    }

    private static void AppendMessage(StringBuilder s, XorShift random, int index)
    {
        var from = Users[random.Next(Users.Length)];
        var to = Users[random.Next(Users.Length)];
        s.Append("<message from='").Append(from).Append("@example.test/").Append(Resources[random.Next(Resources.Length)])
            .Append("' to='").Append(to).Append("@example.test' type='chat' id='")
            .Append(index.ToString("x8", System.Globalization.CultureInfo.InvariantCulture)).Append('-')
            .Append(random.NextUInt64().ToString("x12", System.Globalization.CultureInfo.InvariantCulture)[..12]).Append('\'');
        if (random.Next(4) == 0)
        {
            s.Append(" xml:lang='en'");
        }

        s.Append('>');

        // 5% are chat-state notifications without a body.
        var roll = random.Next(100);
        if (roll < 5)
        {
            s.Append("<composing xmlns='http://jabber.org/protocol/chatstates'/></message>");
            return;
        }

        s.Append("<body>");
        var words = random.Next(100) switch
        {
            < 55 => 2 + random.Next(8),    // short
            < 90 => 10 + random.Next(20),  // medium
            _ => 30 + random.Next(70),     // long
        };
        for (var w = 0; w < words; w++)
        {
            if (w > 0)
            {
                s.Append(' ');
            }

            var kind = random.Next(100);
            s.Append(kind < 4 ? Escaped[random.Next(Escaped.Length)] : kind < 7 ? NonAscii[random.Next(NonAscii.Length)] : Words[random.Next(Words.Length)]);
        }

        s.Append("</body>");
        if (random.Next(100) < 70)
        {
            s.Append("<active xmlns='http://jabber.org/protocol/chatstates'/>");
        }

        if (random.Next(100) < 30)
        {
            s.Append("<request xmlns='urn:xmpp:receipts'/>");
        }

        if (random.Next(100) < 10)
        {
            s.Append("<delay xmlns='urn:xmpp:delay' from='example.test' stamp='2024-05-0")
                .Append(1 + random.Next(9)).Append("T12:3").Append(random.Next(10)).Append(":56.789Z'>Offline Storage</delay>");
        }

        s.Append("</message>");
    }

    private static void Write(ArrayBufferWriter<byte> output, string s)
    {
        var span = output.GetSpan(Encoding.UTF8.GetMaxByteCount(s.Length));
        output.Advance(Encoding.UTF8.GetBytes(s, span));
    }

    /// <summary>xorshift64*: the same sequence on every run and runtime, unlike <see cref="Random"/> whose algorithm may change.</summary>
    private sealed class XorShift(ulong seed)
    {
        private ulong _state = seed;

        public ulong NextUInt64()
        {
            _state ^= _state >> 12;
            _state ^= _state << 25;
            _state ^= _state >> 27;
            return _state * 0x2545F4914F6CDD1DUL;
        }

        public int Next(int max) => (int)(NextUInt64() % (ulong)max);
    }
}
