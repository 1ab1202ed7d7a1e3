using Parley.Xmpp.Accounts;
using Parley.Xmpp.Forms;

namespace Parley.Xmpp.Tests.Accounts;

/// <summary>XEP-0050 answers and requests, on the examples of the specification, and XEP-0133's reading of server notes.</summary>
public sealed class AdHocCommandUnitTests
{
    private static readonly Jid Responder = Jid.Parse("responder@domain");

    // XEP-0050 Example 8: Execute command result (stage 1).
    private const string Stage1 = """
        <iq type='result' from='responder@domain' to='requester@domain' id='exec1'>
          <command xmlns='http://jabber.org/protocol/commands' sessionid='config:20020923T213616Z-700' node='config' status='executing'>
            <actions execute='next'><next/></actions>
            <x xmlns='jabber:x:data' type='form'>
              <title>Configure Service</title>
              <instructions>Please select the service to configure.</instructions>
              <field var='service' label='Service' type='list-single'>
                <option><value>httpd</value></option>
                <option><value>jabberd</value></option>
                <option><value>postgresql</value></option>
              </field>
            </x>
          </command>
        </iq>
        """;

    // XEP-0050 Example 10: Execute command result (stage 2).
    private const string Stage2 = """
        <iq type='result' from='responder@domain' to='requester@domain' id='exec2'>
          <command xmlns='http://jabber.org/protocol/commands' sessionid='config:20020923T213616Z-700' node='config' status='executing'>
            <actions execute='complete'><prev/><complete/></actions>
            <x xmlns='jabber:x:data' type='form'>
              <field var='state' label='Run State' type='list-single'>
                <value>off</value>
                <option label='Active'><value>off</value></option>
                <option label='Inactive'><value>on</value></option>
              </field>
            </x>
          </command>
        </iq>
        """;

    // XEP-0050 Example 12: Execute command result (stage 3).
    private const string Completed = """
        <iq type='result' from='responder@domain' to='requester@domain' id='exec3'>
          <command xmlns='http://jabber.org/protocol/commands' sessionid='config:20020923T213616Z-700' node='config' status='completed'>
            <note type='info'>Service 'httpd' has been configured.</note>
          </command>
        </iq>
        """;

    [Fact]
    public void A_first_stage_offers_next_as_default_and_a_form()
    {
        var result = Parse(Stage1);

        Assert.Equal("config", result.Node);
        Assert.Equal("config:20020923T213616Z-700", result.SessionId);
        Assert.Equal(AdHocCommandStatus.Executing, result.Status);
        Assert.Equal([AdHocAction.Next], result.Actions);
        Assert.Equal(AdHocAction.Next, result.DefaultAction);
        Assert.Equal("Configure Service", result.Form!.Title);
        Assert.Equal(3, result.Form["service"]!.Options.Count);
        Assert.True(result.Allows(AdHocAction.Next));
        Assert.True(result.Allows(AdHocAction.Cancel));
        Assert.False(result.Allows(AdHocAction.Prev));
        Assert.False(result.Allows(AdHocAction.Complete));
    }

    [Fact]
    public void A_later_stage_allows_prev_and_complete()
    {
        var result = Parse(Stage2);

        Assert.Equal([AdHocAction.Prev, AdHocAction.Complete], result.Actions);
        Assert.Equal(AdHocAction.Complete, result.DefaultAction);
        Assert.False(result.Allows(AdHocAction.Next));
    }

    [Fact]
    public void Completion_carries_notes_and_ends_the_session()
    {
        var result = Parse(Completed);

        Assert.Equal(AdHocCommandStatus.Completed, result.Status);
        Assert.Equal([new AdHocNote(AdHocNoteType.Info, "Service 'httpd' has been configured.")], result.Notes);
        Assert.False(result.HasErrors);
        Assert.Null(result.ErrorText);
        Assert.False(result.Allows(AdHocAction.Execute));
    }

    [Fact]
    public void Without_actions_only_complete_is_offered()
    {
        var result = Parse("<iq type='result' id='a'><command xmlns='http://jabber.org/protocol/commands' node='n' sessionid='s' status='executing'><x xmlns='jabber:x:data' type='form'/></command></iq>");

        Assert.Empty(result.Actions);
        Assert.Equal(AdHocAction.Complete, result.DefaultAction);
        Assert.True(result.Allows(AdHocAction.Complete));
        Assert.False(result.Allows(AdHocAction.Next));
    }

