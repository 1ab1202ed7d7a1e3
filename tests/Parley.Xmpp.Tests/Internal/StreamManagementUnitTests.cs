
namespace Parley.Xmpp.Tests.Internal;

/// <summary>The acknowledgement bookkeeping behind <see cref="XmppEndpoint.ConfirmSentAsync"/>.</summary>
public sealed class StreamManagementUnitTests
{
    [Fact]
    public void Without_stream_management_there_is_nothing_to_wait_for()
    {
        var sm = new StreamManagement();
        Assert.False(sm.OnStanzaWritten(new Message(Jid.Parse("a@example.org"), "x")));
        Assert.Null(sm.WhenAllAcknowledged());
    }

    [Fact]
    public void The_wait_completes_when_the_last_stanza_written_before_it_is_acknowledged()
    {
        var sm = Enabled();
        sm.OnStanzaWritten(Stanza("1"));
        sm.OnStanzaWritten(Stanza("2"));
        var wait = sm.WhenAllAcknowledged()!;
        sm.OnStanzaWritten(Stanza("3"));

        Assert.True(sm.OnAck(1));
        Assert.False(wait.IsCompleted);
        Assert.True(sm.OnAck(2));
        Assert.True(wait.IsCompletedSuccessfully);
        Assert.False(sm.WhenAllAcknowledged()!.IsCompleted); // the third is still out
        Assert.True(sm.OnAck(3));
        Assert.True(sm.WhenAllAcknowledged()!.IsCompletedSuccessfully);
    }

    [Fact]
    public void A_wait_carries_over_a_resend_and_completes_on_the_new_acknowledgement()
    {
        var sm = Enabled();
        var stanza = Stanza("1");
        sm.OnStanzaWritten(stanza);
        var wait = sm.WhenAllAcknowledged()!;

        // The stream is lost; a new session takes the unacknowledged stanza and sends it again.
        Assert.Equal([stanza], sm.TakeUnacked());
        sm.OnNewSession();
        Assert.False(wait.IsCompleted);
        Assert.False(sm.WhenAllAcknowledged()!.IsCompleted); // the stanza waits to be sent again
        sm.OnEnabled(resumeId: null, location: null);
        sm.OnStanzaWritten(stanza);
        Assert.True(sm.OnAck(1));
        Assert.True(wait.IsCompletedSuccessfully);
    }

    [Fact]
    public void An_ended_session_fails_the_waits_and_a_later_wait_is_not_taken_for_a_confirmation()
    {
        var sm = Enabled();
        sm.OnStanzaWritten(Stanza("1"));
        var wait = sm.WhenAllAcknowledged()!;
        sm.TakeUnacked();
        sm.FailWaiters(new XmppTransportException("gone", isTransient: true));

        Assert.IsType<XmppTransportException>(wait.Exception?.InnerException);
        Assert.Null(sm.WhenAllAcknowledged());
    }

    [Fact]
    public void A_stanza_sent_again_without_stream_management_fails_its_wait()
    {
        var sm = Enabled();
        var stanza = Stanza("1");
        sm.OnStanzaWritten(stanza);
        var wait = sm.WhenAllAcknowledged()!;
        sm.TakeUnacked();
        sm.OnNewSession();

        Assert.False(sm.OnStanzaWritten(stanza));
        Assert.IsType<XmppTransportException>(wait.Exception?.InnerException);
    }

    private static StreamManagement Enabled()
    {
        var sm = new StreamManagement();
        sm.OnEnabled(resumeId: "r", location: null);
        return sm;
    }

    private static Message Stanza(string body) => new(Jid.Parse("a@example.org"), body);
}
