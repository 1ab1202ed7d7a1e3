using System.Text;

namespace Parley.Xmpp.Tests.Xml;

/// <summary>
/// The children live in one array (exact-size when parsed, grown when added to); <see cref="XmppElement.Children"/> is a
/// live view of it. Parsed elements are independent of the bytes they came from and can be changed and written back.
/// </summary>
public sealed class XmppElementChildrenUnitTests
{
    private const string Header = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.test' version='1.0'>";

    [Fact]
    public void Children_is_a_live_view_in_document_order()
    {
        var root = new XmppElement("query", "urn:q");
        Assert.Empty(root.Children);
        Assert.False(root.HasChildren);

        var a = root.AddChild("a");
        var children = root.Children;
        var added = Enumerable.Range(0, 9).Select(i => root.AddChild("b" + i)).ToList();
        Assert.Equal(10, children.Count);
        Assert.Same(a, children[0]);
        Assert.Equal(added, children.Skip(1));
        Assert.All(children, c => Assert.Same(root, c.Parent));
        Assert.Throws<ArgumentOutOfRangeException>(() => children[10]);
        Assert.Throws<ArgumentOutOfRangeException>(() => children[-1]);

        Assert.True(root.Remove(added[3]));
        Assert.Null(added[3].Parent);
        Assert.False(root.Remove(added[3]));
        Assert.Equal(9, children.Count);
        Assert.Equal(["a", "b0", "b1", "b2", "b4", "b5", "b6", "b7", "b8"], children.Select(c => c.Name));
    }

    [Fact]
    public void Changing_the_children_while_enumerating_them_throws()
    {
        var root = new XmppElement("query", "urn:q");
        root.AddChild("a");
        root.AddChild("b");
        Assert.Throws<InvalidOperationException>(() =>
        {
            foreach (var child in root.Children)
            {
                root.AddChild("c");
            }
        });
        Assert.Throws<InvalidOperationException>(() =>
        {
            foreach (var child in root.Children)
            {
                root.Remove(child);
            }
        });

        // Over a copy it works, as with a list.
        foreach (var child in root.Children.ToList())
        {
            root.Remove(child);
        }

        Assert.Empty(root.Children);
    }

    [Fact]
    public void RemoveAll_keeps_the_others_in_order_and_detaches_the_removed()
    {
        var root = new XmppElement("x", "urn:x");
        var removed = new List<XmppElement>();
        for (var i = 0; i < 6; i++)
        {
            root.AddChild("keep", text: i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            removed.Add(root.AddChild("drop"));
        }

        root.AddChild("drop", "urn:other");
        root.RemoveAll("drop");
        Assert.Equal(["keep", "keep", "keep", "keep", "keep", "keep", "drop"], root.Children.Select(c => c.Name));
        Assert.Equal(["0", "1", "2", "3", "4", "5", null], root.Children.Select(c => c.Text));
        Assert.All(removed, r => Assert.Null(r.Parent));

        // A removed child can be added elsewhere.
        new XmppElement("y", "urn:y").Add(removed[0]);
        Assert.NotNull(removed[0].Parent);
    }

    [Fact]
    public void A_parsed_element_changed_and_written_back_parses_to_the_changed_tree()
    {
        var data = Encoding.UTF8.GetBytes(Header +
            "<message from='a@example.test/r' to='b@example.test' type='chat' id='m&amp;1' xml:lang='de'>" +
            "<body>Grüße &lt;3 😀</body><active xmlns='http://jabber.org/protocol/chatstates'/><request xmlns='urn:xmpp:receipts'/></message>");
        var message = (Message)ParserDriver.FeedAll(data)[1].Element!;

        // The element does not depend on the bytes it was read from.
        Array.Fill(data, (byte)'x');
        Assert.Equal("Grüße <3 😀", message.Body);
        Assert.Equal("m&1", message.Id);
        Assert.Equal("a@example.test/r", message.From!.ToString());

        message.SetAttribute("id", "new <id>");
        message.SetAttribute("xml:lang", null);
        message.Body = "changed & \"quoted\"";
        message.RemoveAll("active", "http://jabber.org/protocol/chatstates");
        message.AddChild("thread", text: "t1");
        var markable = message.Add(new XmppElement("markable", "urn:xmpp:chat-markers:0"));
        markable.SetAttribute("n", "1");
        var clone = (Message)message.Clone();
        Assert.Equal(message.ToString(), clone.ToString());

        var reparsed = (Message)ParserDriver.FeedAll(Encoding.UTF8.GetBytes(Header + message))[1].Element!;
        Assert.Equal(message.ToString(), reparsed.ToString());
        Assert.Equal("new <id>", reparsed.Id);
        Assert.Null(reparsed.Language);
        Assert.Equal("changed & \"quoted\"", reparsed.Body);
        Assert.Equal(["body", "request", "thread", "markable"], reparsed.Children.Select(c => c.Name));
        Assert.Equal("urn:xmpp:chat-markers:0", reparsed.Children[3].Namespace);
        Assert.Equal("1", reparsed.Children[3].GetAttribute("n"));

        // The clone is deep: changing it leaves the original alone.
        clone.Body = "clone";
        clone.Children[1].SetAttribute("id", "r");
        Assert.Equal("changed & \"quoted\"", message.Body);
        Assert.Null(message.Children[1].GetAttribute("id"));
        Assert.All(clone.Children, c => Assert.Same(clone, c.Parent));
    }

    [Fact]
    public void Children_of_parsed_elements_are_exact_and_can_grow()
    {
        var many = string.Concat(Enumerable.Range(0, 40).Select(i => $"<item n='{i}'><sub/></item>"));
        var data = Encoding.UTF8.GetBytes(Header + $"<iq type='result' id='1'><query xmlns='urn:q'>{many}</query></iq>");
        var query = ParserDriver.FeedAll(data)[1].Element!.Element("query", "urn:q")!;
        Assert.Equal(40, query.Children.Count);
        Assert.Equal(Enumerable.Range(0, 40).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), query.Children.Select(c => c.GetAttribute("n")));
        Assert.All(query.Children, c => Assert.Single(c.Children));

        query.AddChild("item").SetAttribute("n", "40");
        Assert.Equal(41, query.Elements("item").Count());
        Assert.Equal("40", query.Children[^1].GetAttribute("n"));
        Assert.True(query.Remove(query.Children[0]));
        Assert.Equal("1", query.Children[0].GetAttribute("n"));
    }
}
