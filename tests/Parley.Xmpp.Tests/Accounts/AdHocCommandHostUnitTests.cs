using Microsoft.Extensions.Time.Testing;
using Parley.Xmpp.Accounts;
using Parley.Xmpp.Forms;

namespace Parley.Xmpp.Tests.Accounts;

/// <summary>The responder side of XEP-0050: sessions, stages, errors with their specific conditions, disco nodes.</summary>
public sealed class AdHocCommandHostUnitTests
{
    private const string Requester = "requester@domain/home";
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly AdHocCommandHost _host;
    private readonly List<AdHocRequest> _seen = [];

    public AdHocCommandHostUnitTests()
    {
        _host = new AdHocCommandHost(_time);

        // A two-stage command: pick a service, then confirm.
        _host.AddCommand("config", "Configure Service", (request, _) =>
        {
            _seen.Add(request);
            if (request.IsFirstStage)
            {
                var form = new DataForm(DataFormType.Form) { Title = "Configure Service" };
                form.Fields.Add(new DataFormField("service", DataFormFieldType.ListSingle) { Required = true });
                return ValueTask.FromResult(AdHocResponse.Executing(form, state: "stage1", AdHocAction.Next, AdHocAction.Next));
            }

            var service = request.Form?["service"]?.Value;
            return ValueTask.FromResult(service is null
                ? AdHocResponse.Failed("No service chosen.")
                : AdHocResponse.Completed($"Service '{service}' has been configured."));
        });
        _host.AddCommand("secret", "Secret", (_, _) => ValueTask.FromResult(AdHocResponse.Completed()), isAllowed: jid => jid.Bare == Jid.Parse("admin@domain"));
    }

    [Fact]
    public async Task A_two_stage_command_keeps_its_session_and_state()
    {
        var first = await RunAsync("<command xmlns='http://jabber.org/protocol/commands' node='config' action='execute'/>");

        Assert.Equal(AdHocCommandStatus.Executing, first.Status);
        Assert.NotNull(first.SessionId);
        Assert.Equal([AdHocAction.Next], first.Actions);
        Assert.Equal(AdHocAction.Next, first.DefaultAction);
        Assert.Equal("Configure Service", first.Form!.Title);

        var second = await RunAsync($"<command xmlns='http://jabber.org/protocol/commands' node='config' sessionid='{first.SessionId}'><x xmlns='jabber:x:data' type='submit'><field var='service'><value>httpd</value></field></x></command>");

        Assert.Equal(AdHocCommandStatus.Completed, second.Status);
        Assert.Equal(first.SessionId, second.SessionId);
        Assert.Equal("Service 'httpd' has been configured.", Assert.Single(second.Notes).Text);
        Assert.Equal("stage1", _seen[1].State);
        Assert.Equal(AdHocAction.Next, _seen[1].Action);
        Assert.False(_seen[1].IsFirstStage);

        // The session ended with the completion.
        var again = await ErrorAsync($"<command xmlns='http://jabber.org/protocol/commands' node='config' sessionid='{first.SessionId}'/>");
        Assert.Equal("not-allowed", again.Condition);
        Assert.Equal("session-expired", again.Error.ApplicationCondition!.Name);
    }

    [Fact]
    public async Task A_failed_command_completes_with_an_error_note()
    {
        var first = await RunAsync("<command xmlns='http://jabber.org/protocol/commands' node='config'/>");

        var second = await RunAsync($"<command xmlns='http://jabber.org/protocol/commands' node='config' sessionid='{first.SessionId}' action='next'/>");

        Assert.True(second.HasErrors);
        Assert.Equal("No service chosen.", second.ErrorText);
    }

    [Fact]
    public async Task Cancel_ends_the_session_without_calling_the_handler()
    {
        var first = await RunAsync("<command xmlns='http://jabber.org/protocol/commands' node='config'/>");

        var canceled = await RunAsync($"<command xmlns='http://jabber.org/protocol/commands' node='config' sessionid='{first.SessionId}' action='cancel'/>");

        Assert.Equal(AdHocCommandStatus.Canceled, canceled.Status);
        Assert.Single(_seen);
        Assert.Equal("not-allowed", (await ErrorAsync($"<command xmlns='http://jabber.org/protocol/commands' node='config' sessionid='{first.SessionId}'/>")).Condition);
    }

    [Fact]
    public async Task An_action_the_stage_does_not_allow_is_a_bad_action_and_keeps_the_session()
    {
        var first = await RunAsync("<command xmlns='http://jabber.org/protocol/commands' node='config'/>");

        var error = await ErrorAsync($"<command xmlns='http://jabber.org/protocol/commands' node='config' sessionid='{first.SessionId}' action='prev'/>");

        Assert.Equal("bad-request", error.Condition);
        Assert.Equal("bad-action", error.Error.ApplicationCondition!.Name);
        Assert.Equal(AdHocCommandStatus.Completed, (await RunAsync($"<command xmlns='http://jabber.org/protocol/commands' node='config' sessionid='{first.SessionId}' action='next'/>")).Status);
    }

