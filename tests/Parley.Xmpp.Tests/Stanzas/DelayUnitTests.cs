namespace Parley.Xmpp.Tests.Stanzas;

public sealed class DelayUnitTests
{
    [Theory]
    [InlineData("2002-09-10T23:08:25Z", "2002-09-10T23:08:25.0000000Z")]
    [InlineData("2002-09-10T23:08:25.123Z", "2002-09-10T23:08:25.1230000Z")]
    [InlineData("2002-09-10T23:08:25.1Z", "2002-09-10T23:08:25.1000000Z")]
    [InlineData("2002-09-10T23:08:25.1234567Z", "2002-09-10T23:08:25.1234567Z")]
    [InlineData("2002-09-10T23:08:25.123456789Z", "2002-09-10T23:08:25.1234567Z")] // beyond 100 ns: truncated
    [InlineData("2002-09-10T23:08:25+02:00", "2002-09-10T21:08:25.0000000Z")]
    [InlineData("2002-09-10T23:08:25-05:30", "2002-09-11T04:38:25.0000000Z")]
    [InlineData("2002-09-10T23:08:25.5-05:30", "2002-09-11T04:38:25.5000000Z")]
    [InlineData("2002-09-10T23:08:25+00:00", "2002-09-10T23:08:25.0000000Z")]
    [InlineData("2000-02-29T00:00:00Z", "2000-02-29T00:00:00.0000000Z")] // leap day
    [InlineData("2010-01-01T00:30:00+01:00", "2009-12-31T23:30:00.0000000Z")] // offset crosses the year
    public void Valid_stamps_are_read_as_UTC(string text, string expectedUtc)
    {
        Assert.True(Delay.TryParseStamp(text, out var stamp));

        Assert.Equal(TimeSpan.Zero, stamp.Offset);
        Assert.Equal(expectedUtc, stamp.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", System.Globalization.CultureInfo.InvariantCulture));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("2002-09-10")] // a date alone
    [InlineData("2002-09-10T23:08:25")] // no time zone (XEP-0082 requires one)
    [InlineData("2002-09-10T23:08:25.123")] // no time zone, with fraction
    [InlineData("2002-09-10 23:08:25Z")] // space for T
    [InlineData("2002-09-10T23:08:25 Z")]
    [InlineData("2002-09-10T23:08:25.Z")] // empty fraction
    [InlineData("2002-09-10T23:08:25+0200")] // offset without colon
    [InlineData("2002-09-10T23:08:25+15:00")] // offset out of range
    [InlineData("2002-09-10T23:08:25z")]
    [InlineData("2002-13-10T23:08:25Z")] // month 13
    [InlineData("2001-02-29T23:08:25Z")] // not a leap year
    [InlineData("2002-09-10T24:00:00Z")]
    [InlineData("2002-09-10T23:60:25Z")]
    [InlineData("0000-01-01T00:00:00Z")]
    [InlineData("20020910T23:08:25Z")] // legacy XEP-0091 layout
    [InlineData("Tue, 10 Sep 2002 23:08:25 GMT")]
    [InlineData("2002-09-10T23:08:25ZZ")]
    [InlineData("٢٠٠٢-09-10T23:08:25Z")] // non-ASCII digits
    [InlineData("0001-01-01T00:00:00+01:00")] // before DateTime.MinValue in UTC
    public void Invalid_stamps_are_rejected(string? text)
    {
        Assert.False(Delay.TryParseStamp(text, out _));
    }

    [Fact]
    public void Very_long_fractions_are_rejected()
    {
        Assert.False(Delay.TryParseStamp("2002-09-10T23:08:25." + new string('1', 100) + "Z", out _));
    }

    [Fact]
    public void FromStanza_reads_the_first_valid_delay_with_sender_and_reason()
    {
        var message = new Message(Jid.Parse("alice@example.org"), "hi");
        var broken = message.AddChild("delay", XmppNamespaces.Delay);
        broken.SetAttribute("stamp", "yesterday");
        var valid = message.AddChild("delay", XmppNamespaces.Delay, "Offline Storage");
        valid.SetAttribute("stamp", "2002-09-10T23:08:25.250+02:00");
        valid.SetAttribute("from", "example.org");

        var delay = message.Delay;

        Assert.NotNull(delay);
        Assert.Equal(new DateTimeOffset(2002, 9, 10, 21, 8, 25, 250, TimeSpan.Zero), delay.Stamp);
        Assert.Equal(Jid.Parse("example.org"), delay.From);
        Assert.Equal("Offline Storage", delay.Reason);
    }

    [Fact]
    public void FromStanza_without_a_valid_delay_is_null()
    {
        var presence = new Presence();
        presence.AddChild("delay", "urn:other").SetAttribute("stamp", "2002-09-10T23:08:25Z");
        presence.AddChild("delay", XmppNamespaces.Delay).SetAttribute("stamp", "2002-09-10");

        Assert.Null(presence.Delay);
    }

    [Fact]
    public void ToElement_round_trips_to_the_millisecond()
    {
        var original = new Delay(new DateTimeOffset(2024, 2, 29, 13, 14, 15, 678, TimeSpan.FromHours(-3)), Jid.Parse("muc.example.org"), "Resent");

        var element = original.ToElement();
        var parsed = Delay.FromStanza(WrapIn(element));

        Assert.Equal("2024-02-29T16:14:15.678Z", element.GetAttribute("stamp"));
        Assert.Equal(original, parsed);
    }

    private static Message WrapIn(XmppElement delay)
    {
        var message = new Message();
        message.Add(delay);
        return message;
    }
}
