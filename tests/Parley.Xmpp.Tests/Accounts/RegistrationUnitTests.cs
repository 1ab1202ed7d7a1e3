using Parley.Xmpp.Accounts;
using Parley.Xmpp.Forms;

namespace Parley.Xmpp.Tests.Accounts;

/// <summary>XEP-0077: reading the server's registration fields and building the submission, on the examples of the specification.</summary>
public sealed class RegistrationUnitTests
{
    // XEP-0077 Example 2: Host Returns Registration Fields to Entity.
    private const string LegacyFields = """
        <iq type='result' id='reg1'>
          <query xmlns='jabber:iq:register'>
            <instructions>
              Choose a username and password for use with this service.
              Please also provide your email address.
            </instructions>
            <username/>
            <password/>
            <email/>
          </query>
        </iq>
        """;

    // XEP-0077 Example 6: Host Returns Registration Form to Entity (with legacy instructions).
    private const string FormFields = """
        <iq type='result' from='contests.shakespeare.lit' to='juliet@capulet.com/balcony' id='reg3'>
          <query xmlns='jabber:iq:register'>
            <instructions>
              Use the enclosed form to register. If your Jabber client does not
              support Data Forms, visit http://www.shakespeare.lit/contests.php
            </instructions>
            <x xmlns='jabber:x:data' type='form'>
              <title>Contest Registration</title>
              <instructions>Please provide the following information to sign up for our special contests!</instructions>
              <field type='hidden' var='FORM_TYPE'><value>jabber:iq:register</value></field>
              <field type='text-single' label='Given Name' var='first'><required/></field>
              <field type='text-single' label='Family Name' var='last'><required/></field>
              <field type='text-single' label='Email Address' var='email'><required/></field>
              <field type='list-single' label='Gender' var='x-gender'>
                <option label='Male'><value>M</value></option>
                <option label='Female'><value>F</value></option>
              </field>
            </x>
          </query>
        </iq>
        """;

    // XEP-0077 Example 19: Host Redirects Entity to Web Registration.
    private const string Redirect = """
        <iq type='result' from='contests.shakespeare.lit' to='juliet@capulet.com/balcony' id='reg3'>
          <query xmlns='jabber:iq:register'>
            <instructions>To register, visit http://www.shakespeare.lit/contests.php</instructions>
            <x xmlns='jabber:x:oob'><url>http://www.shakespeare.lit/contests.php</url></x>
          </query>
        </iq>
        """;

    [Fact]
    public void Legacy_fields_become_a_form_where_every_field_is_required()
    {
        var query = Read(LegacyFields);

        Assert.Null(query.Form);
        Assert.False(query.IsRedirectOnly);
        Assert.StartsWith("Choose a username", query.Instructions, StringComparison.Ordinal);
        var submission = query.CreateSubmission("bill", "Calliope", []);

        Assert.Equal(RegistrationQuery.FormType, submission.FormType);
        Assert.Equal(["email"], submission.MissingRequiredFields.Select(f => f.Var));
        Assert.Equal(DataFormFieldType.TextPrivate, submission["password"]!.Type);
    }

    [Fact]
    public void Legacy_fields_are_submitted_as_legacy_elements_without_a_form()
    {
        var query = Read(LegacyFields);
        var submission = query.CreateSubmission("bill", "Calliope", [new("email", "bard@shakespeare.lit"), new("x-unknown", "dropped")]);

        // XEP-0077 Example 4: Entity Provides Required Information.
        var sent = TestXml.RoundTrip(query.BuildSubmitQuery(submission));

        Assert.Equal("bill", sent.ElementText("username"));
        Assert.Equal("Calliope", sent.ElementText("password"));
        Assert.Equal("bard@shakespeare.lit", sent.ElementText("email"));
        Assert.Null(sent.Element("x", XmppNamespaces.DataForms));
        Assert.Null(sent.Element("x-unknown"));
        Assert.Null(sent.Element("FORM_TYPE"));
    }

    [Fact]
    public void A_data_form_takes_precedence_and_is_submitted_alone()
    {
        var query = Read(FormFields);
        Assert.NotNull(query.Form);
        var submission = query.CreateSubmission("juliet", "R0m30", [new("first", "Juliet"), new("last", "Capulet")]);
        Assert.Equal(["email"], submission.MissingRequiredFields.Select(f => f.Var));
        submission.SetValue("email", "juliet@capulet.com");
        submission.SetValue("x-gender", "F");

        var sent = TestXml.RoundTrip(query.BuildSubmitQuery(submission));

        // XEP-0077 §6: never both the form and the legacy fields.
        Assert.Null(sent.Element("username"));
        Assert.Null(sent.Element("password"));
        var form = DataForm.Parse(Assert.Single(sent.Children));
        Assert.Equal(DataFormType.Submit, form.Type);
        Assert.Equal("jabber:iq:register", form.FormType);
        Assert.Equal("Juliet", form["first"]!.Value);
        Assert.Equal("F", form["x-gender"]!.Value);
        Assert.Equal("juliet", form["username"]!.Value);
    }

