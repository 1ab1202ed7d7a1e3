using System.Text;

namespace Parley.Xmpp.Tests.Xml;

/// <summary>The parser's name table: shared strings for names and repeated values, and correct answers whatever collides.</summary>
public sealed class XmlNameTableUnitTests
{
    [Fact]
    public void Well_known_names_are_the_literal_strings()
    {
        var names = new XmlNameTable();
        Assert.Same("message", names.Get("message"u8));
        Assert.Same("xml:lang", names.Get("xml:lang"u8));
        Assert.Same(XmppNamespaces.Client, names.Get("jabber:client"u8));
        Assert.Same(string.Empty, names.Get(""u8));
    }

    [Fact]
    public void Other_ASCII_strings_are_allocated_once_and_then_shared()
    {
        var names = new XmlNameTable();
        var first = names.Get("juliet@example.test/balcony"u8, wellKnown: false);
        Assert.Equal("juliet@example.test/balcony", first);
        Assert.Same(first, names.Get("juliet@example.test/balcony"u8, wellKnown: false));
        Assert.Same(first, names.Get("juliet@example.test/balcony"u8));
    }

    [Fact]
    public void Non_ASCII_and_long_strings_are_decoded_every_time_and_never_cached()
    {
        var names = new XmlNameTable();
        var cafe = names.Get("café@example.test"u8);
        Assert.Equal("café@example.test", cafe);
        Assert.NotSame(cafe, names.Get("café@example.test"u8));

        var longName = new string('n', 65);
        var bytes = Encoding.ASCII.GetBytes(longName);
        Assert.Equal(longName, names.Get(bytes));
        Assert.NotSame(names.Get(bytes), names.Get(bytes));
    }

    [Fact]
    public void With_every_string_in_one_set_the_two_most_recent_are_kept_and_answers_stay_right()
    {
        // One set: every string collides with every other.
        var names = new XmlNameTable(sets: 1);
        var ab = names.Get("ab"u8);
        var ba = names.Get("ba"u8);
        Assert.Equal(("ab", "ba"), (ab, ba));
        Assert.Same(ab, names.Get("ab"u8));
        Assert.Same(ba, names.Get("ba"u8));

        // A third string evicts the least recently used one ("ab": "ba" was just used).
        var cd = names.Get("cd"u8);
        Assert.Equal("cd", cd);
        Assert.Same(ba, names.Get("ba"u8));
        var again = names.Get("ab"u8);
        Assert.Equal("ab", again);
        Assert.NotSame(ab, again);

        // Same length, same set, different bytes: never confused.
        foreach (var s in new[] { "xy", "yx", "xx", "yy", "xy" })
        {
            Assert.Equal(s, names.Get(Encoding.ASCII.GetBytes(s)));
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    public void The_number_of_sets_must_be_a_power_of_two(int sets)
        => Assert.Throws<ArgumentOutOfRangeException>(() => new XmlNameTable(sets));
}
