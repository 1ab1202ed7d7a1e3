using System.Net.Sockets;
using System.Text.RegularExpressions;
using Parley.Xmpp.Accounts;
using Parley.Xmpp.Tests.Faults;
using Parley.Xmpp.Tests.Support;

namespace Parley.Xmpp.Tests.Accounts;

/// <summary>
/// The registration exchange against a scripted server on loopback (plain TCP): what is sent, in which order, and how
/// the server's answers end up. The real servers are exercised by <c>AccountTests</c>.
/// </summary>
public sealed partial class RegistrationTranscriptUnitTests
{
    private const string ServerHeader = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='s1' from='fake.test' version='1.0'>";
    private const string Features = "<stream:features><register xmlns='http://jabber.org/features/iq-register'/></stream:features>";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Legacy_registration_asks_first_then_submits_the_fields()
    {
        await using var server = new FakeXmppServer(async (s, stream, ct) =>
        {
            await OpenAsync(s, stream, ct);
            var getId = await ExpectIqAsync(s, stream, "get", ct);
            await FakeXmppServer.SendAsync(stream, $"<iq type='result' id='{getId}'><query xmlns='jabber:iq:register'><instructions>Pick a name</instructions><username/><password/><email/></query></iq>", ct);
            var setId = await ExpectIqAsync(s, stream, "set", ct);
            await FakeXmppServer.SendAsync(stream, $"<iq type='result' id='{setId}'/>", ct);
            await s.ExpectAsync(stream, "</stream:stream>", ct);
        });
        var options = Options(server.Port);
        options.Fields["email"] = "bard@shakespeare.lit";

        using var timeout = new CancellationTokenSource(Deadline);
        var jid = await XmppAccountRegistration.RegisterAsync(options, cancellationToken: timeout.Token);

        Assert.Equal(Jid.Parse("bill@fake.test"), jid);
        var sent = server.Received.ToString();
        Assert.Matches("<iq[^>]*type=\"get\"[^>]*><query xmlns=\"jabber:iq:register\"/></iq>", sent);
        var set = sent[sent.IndexOf("type=\"set\"", StringComparison.Ordinal)..];
        Assert.Contains("<username>bill</username>", set, StringComparison.Ordinal);
        Assert.Contains("<password>Calliope</password>", set, StringComparison.Ordinal);
        Assert.Contains("<email>bard@shakespeare.lit</email>", set, StringComparison.Ordinal);
        Assert.DoesNotContain("jabber:x:data", set, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_traffic_log_never_shows_the_password()
    {
        await using var server = new FakeXmppServer(async (s, stream, ct) =>
        {
            await OpenAsync(s, stream, ct);
            var getId = await ExpectIqAsync(s, stream, "get", ct);
            await FakeXmppServer.SendAsync(stream, $"<iq type='result' id='{getId}'><query xmlns='jabber:iq:register'><username/><password/><x xmlns='jabber:x:data' type='form'><field type='text-single' var='username'/><field type='text-private' var='password'/><field type='text-private' var='password-verify'/></x></query></iq>", ct);
            var setId = await ExpectIqAsync(s, stream, "set", ct);
            await FakeXmppServer.SendAsync(stream, $"<iq type='result' id='{setId}'/>", ct);
            await s.ExpectAsync(stream, "</stream:stream>", ct);
        });
        var options = Options(server.Port);
        options.FillForm = (form, _) =>
        {
            form.SetValue("password-verify", options.Password);
            return ValueTask.CompletedTask;
        };
        var logs = new CapturingLoggerFactory();

        using var timeout = new CancellationTokenSource(Deadline);
        await XmppAccountRegistration.RegisterAsync(options, logs, timeout.Token);

        Assert.Contains(logs.Entries, e => e.Message.StartsWith("SEND", StringComparison.Ordinal) && e.Message.Contains("jabber:iq:register", StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Entries, e => e.Message.Contains("Calliope", StringComparison.Ordinal));
        Assert.Contains("Calliope", server.Received.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_server_form_is_filled_and_submitted_instead_of_legacy_fields()
    {
        await using var server = new FakeXmppServer(async (s, stream, ct) =>
        {
            await OpenAsync(s, stream, ct);
            var getId = await ExpectIqAsync(s, stream, "get", ct);
            await FakeXmppServer.SendAsync(stream, $"""
                <iq type='result' id='{getId}'><query xmlns='jabber:iq:register'><username/><password/>
                <x xmlns='jabber:x:data' type='form'><field type='hidden' var='FORM_TYPE'><value>jabber:iq:register</value></field>
                <field type='text-single' var='username'><required/></field><field type='text-private' var='password'><required/></field>
                <field type='boolean' var='tos'><required/></field></x></query></iq>
                """, ct);
            var setId = await ExpectIqAsync(s, stream, "set", ct);
            await FakeXmppServer.SendAsync(stream, $"<iq type='result' id='{setId}'/>", ct);
            await s.ExpectAsync(stream, "</stream:stream>", ct);
        });
        var options = Options(server.Port);
        options.FillForm = (form, _) =>
        {
            form["tos"]!.SetBoolean(true);
            return ValueTask.CompletedTask;
        };

        using var timeout = new CancellationTokenSource(Deadline);
        await XmppAccountRegistration.RegisterAsync(options, cancellationToken: timeout.Token);

        var sent = server.Received.ToString();
        var set = sent[sent.IndexOf("type=\"set\"", StringComparison.Ordinal)..];
        Assert.Contains("<x xmlns=\"jabber:x:data\" type=\"submit\">", set, StringComparison.Ordinal);
        Assert.Contains("<field var=\"FORM_TYPE\" type=\"hidden\"><value>jabber:iq:register</value></field>", set, StringComparison.Ordinal);
        Assert.Contains("<field var=\"tos\" type=\"boolean\"><value>true</value></field>", set, StringComparison.Ordinal);
        Assert.DoesNotContain("<username>", set, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_taken_username_is_a_typed_error_and_nothing_else_is_sent()
    {
        await using var server = new FakeXmppServer(async (s, stream, ct) =>
        {
            await OpenAsync(s, stream, ct);
            var getId = await ExpectIqAsync(s, stream, "get", ct);
            await FakeXmppServer.SendAsync(stream, $"<iq type='result' id='{getId}'><query xmlns='jabber:iq:register'><username/><password/></query></iq>", ct);
            var setId = await ExpectIqAsync(s, stream, "set", ct);
            await FakeXmppServer.SendAsync(stream, $"<iq type='error' id='{setId}'><error type='cancel'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>The requested username already exists.</text></error></iq>", ct);
            await s.ExpectAsync(stream, "</never>", ct);
        });

        using var timeout = new CancellationTokenSource(Deadline);
        var error = await Assert.ThrowsAsync<XmppAccountException>(() => XmppAccountRegistration.RegisterAsync(Options(server.Port), cancellationToken: timeout.Token));

        Assert.Equal(AccountErrorReason.UsernameTaken, error.Reason);
        Assert.Contains("'bill' is already taken", error.Message, StringComparison.Ordinal);
        Assert.Contains("already exists", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_required_field_nobody_filled_fails_before_the_password_is_sent()
    {
        await using var server = new FakeXmppServer(async (s, stream, ct) =>
        {
            await OpenAsync(s, stream, ct);
            var getId = await ExpectIqAsync(s, stream, "get", ct);
            await FakeXmppServer.SendAsync(stream, $"<iq type='result' id='{getId}'><query xmlns='jabber:iq:register'><username/><password/><email/></query></iq>", ct);
            await s.ExpectAsync(stream, "</never>", ct);
        });

        using var timeout = new CancellationTokenSource(Deadline);
        var error = await Assert.ThrowsAsync<XmppAccountException>(() => XmppAccountRegistration.RegisterAsync(Options(server.Port), cancellationToken: timeout.Token));

        Assert.Equal(AccountErrorReason.InvalidFields, error.Reason);
        Assert.Contains("'email'", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Calliope", server.Received.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_web_only_server_is_reported_as_a_redirect_with_its_url()
    {
        await using var server = new FakeXmppServer(async (s, stream, ct) =>
        {
            await OpenAsync(s, stream, ct);
            var getId = await ExpectIqAsync(s, stream, "get", ct);
            await FakeXmppServer.SendAsync(stream, $"<iq type='result' id='{getId}'><query xmlns='jabber:iq:register'><instructions>Sign up on the web.</instructions><x xmlns='jabber:x:oob'><url>https://fake.test/signup</url></x></query></iq>", ct);
            await s.ExpectAsync(stream, "</never>", ct);
        });

        using var timeout = new CancellationTokenSource(Deadline);
        var error = await Assert.ThrowsAsync<XmppAccountException>(() => XmppAccountRegistration.RegisterAsync(Options(server.Port), cancellationToken: timeout.Token));

        Assert.Equal(AccountErrorReason.Redirected, error.Reason);
        Assert.Equal(new Uri("https://fake.test/signup"), error.RedirectUrl);
        Assert.Contains("Sign up on the web.", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_starttls_the_default_tls_mode_refuses_to_go_on()
    {
        await using var server = new FakeXmppServer(async (s, stream, ct) =>
        {
            await OpenAsync(s, stream, ct);
            await s.ExpectAsync(stream, "</never>", ct);
        });
        var options = Options(server.Port);
        options.Tls = TlsMode.StartTlsRequired;

        using var timeout = new CancellationTokenSource(Deadline);
        var error = await Assert.ThrowsAsync<XmppTlsException>(() => XmppAccountRegistration.RegisterAsync(options, cancellationToken: timeout.Token));

        Assert.Contains("STARTTLS", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("jabber:iq:register", server.Received.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unencrypted_stream_gets_no_password_unless_allowed()
    {
        await using var server = new FakeXmppServer(async (s, stream, ct) =>
        {
            await OpenAsync(s, stream, ct);
            await s.ExpectAsync(stream, "</never>", ct);
        });
        var options = Options(server.Port);
        options.AllowPasswordWithoutTls = false;

        using var timeout = new CancellationTokenSource(Deadline);
        var error = await Assert.ThrowsAsync<XmppTlsException>(() => XmppAccountRegistration.RegisterAsync(options, cancellationToken: timeout.Token));

        Assert.Contains("not encrypted", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("jabber:iq:register", server.Received.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_server_that_never_answers_times_out_as_a_transport_error()
    {
        await using var server = new FakeXmppServer(async (s, stream, ct) =>
        {
            await OpenAsync(s, stream, ct);
            await s.ExpectAsync(stream, "</never>", ct);
        });
        var options = Options(server.Port);
        options.DefaultIqTimeout = TimeSpan.FromMilliseconds(300);

        using var timeout = new CancellationTokenSource(Deadline);
        var error = await Assert.ThrowsAsync<XmppTransportException>(() => XmppAccountRegistration.RegisterAsync(options, cancellationToken: timeout.Token));

        Assert.True(error.IsTransient);
        Assert.Contains("did not answer", error.Message, StringComparison.Ordinal);
    }

    private static XmppRegistrationOptions Options(int port) => new()
    {
        Domain = "fake.test",
        Username = "bill",
        Password = "Calliope",
        Host = "127.0.0.1",
        Port = port,
        Tls = TlsMode.None,
        AllowPasswordWithoutTls = true,
    };

    private static async Task OpenAsync(FakeXmppServer server, NetworkStream stream, CancellationToken cancellationToken)
    {
        await server.ExpectAsync(stream, "<stream:stream", cancellationToken);
        await server.ExpectAsync(stream, ">", cancellationToken);
        await FakeXmppServer.SendAsync(stream, ServerHeader + Features, cancellationToken);
    }

    /// <summary>Waits for the next IQ of that type and returns its id.</summary>
    private static async Task<string> ExpectIqAsync(FakeXmppServer server, NetworkStream stream, string type, CancellationToken cancellationToken)
    {
        var marker = $"type=\"{type}\"";
        await server.ExpectAsync(stream, marker, cancellationToken);
        await server.ExpectAsync(stream, "</iq>", cancellationToken);
        var text = server.Received.ToString();
        var iq = text[text.LastIndexOf("<iq", text.IndexOf(marker, StringComparison.Ordinal), StringComparison.Ordinal)..];
        return IdPattern().Match(iq).Groups[1].Value;
    }

    [GeneratedRegex("id=\"([^\"]+)\"")]
    private static partial Regex IdPattern();
}