    [Fact]
    public async Task Sessions_expire()
    {
        var first = await RunAsync("<command xmlns='http://jabber.org/protocol/commands' node='config'/>");
        _time.Advance(_host.SessionLifetime + TimeSpan.FromSeconds(1));

        var error = await ErrorAsync($"<command xmlns='http://jabber.org/protocol/commands' node='config' sessionid='{first.SessionId}'/>");

        Assert.Equal("session-expired", error.Error.ApplicationCondition!.Name);
    }

    [Fact]
    public async Task Another_requester_cannot_continue_a_session()
    {
        var first = await RunAsync("<command xmlns='http://jabber.org/protocol/commands' node='config'/>");

        var error = await ErrorAsync($"<command xmlns='http://jabber.org/protocol/commands' node='config' sessionid='{first.SessionId}'/>", from: "mallory@domain/x");

        Assert.Equal("not-allowed", error.Condition);
    }

    [Theory]
    [InlineData("<command xmlns='http://jabber.org/protocol/commands' node='nope'/>", "item-not-found", null)]
    [InlineData("<command xmlns='http://jabber.org/protocol/commands'/>", "bad-request", null)]
    [InlineData("<command xmlns='http://jabber.org/protocol/commands' node='config' action='jump'/>", "bad-request", "malformed-action")]
    [InlineData("<command xmlns='http://jabber.org/protocol/commands' node='config' action='next'/>", "bad-request", "bad-action")]
    [InlineData("<command xmlns='http://jabber.org/protocol/commands' node='config'><x xmlns='jabber:x:data' type='weird'/></command>", "bad-request", "bad-payload")]
    [InlineData("<command xmlns='http://jabber.org/protocol/commands' node='secret'/>", "forbidden", null)]
    public async Task Invalid_requests_get_the_errors_of_the_spec(string command, string condition, string? specific)
    {
        var error = await ErrorAsync(command);

        Assert.Equal(condition, error.Condition);
        Assert.Equal(specific, error.Error.ApplicationCondition?.Name);
    }

    [Fact]
    public async Task A_permitted_requester_may_run_a_restricted_command()
    {
        var result = await RunAsync("<command xmlns='http://jabber.org/protocol/commands' node='secret'/>", from: "admin@domain/desk");

        Assert.Equal(AdHocCommandStatus.Completed, result.Status);
    }

    [Fact]
    public async Task Commands_are_announced_in_disco()
    {
        await using var client = new XmppClient(new XmppClientOptions { Jid = Jid.Parse("bot@domain"), Password = "x" });
        client.AddExtension(_host);

        Assert.Contains(XmppNamespaces.Commands, client.Disco.Features);
        var info = client.Disco.NodeInfoProvider!("config");
        Assert.Equal(new Parley.Xmpp.Im.DiscoIdentity("automation", "command-node", "Configure Service"), Assert.Single(info!.Identities));
        Assert.True(info.Supports(XmppNamespaces.Commands));
        Assert.True(info.Supports(XmppNamespaces.DataForms));
        Assert.Equal("command-list", client.Disco.NodeInfoProvider("http://jabber.org/protocol/commands")!.Identities[0].Type);
        Assert.Null(client.Disco.NodeInfoProvider("unknown"));

        // Items name the endpoint's own address, which exists only once connected.
        Assert.Empty(client.Disco.NodeItemsProvider!(XmppNamespaces.Commands)!);
        Assert.Null(client.Disco.NodeItemsProvider("unknown"));
    }

    [Fact]
    public void A_node_can_be_added_once()
    {
        Assert.Throws<InvalidOperationException>(() => _host.AddCommand("config", "Again", (_, _) => ValueTask.FromResult(AdHocResponse.Completed())));
        Assert.True(_host.RemoveCommand("config"));
        _host.AddCommand("config", "Again", (_, _) => ValueTask.FromResult(AdHocResponse.Completed()));
    }

    private async Task<AdHocCommandResult> RunAsync(string command, string from = Requester)
    {
        var answer = await _host.HandleAsync(Request(command, from), CancellationToken.None);
        return AdHocCommandResult.Parse(TestXml.RoundTrip(answer!), Jid.Parse("bot@domain/x"));
    }

    private async Task<XmppStanzaException> ErrorAsync(string command, string from = Requester)
        => await Assert.ThrowsAsync<XmppStanzaException>(async () => await _host.HandleAsync(Request(command, from), CancellationToken.None));

    private static Iq Request(string command, string from) => TestXml.ParseIq($"<iq type='set' from='{from}' to='bot@domain/x' id='c1'>{command}</iq>");
}
