using System.Text;
using System.Xml.Linq;

namespace Parley.Xmpp.Tests.Xml;

/// <summary>
/// The parser against an independent one: random stanzas (names of 1 to 9 bytes, prefixes, non-ASCII names, references,
/// 2-, 3- and 4-byte UTF-8, tabs and line ends in attribute values, CDATA) must give the trees System.Xml.Linq gives,
/// whole, byte by byte and split at random points. The parser's shortcuts (recently seen names, plain values found in one
/// search, one-pass validation, the completeness test remembered per read) all run on these streams.
/// </summary>
public sealed class XmlStreamParserOracleUnitTests
{
    private const string Header =
        "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' xmlns:x='urn:x' to='example.test' version='1.0'>";

    // 1 to 9 bytes, so names that fit the 8-byte comparison with the byte after them and names that do not both occur.
    private static readonly string[] ElementNames = ["a", "h", "iq", "abc", "body", "delay", "active", "message", "abcdefgh", "composing", "x:y", "x:body", "élan", "名前"];
    private static readonly string[] AttributeNames = ["a", "id", "to", "ab", "from", "type", "stamp", "abcdefg", "abcdefgh", "xml:lang", "x:y", "x:id", "é"];

    private static readonly string[] ValuePieces =
    [
        "plain", "a@example.test/r", "&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#65;", "&#x1F600;", "ü", "中文", "😀", "\t", "\n", "\r\n", "\r", " ", ">", "x",
    ];

    private static readonly string[] TextPieces =
    [
        "hello", " ", "&amp;", "&lt;3", "&gt;", "&quot;q&quot;", "&apos;", "&#10;", "&#x10348;", "ü", "Привет", "中文", "😀", "\r\n", "\r", "\n", ">", "\t",
        "<![CDATA[a<b&c]]>", "<![CDATA[]]>", "<![CDATA[\r\n]]>",
    ];

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Random_stanzas_give_the_trees_System_Xml_gives_however_the_bytes_are_split(int seed)
    {
        var random = new Random(seed);
        var stanzas = Enumerable.Range(0, 40).Select(_ => RandomElement(random, depth: 1)).ToArray();
        var data = Encoding.UTF8.GetBytes(Header + string.Concat(stanzas));

        var whole = ParserDriver.FeedAll(data);
        Assert.Equal(stanzas.Length + 1, whole.Count);
        for (var i = 0; i < stanzas.Length; i++)
        {
            var expected = XElement.Parse("<r xmlns='jabber:client' xmlns:x='urn:x'>" + stanzas[i] + "</r>", LoadOptions.PreserveWhitespace).Elements().Single();
            AssertSameTree(expected, whole[i + 1].Element!, stanzas[i]);
        }

        var described = whole.Select(e => e.Describe()).ToList();
        Assert.Equal(described, ParserDriver.FeedSegmented(data, [1]).Select(e => e.Describe()));
        for (var round = 0; round < 20; round++)
        {
            var chunks = Enumerable.Range(0, 64).Select(_ => random.Next(1, 400)).ToArray();
            Assert.Equal(described, ParserDriver.FeedSegmented(data, chunks).Select(e => e.Describe()));
            Assert.Equal(described, ParserDriver.FeedContiguous(data, chunks).Select(e => e.Describe()));
        }
    }

    [Fact]
    public void A_name_that_starts_like_a_recent_one_is_parsed_as_itself()
    {
        // Each pair shares the bytes of the shorter name; the byte after it tells them apart.
        var data = Encoding.UTF8.GetBytes(Header +
            "<message id='1' idx='2' i='3'><body>a</body><bodyx>b</bodyx><abcdefg/><abcdefgh/><abcdefg x='1'/></message>" +
            "<message idx='2' id='1' i='3'><bodyx>b</bodyx><body>a</body><abcdefgh/><abcdefg/><abcdefg x='1'/></message>" +
            "<message é='1' éa='2'><éb/><é/></message>");
        var events = ParserDriver.FeedAll(data);

        var first = events[1].Element!;
        Assert.Equal([("id", "1"), ("idx", "2"), ("i", "3")], first.Attributes.Select(a => (a.Name, a.Value)));
        Assert.Equal(["body", "bodyx", "abcdefg", "abcdefgh", "abcdefg"], first.Children.Select(c => c.Name));
        var second = events[2].Element!;
        Assert.Equal([("idx", "2"), ("id", "1"), ("i", "3")], second.Attributes.Select(a => (a.Name, a.Value)));
        Assert.Equal(["bodyx", "body", "abcdefgh", "abcdefg", "abcdefg"], second.Children.Select(c => c.Name));
        Assert.Equal("1", second.Children[4].GetAttribute("x"));
        var third = events[3].Element!;
        Assert.Equal(["é", "éa"], third.Attributes.Select(a => a.Name));
        Assert.Equal(["éb", "é"], third.Children.Select(c => c.Name));
    }

    [Fact]
    public void A_recent_name_followed_by_a_character_that_cannot_follow_it_is_still_an_error()
    {
        // "body" then '>' is remembered; "body" then U+00B7 (a name character only after the start) is a longer name,
        // and "body" then U+00D7 (not a name character) is an error.
        var ok = ParserDriver.FeedAll(Encoding.UTF8.GetBytes(Header + "<message><body>a</body><body·>b</body·></message>"));
        Assert.Equal(["body", "body·"], ok[1].Element!.Children.Select(c => c.Name));

        var bad = Encoding.UTF8.GetBytes(Header + "<message><body>a</body><body×>b</body×></message>");
        var whole = Assert.Throws<XmppProtocolException>(() => ParserDriver.FeedAll(bad));
        var split = Assert.Throws<XmppProtocolException>(() => ParserDriver.FeedSegmented(bad, [1]));
        Assert.Equal(split.Message, whole.Message);
    }

