using Parley.Xmpp.Forms;

namespace Parley.Xmpp.Tests.Accounts;

/// <summary>XEP-0004 data forms, checked against the examples of the specification (§5.1 bot configuration, §5.2 search).</summary>
public sealed class DataFormUnitTests
{
    // XEP-0004 Example 2: Service Returns Bot Creation Form (the <x/> part).
    private const string BotCreationForm = """
        <x xmlns='jabber:x:data' type='form'>
          <title>Bot Configuration</title>
          <instructions>Fill out this form to configure your new bot!</instructions>
          <field type='hidden' var='FORM_TYPE'><value>jabber:bot</value></field>
          <field type='fixed'><value>Section 1: Bot Info</value></field>
          <field type='text-single' label='The name of your bot' var='botname'/>
          <field type='text-multi' label='Helpful description of your bot' var='description'/>
          <field type='boolean' label='Public bot?' var='public'><required/></field>
          <field type='text-private' label='Password for special access' var='password'/>
          <field type='fixed'><value>Section 2: Features</value></field>
          <field type='list-multi' label='What features will the bot support?' var='features'>
            <option label='Contests'><value>contests</value></option>
            <option label='News'><value>news</value></option>
            <option label='Polls'><value>polls</value></option>
            <option label='Reminders'><value>reminders</value></option>
            <option label='Search'><value>search</value></option>
            <value>news</value>
            <value>search</value>
          </field>
          <field type='fixed'><value>Section 3: Subscriber List</value></field>
          <field type='list-single' label='Maximum number of subscribers' var='maxsubs'>
            <value>20</value>
            <option label='10'><value>10</value></option>
            <option label='20'><value>20</value></option>
            <option label='30'><value>30</value></option>
            <option label='50'><value>50</value></option>
            <option label='100'><value>100</value></option>
            <option label='None'><value>none</value></option>
          </field>
          <field type='fixed'><value>Section 4: Invitations</value></field>
          <field type='jid-multi' label='People to invite' var='invitelist'>
            <desc>Tell all your friends about your new bot!</desc>
          </field>
        </x>
        """;

    // XEP-0004 Example 8: Service Returns Search Results (shortened to three items).
    private const string SearchResults = """
        <x xmlns='jabber:x:data' type='result'>
          <title>Joogle Search: verona</title>
          <reported>
            <field var='name'/>
            <field var='url'/>
          </reported>
          <item>
            <field var='name'><value>Comune di Verona - Benvenuti nel sito ufficiale</value></field>
            <field var='url'><value>http://www.comune.verona.it/</value></field>
          </item>
          <item>
            <field var='name'><value>benvenuto!</value></field>
            <field var='url'><value>http://www.hellasverona.it/</value></field>
          </item>
          <item>
            <field var='name'><value>Universita degli Studi di Verona - Home Page</value></field>
            <field var='url'><value>http://www.univr.it/</value></field>
          </item>
        </x>
        """;

    [Fact]
    public void The_bot_creation_form_of_the_spec_parses_with_every_field_type()
    {
        var form = DataForm.Parse(TestXml.Parse(BotCreationForm));

        Assert.Equal(DataFormType.Form, form.Type);
        Assert.Equal("Bot Configuration", form.Title);
        Assert.Equal(["Fill out this form to configure your new bot!"], form.Instructions);
        Assert.Equal("jabber:bot", form.FormType);
        Assert.Equal(12, form.Fields.Count);
        Assert.Equal(4, form.Fields.Count(f => f.Type == DataFormFieldType.Fixed && f.Var is null));
        Assert.Equal(DataFormFieldType.TextMulti, form["description"]!.Type);
        Assert.Equal(DataFormFieldType.TextPrivate, form["password"]!.Type);
        Assert.True(form["public"]!.Required);
        Assert.False(form["botname"]!.Required);
        Assert.Equal("The name of your bot", form["botname"]!.Label);
        Assert.Equal(["news", "search"], form["features"]!.Values);
        Assert.Equal(5, form["features"]!.Options.Count);
        Assert.Equal(new DataFormOption("contests", "Contests"), form["features"]!.Options[0]);
        Assert.Equal("20", form["maxsubs"]!.Value);
        Assert.Equal(DataFormFieldType.JidMulti, form["invitelist"]!.Type);
        Assert.Equal("Tell all your friends about your new bot!", form["invitelist"]!.Description);
    }

