using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using Parley.Testing;
using Parley.Web.Storage;
using Parley.Xmpp;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;

namespace Parley.Web.Tests;

/// <summary>
/// Account mode: every visitor gets a real account on the owner's server, created by the gateway, and a
/// client session while a tab is open. Same chat, same page; the owner sees an ordinary contact on their own server.
/// </summary>
[Collection(ServerFixture.CollectionName)]
public sealed class AccountModeTests(ServerFixture servers, PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    public static TheoryData<string, string> KindsAndProvisioning => new()
    {
        { Servers.Prosody, "AdminCommand" },
        { Servers.Ejabberd, "AdminCommand" },
        { Servers.Prosody, "Registration" },
        { Servers.Ejabberd, "Registration" },
    };

    [Theory]
    [MemberData(nameof(KindsAndProvisioning))]
    public async Task A_visitor_gets_a_real_account_chats_with_the_owner_and_its_password_never_leaves_the_gateway(string kind, string provisioning)
    {
        var server = await servers.GetAsync(kind);
        await using var owner = await Owner.ConnectAsync(server);
        await using var gateway = await StartAsync(server, owner, provisioning);
        using var alice = gateway.NewVisitor();
        await alice.SignInAsGuestAsync("Alice Account");
        await using var tab = await alice.OpenTabAsync();

        var sent = await alice.SendAsync("Hello from my own account");

        // The owner's client sees an ordinary contact on its own server: web-<visitor id>@domain, with the visitor's name.
        var visitorJid = Jid.Create("web-" + alice.Conversation, server.Domain);
        var request = await owner.NextPresenceAsync(p => p.Type == PresenceType.Subscribe);
        Assert.Equal(visitorJid, request.From!.Bare);
        Assert.Equal("Alice Account", request.ElementText("nick", VisitorNick));
        var atOwner = await owner.NextMessageAsync();
        Assert.Equal(visitorJid, atOwner.From!.Bare);
        Assert.Equal("Hello from my own account", atOwner.Body);
        Assert.Equal("Alice Account", atOwner.ElementText("nick", VisitorNick));
        await tab.NextMessageAsync(m => m.Id == sent.Id && m.State == "sent");

        await owner.Client.SendAsync(atOwner.CreateReply("Welcome, Alice"));
        Assert.Equal("Welcome, Alice", (await tab.NextMessageAsync(m => m.From == "owner")).Text);

        // The account's password: only in the database, protected; never in what the browser gets.
        var account = await gateway.Services.GetRequiredService<AccountRepository>().FindAsync(alice.Conversation!, CancellationToken.None);
        Assert.NotNull(account);
        Assert.True(account.Provisioned);
        var password = gateway.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector("Parley.Web.VisitorAccounts.v1").Unprotect(account.ProtectedPassword);
        Assert.True(password.Length >= 40);
        Assert.DoesNotContain(password, (await alice.RefreshSessionAsync()).GetRawText(), StringComparison.Ordinal);
        Assert.DoesNotContain(password, await alice.Http.GetStringAsync($"/api/conversations/{alice.Conversation}/messages"), StringComparison.Ordinal);
        Assert.All(alice.Cookies.GetAllCookies(), c => Assert.DoesNotContain(password, c.Value, StringComparison.Ordinal));
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Assert.DoesNotContain(password, Encoding.UTF8.GetString(await ReadSharedAsync(gateway.DatabasePath)), StringComparison.Ordinal);

        // And it is the real password of a real account.
        await using var check = new XmppClient(server.ClientOptions(new TestAccount(visitorJid.Local!, server.Domain, password), "check"));
        await check.ConnectAsync();
        Assert.Equal(visitorJid, check.Jid!.Bare);
    }

    [Theory]
    [MemberData(nameof(Servers.Kinds), MemberType = typeof(Servers))]
    public async Task Presence_follows_the_tabs_and_a_reply_sent_while_the_visitor_is_away_is_shown_when_they_return(string kind)
    {
        var server = await servers.GetAsync(kind);
        await using var owner = await Owner.ConnectAsync(server);
        await using var gateway = await StartAsync(server, owner, "AdminCommand");
        using var bob = gateway.NewVisitor();
        await bob.SignInAsGuestAsync("Bob Account");
        var visitorJid = Jid.Create("web-" + bob.Conversation, server.Domain);
        long lastSeq;
        await using (var tab = await bob.OpenTabAsync())
        {
            var sent = await bob.SendAsync("Are you there?");
            lastSeq = (await tab.NextMessageAsync(m => m.Id == sent.Id && m.State == "sent")).Seq;

            // The owner accepts the visitor as a contact, both ways, from an ordinary client.
            await owner.NextPresenceAsync(p => p.Type == PresenceType.Subscribe && p.From!.Bare == visitorJid);
            await owner.Client.SendAsync(new Presence(PresenceType.Subscribed, visitorJid));
            await owner.Client.SendAsync(new Presence(PresenceType.Subscribe, visitorJid));
            await owner.NextPresenceAsync(p => p.Type == PresenceType.Available && p.From!.Bare == visitorJid);
            await tab.WaitPresenceAsync("online");
        }

        // No tab any more: the session closes (linger 0 in these tests) and the server tells the owner.
        await owner.NextPresenceAsync(p => p.Type == PresenceType.Unavailable && p.From!.Bare == visitorJid);

        // Written while the visitor is away: the owner's server keeps it, and the visitor sees it when they come back.
        await owner.Client.SendAsync(new Message(visitorJid, "Sorry, I was out. Yes!"));
        await Task.Delay(300);
        Assert.DoesNotContain((await bob.HistoryAsync()).Messages, m => m.Text == "Sorry, I was out. Yes!");
        await using var back = await bob.OpenTabAsync(after: lastSeq);
        Assert.Equal("Sorry, I was out. Yes!", (await back.NextMessageAsync(m => m.From == "owner")).Text);
        await owner.NextPresenceAsync(p => p.Type == PresenceType.Available && p.From!.Bare == visitorJid);
    }

    [Fact]
    public async Task Account_mode_works_on_PostgreSQL_too()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        var database = await postgres.CreateDatabaseAsync();
        await using var owner = await Owner.ConnectAsync(server);
        await using var gateway = await StartAsync(server, owner, "AdminCommand", "--Parley:Database:Provider=PostgreSQL", $"--Parley:Database:ConnectionString={database}");
        using var dora = gateway.NewVisitor();
        await dora.SignInAsGuestAsync("Dora on PostgreSQL");
        await using var tab = await dora.OpenTabAsync();
        await dora.SendAsync("Hello over PostgreSQL");
        var atOwner = await owner.NextMessageAsync();
        Assert.Equal(Jid.Create("web-" + dora.Conversation, server.Domain), atOwner.From!.Bare);
        await owner.Client.SendAsync(atOwner.CreateReply("Got it"));
        Assert.Equal("Got it", (await tab.NextMessageAsync(m => m.From == "owner")).Text);

        var account = await gateway.Services.GetRequiredService<AccountRepository>().FindAsync(dora.Conversation!, CancellationToken.None);
        Assert.NotNull(account);
        Assert.True(account.Provisioned);
        Assert.Equal(atOwner.From.Bare.ToString(), account.Jid);
    }

    [Fact]
    public async Task A_visitor_account_refuses_strangers_and_the_gateway_says_which_setting_is_missing()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        await using var owner = await Owner.ConnectAsync(server);
        await using var gateway = await StartAsync(server, owner, "AdminCommand");
        using var carol = gateway.NewVisitor();
        await carol.SignInAsGuestAsync("Carol");
        await using var tab = await carol.OpenTabAsync();
        await carol.SendAsync("hi");
        await owner.NextMessageAsync();

        // Another user of the server writes to the visitor's account: refused with an error, nothing reaches the page.
        await using var stranger = await Owner.ConnectAsync(server);
        await stranger.Client.SendAsync(new Message(Jid.Create("web-" + carol.Conversation, server.Domain), "spam"));
        var error = await stranger.NextAnyMessageAsync(m => m.Type == MessageType.Error);
        Assert.Equal("not-allowed", StanzaError.Parse(error.Element("error")!).Condition);
        Assert.DoesNotContain((await carol.HistoryAsync()).Messages, m => m.Text == "spam");

        var invalid = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() =>
            GatewayHost.StartAsync(server, owner.Account.Jid.ToString(), null, "--Parley:Mode=Account", $"--Parley:Accounts:Domain={server.Domain}", "--Parley:Accounts:CertificateSha256=zz"));
        Assert.Contains(invalid.Failures, f => f.Contains("Accounts:AdminJid", StringComparison.Ordinal));
        Assert.Contains(invalid.Failures, f => f.Contains("Accounts:CertificateSha256", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Openfires_REST_API_creates_the_account_with_the_secret_and_the_visitor_chats_with_it()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        await using var rest = await OpenfireRestStandIn.StartAsync(server);
        await using var owner = await Owner.ConnectAsync(server);
        await using var gateway = await StartAsync(server, owner, "OpenfireRest", $"--Parley:Accounts:RestApiUrl={rest.BaseUrl}", $"--Parley:Accounts:RestApiSecret={OpenfireRestStandIn.Secret}");
        using var erin = gateway.NewVisitor();
        await erin.SignInAsGuestAsync("Erin Openfire");
        await using var tab = await erin.OpenTabAsync();
        await erin.SendAsync("Made over REST");

        var atOwner = await owner.NextMessageAsync();
        var visitorJid = Jid.Create("web-" + erin.Conversation, server.Domain);
        Assert.Equal(visitorJid, atOwner.From!.Bare);
        Assert.Equal("Made over REST", atOwner.Body);
        await owner.Client.SendAsync(atOwner.CreateReply("Hello Erin"));
        Assert.Equal("Hello Erin", (await tab.NextMessageAsync(m => m.From == "owner")).Text);

        // One POST /users with the plugin's secret as the whole Authorization header, and the account's fields as JSON.
        var request = Assert.Single(rest.Requests);
        Assert.Equal(("POST", "/plugins/restapi/v1/users", OpenfireRestStandIn.Secret), (request.Method, request.Path, request.Authorization));
        Assert.Equal("web-" + erin.Conversation, request.Body.GetProperty("username").GetString());
        Assert.Equal("Erin Openfire", request.Body.GetProperty("name").GetString());
        var account = await gateway.Services.GetRequiredService<AccountRepository>().FindAsync(erin.Conversation!, CancellationToken.None);
        Assert.True(account!.Provisioned);
        var password = gateway.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector("Parley.Web.VisitorAccounts.v1").Unprotect(account.ProtectedPassword);
        Assert.Equal(password, request.Body.GetProperty("password").GetString());
    }

    [Fact]
    public async Task With_Openfires_REST_API_an_account_whose_password_changed_is_set_again_through_PUT()
    {
        // HTTP Basic as the administrator (no secret), and a plugin older than 1.2 that answers a taken name with 400.
        var server = await servers.GetAsync(Servers.Ejabberd);
        await using var rest = await OpenfireRestStandIn.StartAsync(server);
        var admin = Jid.Parse(server.AdminJid);
        rest.BasicCredentials = admin.Local + ":" + server.AdminPassword;
        rest.LegacyConflictStatus = true;
        await using var owner = await Owner.ConnectAsync(server);
        await using var gateway = await StartAsync(server, owner, "OpenfireRest", $"--Parley:Accounts:RestApiUrl={rest.BaseUrl}");
        using var finn = gateway.NewVisitor();
        await finn.SignInAsGuestAsync("Finn");
        var visitorJid = Jid.Create("web-" + finn.Conversation, server.Domain);
        await using (var tab = await finn.OpenTabAsync())
        {
            await finn.SendAsync("first");
            Assert.Equal("first", (await owner.NextMessageAsync()).Body);

            // The owner accepts the contact, so the server tells the owner when the visitor's session ends.
            await owner.NextPresenceAsync(p => p.Type == PresenceType.Subscribe && p.From!.Bare == visitorJid);
            await owner.Client.SendAsync(new Presence(PresenceType.Subscribed, visitorJid));
            await owner.Client.SendAsync(new Presence(PresenceType.Subscribe, visitorJid));
            await owner.NextPresenceAsync(p => p.Type == PresenceType.Available && p.From!.Bare == visitorJid);
        }

        // An administrator resets the password on the server; the next session's login fails, the gateway sets it again.
        await owner.NextPresenceAsync(p => p.Type == PresenceType.Unavailable && p.From!.Bare == visitorJid);
        await using (var adminClient = await Owner.ConnectAsync(server, new TestAccount(admin.Local!, server.Domain, server.AdminPassword)))
        {
            await new Parley.Xmpp.Accounts.ServiceAdministration(adminClient.Client).ChangeUserPasswordAsync(visitorJid, "reset-by-an-administrator-0123456789");
        }

        await using (var again = await finn.OpenTabAsync())
        {
            await finn.SendAsync("second");
            var second = await owner.NextMessageAsync();
            Assert.Equal(("second", visitorJid), (second.Body, second.From!.Bare));
        }

        var requests = rest.Requests.ToArray();
        Assert.Equal(["POST /plugins/restapi/v1/users", "POST /plugins/restapi/v1/users", "PUT /plugins/restapi/v1/users/web-" + finn.Conversation], requests.Select(r => r.Method + " " + r.Path));
        Assert.All(requests, r => Assert.Equal("Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(rest.BasicCredentials)), r.Authorization));
    }

    [Fact]
    public async Task Openfires_REST_API_refusals_say_what_to_check_and_the_settings_are_checked_at_start()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        await using var rest = await OpenfireRestStandIn.StartAsync(server);

        using var wrongSecret = new Xmpp.OpenfireUserApi(rest.BaseUrl, "not-the-secret", "", "");
        var refused = await Assert.ThrowsAsync<Parley.Xmpp.Accounts.XmppAccountException>(() => wrongSecret.CreateOrSetPasswordAsync("web-refused", "a-password-0123456789", "X", CancellationToken.None));
        Assert.Equal(Parley.Xmpp.Accounts.AccountErrorReason.Forbidden, refused.Reason);
        Assert.Contains("401", refused.Message, StringComparison.Ordinal);
        Assert.Contains("RestApiSecret", refused.Message, StringComparison.Ordinal);

        using var noPlugin = new Xmpp.OpenfireUserApi(new Uri(rest.BaseUrl, "/plugins/nothing/v1/"), OpenfireRestStandIn.Secret, "", "");
        var missing = await Assert.ThrowsAsync<Parley.Xmpp.Accounts.XmppAccountException>(() => noPlugin.CreateOrSetPasswordAsync("web-missing", "a-password-0123456789", "X", CancellationToken.None));
        Assert.Equal(Parley.Xmpp.Accounts.AccountErrorReason.NotSupported, missing.Reason);

        using var nobody = new Xmpp.OpenfireUserApi(new Uri($"http://127.0.0.1:{LoopbackPorts.Allocate().ToString(CultureInfo.InvariantCulture)}/plugins/restapi/v1/"), OpenfireRestStandIn.Secret, "", "");
        var unreachable = await Assert.ThrowsAsync<Parley.Xmpp.Accounts.XmppAccountException>(() => nobody.CreateOrSetPasswordAsync("web-nobody", "a-password-0123456789", "X", CancellationToken.None));
        Assert.Contains("could not be reached", unreachable.Message, StringComparison.Ordinal);

        await using var owner = await Owner.ConnectAsync(server);
        var invalid = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() =>
            GatewayHost.StartAsync(server, owner.Account.Jid.ToString(), null, "--Parley:Mode=Account", $"--Parley:Accounts:Domain={server.Domain}", "--Parley:Accounts:Provisioning=OpenfireRest", "--Parley:Accounts:RestApiUrl=http://openfire.example.org:9090/plugins/restapi/v1/"));
        Assert.Contains(invalid.Failures, f => f.Contains("Accounts:RestApiUrl", StringComparison.Ordinal));
        Assert.Contains(invalid.Failures, f => f.Contains("Accounts:RestApiSecret", StringComparison.Ordinal));
    }

    private const string VisitorNick = Xmpp.VisitorLink.NickNamespace;

    private static async Task<GatewayHost> StartAsync(XmppTestServer server, Owner owner, string provisioning, params string[] extra)
    {
        string[] settings =
        [
            "--Parley:Mode=Account",
            $"--Parley:Accounts:Domain={server.Domain}",
            $"--Parley:Accounts:Host={server.Host}",
            $"--Parley:Accounts:Port={server.ClientPort.ToString(CultureInfo.InvariantCulture)}",
            $"--Parley:Accounts:CertificateSha256={server.CertificateSha256}",
            $"--Parley:Accounts:Provisioning={provisioning}",
            $"--Parley:Accounts:AdminJid={server.AdminJid}",
            $"--Parley:Accounts:AdminPassword={server.AdminPassword}",
            .. extra,
        ];
        var gateway = await GatewayHost.StartAsync(server, owner.Account.Jid.ToString(), null, settings);
        await gateway.WaitConnectedAsync();
        return gateway;
    }

    private static async Task<byte[]> ReadSharedAsync(string path)
    {
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var copy = new MemoryStream();
        await file.CopyToAsync(copy);
        return copy.ToArray();
    }
}