    public static TheoryData<byte[]> InvalidAfterManyCharacters()
    {
        // More non-ASCII characters than the one-pass check looks at, then the fault: the vectorized passes decide.
        var many = string.Concat(Enumerable.Repeat("ü", 40));
        byte[] prefix = [.. Encoding.UTF8.GetBytes(Header + "<message><body>" + many)];
        byte[] suffix = [.. "</body></message>"u8];
        return
        [
            [.. prefix, 0xC0, 0xAF, .. suffix],
            [.. prefix, 0x01, .. suffix],
            [.. prefix, 0xEF, 0xBF, 0xBF, .. suffix],
            [.. prefix, 0xED, 0xA0, 0x80, .. suffix],
            [.. Encoding.UTF8.GetBytes(Header + "<message><body>ü"), 0x0B, .. suffix],
            [.. Encoding.UTF8.GetBytes(Header + "<message><body>ü"), 0xF4, 0x90, 0x80, 0x80, .. suffix],
        ];
    }

    [Theory]
    [MemberData(nameof(InvalidAfterManyCharacters))]
    public void Characters_are_validated_whichever_pass_finds_the_fault(byte[] data)
    {
        var whole = Assert.Throws<XmppProtocolException>(() => ParserDriver.FeedAll(data));
        var split = Assert.Throws<XmppProtocolException>(() => ParserDriver.FeedSegmented(data, [1]));
        Assert.Equal("not-well-formed", whole.StreamErrorCondition);
        Assert.Equal(split.Message, whole.Message);
    }

    [Fact]
    public void Stanzas_of_different_kinds_in_one_read_are_all_built_without_the_scanner()
    {
        var stanzas = string.Concat(Enumerable.Range(0, 30).Select(i => (i % 3) switch
        {
            0 => $"<message id='{i}'><body>m</body></message>",
            1 => $"<presence id='{i}'><show>away</show></presence>",
            _ => $"<iq type='get' id='{i}'><ping xmlns='urn:xmpp:ping'/></iq>",
        }));
        var parser = new XmlStreamParser(XmlLimits.Default, StanzaRootFactory.Instance);
        var buffer = new System.Buffers.ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(Header + stanzas));
        var kinds = new List<string>();
        while (parser.TryRead(ref buffer, out var kind, out var element))
        {
            if (kind == XmlStreamEventKind.Element)
            {
                kinds.Add(element!.GetType().Name);
            }
        }

        Assert.Equal(30, kinds.Count);
        Assert.Equal(["Message", "Presence", "Iq"], kinds.Take(3));
        Assert.InRange(parser.BytesScanned, 1, Header.Length);
    }

    private static string RandomElement(Random random, int depth)
    {
        var name = depth == 1 ? "message" : ElementNames[random.Next(ElementNames.Length)];
        var builder = new StringBuilder("<").Append(name);
        foreach (var attribute in AttributeNames.OrderBy(_ => random.Next()).Take(random.Next(0, 6)))
        {
            // x:y and x:id would be the same attribute twice only with the same local name; they differ.
            var quote = random.Next(2) == 0 ? '\'' : '"';
            builder.Append(' ').Append(attribute).Append('=').Append(quote);
            for (var i = random.Next(0, 5); i > 0; i--)
            {
                builder.Append(ValuePieces[random.Next(ValuePieces.Length)]);
            }

            builder.Append(quote);
        }

        var children = depth < 4 ? random.Next(0, 4) : 0;
        if (children == 0 && random.Next(4) == 0)
        {
            return builder.Append("/>").ToString();
        }

        builder.Append('>');
        if (children == 0)
        {
            // Text only in leaves: XMPP has no mixed content, and the model keeps one text per element.
            for (var i = random.Next(1, 8); i > 0; i--)
            {
                builder.Append(TextPieces[random.Next(TextPieces.Length)]);
            }
        }

        for (var i = 0; i < children; i++)
        {
            builder.Append(RandomElement(random, depth + 1));
        }

        return builder.Append("</").Append(name).Append('>').ToString();
    }

    private static void AssertSameTree(XElement expected, XmppElement actual, string source)
    {
        Assert.True(expected.Name.LocalName == actual.Name, $"name {actual.Name} in {source}");
        Assert.True(expected.Name.NamespaceName == actual.Namespace, $"namespace of {actual.Name} in {source}");

        var expectedAttributes = expected.Attributes().Where(a => !a.IsNamespaceDeclaration)
            .Select(a => (a.Name.NamespaceName, a.Name.LocalName, a.Value)).ToList();
        var actualAttributes = actual.Attributes.Select(a =>
        {
            var colon = a.Name.IndexOf(':', StringComparison.Ordinal);
            return colon < 0
                ? (string.Empty, a.Name, a.Value)
                : (a.Name[..colon] == "xml" ? XNamespace.Xml.NamespaceName : "urn:x", a.Name[(colon + 1)..], a.Value);
        }).ToList();
        Assert.Equal(expectedAttributes, actualAttributes);

        var text = string.Concat(expected.Nodes().OfType<XText>().Select(t => t.Value));
        Assert.Equal(text.Length == 0 ? null : text, actual.Text);

        var expectedChildren = expected.Elements().ToList();
        Assert.Equal(expectedChildren.Count, actual.Children.Count);
        for (var i = 0; i < expectedChildren.Count; i++)
        {
            Assert.Same(actual, actual.Children[i].Parent);
            AssertSameTree(expectedChildren[i], actual.Children[i], source);
        }
    }
}
