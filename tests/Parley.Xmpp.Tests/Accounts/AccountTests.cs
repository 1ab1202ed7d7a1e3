using Parley.Testing;
using Parley.Xmpp.Accounts;
using Parley.Xmpp.Tests.Client;

namespace Parley.Xmpp.Tests.Accounts;

/// <summary>Account management against real servers: every test runs once on Prosody 0.12 and once on ejabberd 23.01.</summary>
[Collection(ServerFixture.CollectionName)]
public sealed class AccountTests(ServerFixture servers)
{
    public static TheoryData<string> Kinds => Servers.Kinds;

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Registers_a_new_account_over_starttls_then_logs_in_with_it(string kind)
    {
        var server = await servers.GetAsync(kind);
        var account = NewAccount(server);

        var jid = await XmppAccountRegistration.RegisterAsync(Registration(server, account));

        Assert.Equal(account.Jid, jid);
        await using var client = await ConnectAsync(server, account);
        Assert.Equal(account.Jid, client.Jid!.Bare);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_taken_username_is_a_conflict_naming_it(string kind)
    {
        var server = await servers.GetAsync(kind);
        var existing = await server.CreateAccountAsync();

        var error = await Assert.ThrowsAsync<XmppAccountException>(() => XmppAccountRegistration.RegisterAsync(Registration(server, existing with { Password = "another-password" })));

        Assert.Equal(AccountErrorReason.UsernameTaken, error.Reason);
        Assert.Equal("conflict", error.Condition);
        Assert.Contains($"'{existing.Localpart}' is already taken on {server.Domain}", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_username_the_server_rejects_is_an_invalid_fields_error(string kind)
    {
        var server = await servers.GetAsync(kind);
        var options = Registration(server, NewAccount(server));
        options.FillForm = (form, _) =>
        {
            form.SetValue("username", "no spaces allowed");
            return ValueTask.CompletedTask;
        };

        var error = await Assert.ThrowsAsync<XmppAccountException>(() => XmppAccountRegistration.RegisterAsync(options));

        Assert.Equal(AccountErrorReason.InvalidFields, error.Reason);
        Assert.Contains("a field is missing or invalid", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Changes_the_password_then_only_the_new_one_logs_in(string kind)
    {
        var server = await servers.GetAsync(kind);
        var account = await server.CreateAccountAsync();
        var newPassword = "new-" + Guid.NewGuid().ToString("N");

        await using (var client = await ConnectAsync(server, account))
        {
            await client.ChangePasswordAsync(newPassword);
            await client.DisconnectAsync();
        }

        await using (var again = await ConnectAsync(server, account with { Password = newPassword }))
        {
            Assert.Equal(XmppConnectionState.Connected, again.State);
        }

        await using var old = new XmppClient(server.ClientOptions(account));
        Assert.Equal("not-authorized", (await Assert.ThrowsAsync<XmppAuthenticationException>(() => old.ConnectAsync())).Condition);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Cancelling_the_registration_removes_the_account(string kind)
    {
        var server = await servers.GetAsync(kind);
        var account = NewAccount(server);
        await XmppAccountRegistration.RegisterAsync(Registration(server, account));
        await using (var client = await ConnectAsync(server, account))
        {
            await client.CancelRegistrationAsync();
            Assert.Equal(XmppConnectionState.Disconnected, client.State);
        }

        await using var again = new XmppClient(server.ClientOptions(account));
        await Assert.ThrowsAsync<XmppAuthenticationException>(() => again.ConnectAsync());
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task The_admin_sees_the_xep0133_commands(string kind)
    {
        var server = await servers.GetAsync(kind);
        await using var admin = await ConnectAsync(server, Admin(server));

        var commands = await admin.ListCommandsAsync(Jid.Parse(server.Domain));

        Assert.Contains(commands, c => c.Node == ServiceAdministration.AddUserNode);
        Assert.Contains(commands, c => c.Node == ServiceAdministration.DeleteUserNode);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task The_admin_adds_a_user_who_can_then_log_in(string kind)
    {
        var server = await servers.GetAsync(kind);
        var account = NewAccount(server);
        await using var admin = await ConnectAsync(server, Admin(server));

        await new ServiceAdministration(admin).AddUserAsync(account.Jid, account.Password);

        await using var user = await ConnectAsync(server, account);
        Assert.Equal(account.Jid, user.Jid!.Bare);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Adding_an_existing_user_is_a_conflict(string kind)
    {
        var server = await servers.GetAsync(kind);
        var existing = await server.CreateAccountAsync();
        await using var admin = await ConnectAsync(server, Admin(server));

        var error = await Assert.ThrowsAsync<XmppAccountException>(() => new ServiceAdministration(admin).AddUserAsync(existing.Jid, "whatever-password"));

        Assert.Equal(AccountErrorReason.UsernameTaken, error.Reason);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task The_admin_changes_a_users_password(string kind)
    {
        var server = await servers.GetAsync(kind);
        var account = await server.CreateAccountAsync();
        await using var admin = await ConnectAsync(server, Admin(server));

        await new ServiceAdministration(admin).ChangeUserPasswordAsync(account.Jid, "set-by-admin");

        await using var user = await ConnectAsync(server, account with { Password = "set-by-admin" });
        Assert.Equal(XmppConnectionState.Connected, user.State);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task The_admin_deletes_a_user_who_then_cannot_log_in(string kind)
    {
        var server = await servers.GetAsync(kind);
        var account = await server.CreateAccountAsync();
        await using var admin = await ConnectAsync(server, Admin(server));

        await new ServiceAdministration(admin).DeleteUserAsync(account.Jid);

        await using var user = new XmppClient(server.ClientOptions(account));
        await Assert.ThrowsAsync<XmppAuthenticationException>(() => user.ConnectAsync());
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Deleting_an_unknown_user_says_so(string kind)
    {
        var server = await servers.GetAsync(kind);
        await using var admin = await ConnectAsync(server, Admin(server));

        var error = await Assert.ThrowsAsync<XmppAccountException>(() => new ServiceAdministration(admin).DeleteUserAsync(NewAccount(server).Jid));

        Assert.Equal(AccountErrorReason.AccountNotFound, error.Reason);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_non_admin_is_forbidden_to_administer(string kind)
    {
        var server = await servers.GetAsync(kind);
        var account = await server.CreateAccountAsync();
        var victim = await server.CreateAccountAsync();
        await using var user = await ConnectAsync(server, account);

        var error = await Assert.ThrowsAsync<XmppAccountException>(() => new ServiceAdministration(user).DeleteUserAsync(victim.Jid));

        Assert.Equal(AccountErrorReason.Forbidden, error.Reason);
        Assert.Contains("not an administrator", error.Message, StringComparison.Ordinal);
        await using var stillThere = await ConnectAsync(server, victim);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_command_offered_by_one_client_is_listed_and_run_by_another(string kind)
    {
        var server = await servers.GetAsync(kind);
        await using var bot = await ConnectAsync(server, await server.CreateAccountAsync(), resource: "bot");
        await using var user = await ConnectAsync(server, await server.CreateAccountAsync());
        var host = bot.AddExtension(new AdHocCommandHost());
        host.AddCommand("greet", "Greet someone", (request, _) =>
        {
            if (request.IsFirstStage)
            {
                var form = new Forms.DataForm(Forms.DataFormType.Form) { Title = "Whom?" };
                form.Fields.Add(new Forms.DataFormField("name") { Required = true });
                return ValueTask.FromResult(AdHocResponse.Executing(form));
            }

            return ValueTask.FromResult(AdHocResponse.Completed($"Hello, {request.Form?["name"]?.Value}!"));
        });

        var commands = await user.ListCommandsAsync(bot.Jid!);
        var greet = Assert.Single(commands);
        Assert.Equal(("greet", "Greet someone"), (greet.Node, greet.Name));
        var stage = await user.ExecuteCommandAsync(bot.Jid!, greet.Node);
        Assert.Equal(AdHocCommandStatus.Executing, stage.Status);
        var submission = stage.Form!.CreateSubmission();
        submission.SetValue("name", "Juliet");
        var done = await user.ContinueCommandAsync(stage, submission, AdHocAction.Complete);

        Assert.Equal(AdHocCommandStatus.Completed, done.Status);
        Assert.Equal("Hello, Juliet!", Assert.Single(done.Notes).Text);
        var info = await user.Disco.QueryInfoAsync(bot.Jid!, "greet");
        Assert.True(info.Supports(XmppNamespaces.Commands));
    }

    private static TestAccount NewAccount(XmppTestServer server) => new("reg" + Guid.NewGuid().ToString("N")[..10], server.Domain, "pw-" + Guid.NewGuid().ToString("N"));

    private static TestAccount Admin(XmppTestServer server) => new("admin", server.Domain, server.AdminPassword);

    private static XmppRegistrationOptions Registration(XmppTestServer server, TestAccount account)
    {
        var options = new XmppRegistrationOptions
        {
            Domain = server.Domain,
            Username = account.Localpart,
            Password = account.Password,
            Host = server.Host,
            Port = server.ClientPort,
        };
        options.TrustCertificate(server.CertificateSha256);
        return options;
    }

    private static async Task<XmppClient> ConnectAsync(XmppTestServer server, TestAccount account, string? resource = null)
    {
        var client = new XmppClient(server.ClientOptions(account, resource));
        try
        {
            await client.ConnectAsync();
            return client;
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }
}