    [Fact]
    public void Error_notes_mark_a_completed_command_as_failed()
    {
        var result = Parse("<iq type='result' id='a'><command xmlns='http://jabber.org/protocol/commands' node='n' status='completed'><note type='error'>Account already exists</note><note>ignored</note></command></iq>");

        Assert.True(result.HasErrors);
        Assert.Equal("Account already exists", result.ErrorText);
        Assert.Null(result.SessionId);
    }

    [Theory]
    [InlineData("<command xmlns='http://jabber.org/protocol/commands' node='n' status='bogus'/>")]
    [InlineData("<command xmlns='http://jabber.org/protocol/commands' status='completed'/>")]
    [InlineData("<query xmlns='http://jabber.org/protocol/commands' node='n' status='completed'/>")]
    public void Invalid_answers_are_refused(string xml)
    {
        var iq = TestXml.ParseIq($"<iq type='result' id='a'>{xml}</iq>");
        Assert.Throws<FormatException>(() => AdHocCommandResult.Parse(iq.Children[0], Responder));
    }

    [Fact]
    public void A_continuation_keeps_node_and_session_and_sends_the_submission()
    {
        var stage = Parse(Stage1);
        var submission = stage.Form!.CreateSubmission();
        submission.SetValue("service", "httpd");

        // XEP-0050 Example 9: Execute command request (stage 2).
        var request = TestXml.RoundTrip(AdHocCommandExtensions.BuildRequest(stage.Node, stage.SessionId, AdHocAction.Next, submission));

        Assert.Equal("config", request.GetAttribute("node"));
        Assert.Equal("config:20020923T213616Z-700", request.GetAttribute("sessionid"));
        Assert.Equal("next", request.GetAttribute("action"));
        var form = DataForm.Parse(request.Element("x", XmppNamespaces.DataForms)!);
        Assert.Equal(DataFormType.Submit, form.Type);
        Assert.Equal("httpd", form["service"]!.Value);
    }

    [Fact]
    public void A_cancel_sends_no_payload_and_an_unfilled_form_is_refused()
    {
        var stage = Parse(Stage1);

        var cancel = AdHocCommandExtensions.BuildRequest(stage.Node, stage.SessionId, AdHocAction.Cancel, stage.Form!.CreateSubmission());

        Assert.Equal("cancel", cancel.GetAttribute("action"));
        Assert.False(cancel.HasChildren);
        Assert.Throws<ArgumentException>(() => AdHocCommandExtensions.BuildRequest("config", null, AdHocAction.Execute, stage.Form));
    }

    [Theory]
    [InlineData("<note type='error'>Account already exists</note>", AccountErrorReason.UsernameTaken)]
    [InlineData("<note type='error'>User does not exist</note>", AccountErrorReason.AccountNotFound)]
    [InlineData("<note type='error'>Invalid data.\nPassword mismatch, or empty username</note>", AccountErrorReason.Failed)]
    [InlineData("<note type='info'>The following accounts could not be deleted:\nghost@domain</note>", AccountErrorReason.AccountNotFound)]
    public void Prosody_reports_failures_in_notes(string notes, AccountErrorReason reason)
    {
        var result = Parse($"<iq type='result' id='a'><command xmlns='http://jabber.org/protocol/commands' node='http://jabber.org/protocol/admin#add-user' status='completed'>{notes}</command></iq>");

        var failure = ServiceAdministration.FailureOf(result, "do it", Jid.Parse("domain"));

        Assert.NotNull(failure);
        Assert.Equal(reason, failure.Reason);
        Assert.Contains("domain could not do it", failure.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("<note type='info'>Account successfully created</note>")]
    [InlineData("<note type='info'>The following accounts were successfully deleted:\njuliet@domain\n</note>")]
    [InlineData("")]
    public void Success_notes_and_bare_completion_are_success(string notes)
    {
        var result = Parse($"<iq type='result' id='a'><command xmlns='http://jabber.org/protocol/commands' node='n' status='completed'>{notes}</command></iq>");

        Assert.Null(ServiceAdministration.FailureOf(result, "do it", Jid.Parse("domain")));
    }

    private static AdHocCommandResult Parse(string iq) => AdHocCommandResult.Parse(TestXml.ParseIq(iq).Element("command", XmppNamespaces.Commands)!, Responder);
}