    [Fact]
    public void A_submission_keeps_form_type_and_defaults_and_writes_values_only()
    {
        var form = DataForm.Parse(TestXml.Parse(BotCreationForm));
        var submission = form.CreateSubmission();
        submission.SetValue("botname", "The Jabber Google Bot");
        submission.SetValue("description", "This bot enables you to send requests to\nGoogle and receive the search results right");
        submission["public"]!.SetBoolean(false);
        submission.SetValue("password", "v3r0na");
        submission.SetValue("maxsubs", "50");
        submission["invitelist"]!.SetJids(Jid.Parse("juliet@capulet.com"), Jid.Parse("benvolio@montague.net"), Jid.Parse("juliet@capulet.com"));

        var wire = DataForm.Parse(TestXml.RoundTrip(submission.ToElement()));

        Assert.Equal(DataFormType.Submit, wire.Type);
        Assert.Equal("jabber:bot", wire.FormType);
        Assert.DoesNotContain(wire.Fields, f => f.Type == DataFormFieldType.Fixed);
        Assert.All(wire.Fields, f => Assert.Empty(f.Options));
        Assert.All(wire.Fields, f => Assert.Null(f.Label));
        Assert.Null(wire.Title);
        Assert.Equal(["This bot enables you to send requests to", "Google and receive the search results right"], wire["description"]!.Values);
        Assert.False(wire["public"]!.GetBoolean());
        Assert.Equal(["news", "search"], wire["features"]!.Values);
        Assert.Equal("50", wire["maxsubs"]!.Value);
        Assert.Equal([Jid.Parse("juliet@capulet.com"), Jid.Parse("benvolio@montague.net")], wire["invitelist"]!.GetJids());
        Assert.Equal(DataFormFieldType.TextPrivate, wire["password"]!.Type);
    }

    [Fact]
    public void A_list_value_outside_the_options_is_refused()
    {
        var submission = DataForm.Parse(TestXml.Parse(BotCreationForm)).CreateSubmission();

        var error = Assert.Throws<ArgumentException>(() => submission.SetValue("maxsubs", "25"));
        Assert.Contains("maxsubs", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => submission.SetValues("features", ["news", "weather"]));
        Assert.Equal("20", submission["maxsubs"]!.Value);
    }

    [Fact]
    public void Missing_required_fields_are_listed_until_filled()
    {
        var submission = DataForm.Parse(TestXml.Parse(BotCreationForm)).CreateSubmission();

        Assert.Equal(["public"], submission.MissingRequiredFields.Select(f => f.Var));
        submission["public"]!.SetBoolean(true);
        Assert.Empty(submission.MissingRequiredFields);
    }

    [Theory]
    [InlineData("1", true)]
    [InlineData("true", true)]
    [InlineData("0", false)]
    [InlineData("false", false)]
    [InlineData("yes", null)]
    public void Booleans_read_both_lexical_forms(string value, bool? expected)
    {
        var field = new DataFormField("flag", DataFormFieldType.Boolean) { Value = value };
        Assert.Equal(expected, field.GetBoolean());
    }