    [Fact]
    public void Instructions_with_a_url_and_no_fields_are_a_redirect()
    {
        var query = Read(Redirect);

        Assert.True(query.IsRedirectOnly);
        Assert.Equal(new Uri("http://www.shakespeare.lit/contests.php"), query.Url);
    }

    [Fact]
    public void A_key_from_the_server_is_sent_back()
    {
        var query = Read("<iq type='result' id='r'><query xmlns='jabber:iq:register'><username/><password/><key>abc123</key></query></iq>");

        var sent = query.BuildSubmitQuery(query.CreateSubmission("bill", "pw", []));

        Assert.Equal("abc123", sent.ElementText("key"));
    }

    [Theory]
    [InlineData("conflict", StanzaErrorType.Cancel, AccountErrorReason.UsernameTaken)]
    [InlineData("not-acceptable", StanzaErrorType.Modify, AccountErrorReason.InvalidFields)]
    [InlineData("jid-malformed", StanzaErrorType.Modify, AccountErrorReason.InvalidFields)]
    [InlineData("bad-request", StanzaErrorType.Modify, AccountErrorReason.InvalidFields)]
    [InlineData("not-allowed", StanzaErrorType.Cancel, AccountErrorReason.NotAllowed)]
    [InlineData("forbidden", StanzaErrorType.Auth, AccountErrorReason.NotAllowed)]
    [InlineData("service-unavailable", StanzaErrorType.Cancel, AccountErrorReason.NotSupported)]
    [InlineData("resource-constraint", StanzaErrorType.Wait, AccountErrorReason.RateLimited)]
    [InlineData("policy-violation", StanzaErrorType.Wait, AccountErrorReason.RateLimited)]
    [InlineData("policy-violation", StanzaErrorType.Modify, AccountErrorReason.NotAllowed)]
    [InlineData("internal-server-error", StanzaErrorType.Wait, AccountErrorReason.Failed)]
    public void Registration_errors_map_to_reasons(string condition, StanzaErrorType type, AccountErrorReason reason)
    {
        var error = AccountErrors.Registration(new XmppStanzaException(new StanzaError(condition, type, "server text")), "bill", "shakespeare.lit");

        Assert.Equal(reason, error.Reason);
        Assert.Equal(condition, error.Condition);
        Assert.Contains("server text", error.Message, StringComparison.Ordinal);
        Assert.Contains("shakespeare.lit", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_taken_username_is_named_in_the_message()
    {
        var error = AccountErrors.Registration(new XmppStanzaException(new StanzaError("conflict", StanzaErrorType.Cancel)), "bill", "shakespeare.lit");

        Assert.Equal("The username 'bill' is already taken on shakespeare.lit (conflict).", error.Message);
        Assert.IsType<XmppStanzaException>(error.InnerException);
        Assert.Equal("conflict", error.StanzaError!.Condition);
    }

    [Fact]
    public void Forbidden_means_not_an_admin_for_administrative_commands()
    {
        var service = Jid.Parse("shakespeare.lit");
        var forbidden = AccountErrors.Admin(new XmppStanzaException(StanzaError.Forbidden()), "add the account x@shakespeare.lit", service, submitted: false);
        var unknownCommand = AccountErrors.Admin(new XmppStanzaException(StanzaError.ItemNotFound()), "add the account x@shakespeare.lit", service, submitted: false);
        var unknownAccount = AccountErrors.Admin(new XmppStanzaException(StanzaError.ItemNotFound()), "delete the account x@shakespeare.lit", service, submitted: true);

        Assert.Equal(AccountErrorReason.Forbidden, forbidden.Reason);
        Assert.Contains("not an administrator", forbidden.Message, StringComparison.Ordinal);
        Assert.Equal(AccountErrorReason.NotSupported, unknownCommand.Reason);
        Assert.Equal(AccountErrorReason.AccountNotFound, unknownAccount.Reason);
    }

    [Theory]
    [InlineData("bad user")]
    [InlineData("a@b")]
    [InlineData("")]
    public void An_invalid_username_is_refused_before_connecting(string username)
    {
        var options = new XmppRegistrationOptions { Domain = "shakespeare.lit", Username = username, Password = "pw", Host = "127.0.0.1", Port = 1 };

        Assert.ThrowsAny<ArgumentException>(() => options.Validate());
    }

    private static RegistrationQuery Read(string iq) => RegistrationQuery.Parse(TestXml.ParseIq(iq).Element("query", XmppNamespaces.Register)!);
}