    [Fact]
    public void A_search_result_table_parses_columns_and_rows()
    {
        var form = DataForm.Parse(TestXml.Parse(SearchResults));

        Assert.Equal(DataFormType.Result, form.Type);
        Assert.Equal(["name", "url"], form.Reported.Select(f => f.Var));
        Assert.Equal(3, form.Items.Count);
        Assert.Equal("http://www.hellasverona.it/", form.Items[1].Single(f => f.Var == "url").Value);

        var again = DataForm.Parse(TestXml.RoundTrip(form.ToElement()));
        Assert.Equal(3, again.Items.Count);
        Assert.Equal(["name", "url"], again.Reported.Select(f => f.Var));
        Assert.Equal("benvenuto!", again.Items[1].Single(f => f.Var == "name").Value);
    }

    [Fact]
    public void A_form_round_trips_with_labels_options_and_required_flags()
    {
        var form = DataForm.Parse(TestXml.Parse(BotCreationForm));

        var again = DataForm.Parse(TestXml.RoundTrip(form.ToElement()));

        Assert.Equal(form.Fields.Select(f => (f.Var, f.Type, f.Label, f.Required, f.Description)), again.Fields.Select(f => (f.Var, f.Type, f.Label, f.Required, f.Description)));
        Assert.Equal(form["maxsubs"]!.Options, again["maxsubs"]!.Options);
        Assert.Equal(form.Title, again.Title);
    }

    [Fact]
    public void A_missing_field_type_reads_as_text_single_and_a_nameless_field_as_fixed()
    {
        var form = DataForm.Parse(TestXml.Parse("<x xmlns='jabber:x:data' type='form'><field var='a'/><field type='weird' var='b'/><field type='text-single'><value>note</value></field></x>"));

        Assert.Equal(DataFormFieldType.TextSingle, form["a"]!.Type);
        Assert.Equal(DataFormFieldType.TextSingle, form["b"]!.Type);
        Assert.Equal(DataFormFieldType.Fixed, form.Fields[2].Type);
        Assert.DoesNotContain(form.CreateSubmission().Fields, f => f.Var is null);
    }

    [Theory]
    [InlineData("<x xmlns='jabber:x:data' type='bogus'/>")]
    [InlineData("<x xmlns='jabber:x:data'/>")]
    [InlineData("<x xmlns='jabber:x:oob'/>")]
    public void Invalid_forms_are_refused(string xml)
    {
        Assert.Throws<FormatException>(() => DataForm.Parse(TestXml.Parse(xml)));
    }

    [Fact]
    public void Too_many_fields_are_refused()
    {
        var x = new XmppElement("x", XmppNamespaces.DataForms).SetAttribute("type", "form");
        for (var i = 0; i <= DataForm.MaxFields; i++)
        {
            x.AddChild("field").SetAttribute("var", $"f{i}");
        }

        var error = Assert.Throws<FormatException>(() => DataForm.Parse(x));
        Assert.Contains(DataForm.MaxFields.ToString(), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_form_type_field_is_kept_first_and_hidden()
    {
        var form = new DataForm(DataFormType.Submit);
        form.SetValue("accountjid", "juliet@shakespeare.lit");
        form.FormType = "http://jabber.org/protocol/admin";

        Assert.Equal("FORM_TYPE", form.Fields[0].Var);
        Assert.Equal(DataFormFieldType.Hidden, form.Fields[0].Type);
        Assert.Equal("http://jabber.org/protocol/admin", DataForm.Parse(TestXml.RoundTrip(form.ToElement())).FormType);
    }

    [Fact]
    public void A_cancel_form_carries_no_fields()
    {
        var form = new DataForm(DataFormType.Cancel, "jabber:bot");
        form.SetValue("botname", "x");

        var element = form.ToElement();

        Assert.Equal("cancel", element.GetAttribute("type"));
        Assert.False(element.HasChildren);
    }

    [Fact]
    public void A_private_value_does_not_show_in_the_field_text()
    {
        var field = new DataFormField("password", DataFormFieldType.TextPrivate) { Value = "v3r0na" };
        Assert.DoesNotContain("v3r0na", field.ToString(), StringComparison.Ordinal);
    }
}
