using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Xml.Linq;
using Parley.Testing;

namespace Parley.Xmpp.Tests.Harness;

/// <summary>
/// Proves the real-server harness: each shared server answers on every advertised port with the
/// services the library's tests rely on. Raw sockets only; the library's client is not involved.
/// </summary>
[Collection(ServerFixture.CollectionName)]
public sealed class ServerHarnessTests
{
    private static readonly XNamespace DiscoItems = "http://jabber.org/protocol/disco#items";
    private static readonly XNamespace DiscoInfo = "http://jabber.org/protocol/disco#info";
    private static readonly XNamespace Bytestreams = "http://jabber.org/protocol/bytestreams";
    private static readonly XNamespace Upload = "urn:xmpp:http:upload:0";
    private static readonly XNamespace Roster = "jabber:iq:roster";
    private static readonly XNamespace Register = "jabber:iq:register";
    private static readonly XNamespace StreamManagement = "urn:xmpp:sm:3";
    private readonly ServerFixture _fixture;

    public ServerHarnessTests(ServerFixture fixture) => _fixture = fixture;

    [Theory]
    [MemberData(nameof(Servers.Kinds), MemberType = typeof(Servers))]
    public async Task Client_port_offers_starttls_and_the_upgrade_works_with_the_pinned_certificate(string kind)
    {
        var server = await _fixture.GetAsync(kind);
        Assert.Equal(kind, server.Kind);
        await using var connection = await RawXmppConnection.ConnectAsync(server, server.ClientPort);

        var features = await connection.OpenClientStreamAsync();
        Assert.Equal(server.Domain, (string?)connection.StreamHeader!.Attribute("from"));
        Assert.NotNull(features.Element(RawXmppConnection.Tls + "starttls"));

        await connection.StartTlsAsync();
        Assert.True(server.IsServerCertificate(connection.RemoteCertificate));
        var secured = await connection.OpenClientStreamAsync();
        Assert.Null(secured.Element(RawXmppConnection.Tls + "starttls"));
        Assert.Contains("PLAIN", Mechanisms(secured));
    }

    [Theory]
    [MemberData(nameof(Servers.Kinds), MemberType = typeof(Servers))]
    public async Task Direct_tls_port_presents_the_generated_certificate(string kind)
    {
        var server = await _fixture.GetAsync(kind);
        await using var connection = await RawXmppConnection.ConnectAsync(server, server.DirectTlsPort, directTls: true);

        var certificate = connection.RemoteCertificate!;
        Assert.Equal(server.CertificateSha256, Convert.ToHexStringLower(SHA256.HashData(certificate.RawData)));
        Assert.Matches("^[0-9a-f]{64}$", server.CertificateSha256);
        using (var fromPem = server.LoadCertificate())
        {
            Assert.Equal(fromPem.RawData, certificate.RawData);
        }

        var names = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Equal([server.Domain, "*." + server.Domain, "localhost"], names.EnumerateDnsNames().ToArray());
        Assert.Equal([IPAddress.Loopback], names.EnumerateIPAddresses().ToArray());

        var features = await connection.OpenClientStreamAsync();
        Assert.Contains("PLAIN", Mechanisms(features));
    }

    [Fact]
    public async Task Each_server_has_its_own_certificate()
    {
        var prosody = await _fixture.GetAsync(Servers.Prosody);
        var ejabberd = await _fixture.GetAsync(Servers.Ejabberd);
        using var prosodyCertificate = prosody.LoadCertificate();
        using var ejabberdCertificate = ejabberd.LoadCertificate();

        Assert.NotEqual(prosody.CertificateSha256, ejabberd.CertificateSha256);
        Assert.True(prosody.IsServerCertificate(prosodyCertificate));
        Assert.False(prosody.IsServerCertificate(ejabberdCertificate));
        Assert.False(ejabberd.IsServerCertificate(null));
    }

    [Theory]
    [MemberData(nameof(Servers.Kinds), MemberType = typeof(Servers))]
    public async Task Component_port_accepts_the_secret_and_rejects_a_wrong_one(string kind)
    {
        var server = await _fixture.GetAsync(kind);

        Assert.Equal(RawXmppConnection.Component + "handshake", (await ComponentHandshakeAsync(server, server.ComponentSecret)).Name);
        var refused = await ComponentHandshakeAsync(server, server.ComponentSecret + "x");
        Assert.Equal(RawXmppConnection.Streams + "error", refused.Name);
        Assert.Contains(refused.Elements(), e => e.Name.LocalName == "not-authorized");
    }

    [Theory]
    [MemberData(nameof(Servers.Kinds), MemberType = typeof(Servers))]
    public async Task Created_account_logs_in_with_sasl_plain_and_deleted_account_does_not(string kind)
    {
        var server = await _fixture.GetAsync(kind);
        var account = await server.CreateAccountAsync();
        Assert.Equal(server.Domain, account.Domain);
        Assert.Equal($"{account.Localpart}@{server.Domain}", account.Jid.ToString());

        Assert.Equal(RawXmppConnection.Sasl + "success", (await AuthenticateAsync(server, account.Localpart, account.Password)).Name);
        Assert.Equal(RawXmppConnection.Sasl + "failure", (await AuthenticateAsync(server, account.Localpart, account.Password + "x")).Name);

        await server.DeleteAccountAsync(account.Localpart);
        Assert.Equal(RawXmppConnection.Sasl + "failure", (await AuthenticateAsync(server, account.Localpart, account.Password)).Name);
    }

    [Theory]
    [MemberData(nameof(Servers.Kinds), MemberType = typeof(Servers))]
    public async Task Accounts_are_unique_and_an_explicit_name_cannot_be_registered_twice(string kind)
    {
        var server = await _fixture.GetAsync(kind);
        var first = await server.CreateAccountAsync();
        var second = await server.CreateAccountAsync();
        Assert.NotEqual(first.Localpart, second.Localpart);
        Assert.NotEqual(first.Password, second.Password);

        var named = await server.CreateAccountAsync("named-" + first.Localpart);
        Assert.Equal("named-" + first.Localpart, named.Localpart);
        await Assert.ThrowsAsync<XmppTestServerException>(() => server.CreateAccountAsync(named.Localpart));
        Assert.Equal(RawXmppConnection.Sasl + "success", (await AuthenticateAsync(server, named.Localpart, named.Password)).Name);
        await Assert.ThrowsAsync<ArgumentException>(() => server.CreateAccountAsync("Not Valid"));
    }

    [Theory]
    [MemberData(nameof(Servers.Kinds), MemberType = typeof(Servers))]
    public async Task Bound_session_offers_stream_management(string kind)
    {
        var server = await _fixture.GetAsync(kind);
        var account = await server.CreateAccountAsync();
        await using var connection = await RawXmppConnection.ConnectAsync(server, server.DirectTlsPort, directTls: true);
        await connection.OpenClientStreamAsync();
        await connection.AuthenticatePlainAsync(account.Localpart, account.Password);

        var features = await connection.OpenClientStreamAsync();
        Assert.NotNull(features.Element(StreamManagement + "sm"));
        Assert.NotNull(features.Element(RawXmppConnection.Bind + "bind"));
    }

    [Theory]
    [MemberData(nameof(Servers.Kinds), MemberType = typeof(Servers))]
    public async Task In_band_registration_is_allowed(string kind)
    {
        var server = await _fixture.GetAsync(kind);
        var user = "ibr" + RandomNumberGenerator.GetHexString(8, lowercase: true);
        await using (var connection = await RawXmppConnection.ConnectAsync(server, server.DirectTlsPort, directTls: true))
        {
            var features = await connection.OpenClientStreamAsync();
            Assert.Contains(features.Elements(), e => e.Name == "{http://jabber.org/features/iq-register}register");
            var answer = await connection.IqAsync(new XElement(RawXmppConnection.Client + "iq", new XAttribute("type", "set"),
                new XElement(Register + "query", new XElement(Register + "username", user), new XElement(Register + "password", "ibr-secret"))));
            Assert.Equal("result", (string?)answer.Attribute("type"));
        }

        Assert.Equal(RawXmppConnection.Sasl + "success", (await AuthenticateAsync(server, user, "ibr-secret")).Name);
    }

    [Theory]
    [MemberData(nameof(Servers.Kinds), MemberType = typeof(Servers))]
    public async Task Admin_sees_the_service_administration_commands(string kind)
    {
        var server = await _fixture.GetAsync(kind);
        Assert.Equal("admin@" + server.Domain, server.AdminJid);
        var admin = new TestAccount("admin", server.Domain, server.AdminPassword);
        await using var connection = await RawXmppConnection.LoginAsync(server, admin);

        var commands = await connection.IqAsync(Iq("get", server.Domain,
            new XElement(DiscoItems + "query", new XAttribute("node", "http://jabber.org/protocol/commands"))));
        var nodes = commands.Descendants(DiscoItems + "item").Select(i => (string?)i.Attribute("node")).ToList();
        Assert.Contains("http://jabber.org/protocol/admin#add-user", nodes);
        Assert.Contains("http://jabber.org/protocol/admin#delete-user", nodes);
    }

    [Theory]
    [MemberData(nameof(Servers.Kinds), MemberType = typeof(Servers))]
    public async Task Domain_lists_the_proxy_and_upload_services_and_the_proxy_names_its_port(string kind)
    {
        var server = await _fixture.GetAsync(kind);
        await using var connection = await RawXmppConnection.LoginAsync(server, await server.CreateAccountAsync());

        var items = await connection.IqAsync(Iq("get", server.Domain, new XElement(DiscoItems + "query")));
        var jids = items.Descendants(DiscoItems + "item").Select(i => (string?)i.Attribute("jid")).ToList();
        Assert.Contains(server.ProxyJid, jids);
        Assert.Contains(server.UploadJid, jids);

        var proxy = await connection.IqAsync(Iq("get", server.ProxyJid, new XElement(Bytestreams + "query")));
        var streamhost = proxy.Descendants(Bytestreams + "streamhost").Single();
        Assert.Equal(server.ProxyJid, Jid.Parse((string)streamhost.Attribute("jid")!).Bare.ToString()); // ejabberd adds a resource
        Assert.Equal(server.Host, (string?)streamhost.Attribute("host"));
        Assert.Equal(server.ProxyPort, (int?)streamhost.Attribute("port"));

        var upload = await connection.IqAsync(Iq("get", server.UploadJid, new XElement(DiscoInfo + "query")));
        Assert.Contains(upload.Descendants(DiscoInfo + "feature"), f => (string?)f.Attribute("var") == Upload.NamespaceName);
    }

    [Theory]
    [MemberData(nameof(Servers.Kinds), MemberType = typeof(Servers))]
    public async Task Upload_slot_accepts_a_put_and_serves_the_file(string kind)
    {
        var server = await _fixture.GetAsync(kind);
        await using var connection = await RawXmppConnection.LoginAsync(server, await server.CreateAccountAsync());
        var content = RandomNumberGenerator.GetBytes(100_000);

        var slot = await connection.IqAsync(Iq("get", server.UploadJid, new XElement(Upload + "request",
            new XAttribute("filename", "harness.bin"), new XAttribute("size", content.Length), new XAttribute("content-type", "application/octet-stream"))));
        Assert.Equal("result", (string?)slot.Attribute("type"));
        var put = slot.Descendants(Upload + "put").Single();
        var putUrl = new Uri((string)put.Attribute("url")!);
        var getUrl = new Uri((string)slot.Descendants(Upload + "get").Single().Attribute("url")!);
        Assert.Equal(server.HttpPort, putUrl.Port);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(15) };
        using var request = new HttpRequestMessage(HttpMethod.Put, putUrl) { Content = new ByteArrayContent(content) };
        request.Content.Headers.ContentType = new("application/octet-stream");
        foreach (var header in put.Elements(Upload + "header"))
        {
            request.Headers.TryAddWithoutValidation((string)header.Attribute("name")!, header.Value);
        }

        using (var response = await http.SendAsync(request))
        {
            Assert.True(response.IsSuccessStatusCode, $"PUT {putUrl}: {(int)response.StatusCode}");
        }

        Assert.Equal(content, await http.GetByteArrayAsync(getUrl));
    }

    [Theory]
    [MemberData(nameof(Servers.Kinds), MemberType = typeof(Servers))]
    public async Task Roster_items_can_be_seeded_without_a_subscription_handshake(string kind)
    {
        var server = await _fixture.GetAsync(kind);
        var alice = await server.CreateAccountAsync();
        var bob = await server.CreateAccountAsync();
        const string BobsName = "Bob \"the\" \\ Bäcker";

        await server.AddRosterItemAsync(alice.Localpart, bob.Jid.ToString(), BobsName);
        await server.AddRosterItemAsync(bob.Localpart, alice.Jid.ToString(), "Alice", "from");

        await using var connection = await RawXmppConnection.LoginAsync(server, alice);
        var roster = await connection.IqAsync(new XElement(RawXmppConnection.Client + "iq", new XAttribute("type", "get"), new XElement(Roster + "query")));
        var item = roster.Descendants(Roster + "item").Single();
        Assert.Equal(bob.Jid.ToString(), (string?)item.Attribute("jid"));
        Assert.Equal("both", (string?)item.Attribute("subscription"));
        Assert.Equal(BobsName, (string?)item.Attribute("name"));
        Assert.Empty(item.Elements(Roster + "group"));

        await using var bobsConnection = await RawXmppConnection.LoginAsync(server, bob);
        var bobsRoster = await bobsConnection.IqAsync(new XElement(RawXmppConnection.Client + "iq", new XAttribute("type", "get"), new XElement(Roster + "query")));
        Assert.Equal("from", (string?)bobsRoster.Descendants(Roster + "item").Single().Attribute("subscription"));

        // The owner is online now: the change reaches the live roster (a push), not only the storage.
        var carol = await server.CreateAccountAsync();
        await server.AddRosterItemAsync(alice.Localpart, carol.Jid.ToString(), "Carol");
        var push = await connection.ReadElementAsync();
        Assert.Equal("set", (string?)push.Attribute("type"));
        Assert.Equal(carol.Jid.ToString(), (string?)push.Descendants(Roster + "item").Single().Attribute("jid"));
    }

    [Theory]
    [MemberData(nameof(Servers.Kinds), MemberType = typeof(Servers))]
    public async Task Websocket_endpoint_answers_with_stream_features(string kind)
    {
        var server = await _fixture.GetAsync(kind);
        using var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("xmpp");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        await socket.ConnectAsync(server.WebSocketUri, timeout.Token);
        Assert.Equal("xmpp", socket.SubProtocol);

        var open = $"<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='{server.Domain}' version='1.0'/>";
        await socket.SendAsync(Encoding.UTF8.GetBytes(open), WebSocketMessageType.Text, endOfMessage: true, timeout.Token);
        var buffer = new byte[64 * 1024];
        for (var frame = 0; frame < 5; frame++)
        {
            var received = await socket.ReceiveAsync(buffer, timeout.Token);
            Assert.True(received.EndOfMessage);
            var element = XElement.Parse(Encoding.UTF8.GetString(buffer, 0, received.Count));
            if (element.Name == RawXmppConnection.Streams + "features")
            {
                Assert.NotEmpty(Mechanisms(element));
                return;
            }
        }

        Assert.Fail("No stream features in the first five websocket frames.");
    }

    [Theory]
    [MemberData(nameof(Servers.Kinds), MemberType = typeof(Servers))]
    public async Task Dedicated_server_keeps_ports_and_data_across_stop_kill_and_start(string kind)
    {
        var server = await Servers.StartNewAsync(kind);
        var directory = server.DirectoryPath;
        try
        {
            var account = await server.CreateAccountAsync();
            var port = server.ClientPort;

            await server.StopAsync();
            Assert.False(server.IsRunning);
            Assert.False(await AcceptsAsync(port));

            await server.StartAsync();
            Assert.Equal(port, server.ClientPort);
            Assert.Equal(RawXmppConnection.Sasl + "success", (await AuthenticateAsync(server, account.Localpart, account.Password)).Name);

            server.Kill();
            Assert.False(server.IsRunning);
            Assert.False(await AcceptsAsync(port));

            await server.StartAsync();
            Assert.Equal(RawXmppConnection.Sasl + "success", (await AuthenticateAsync(server, account.Localpart, account.Password)).Name);
        }
        finally
        {
            await server.DisposeAsync();
        }

        Assert.False(server.IsRunning);
        Assert.False(await AcceptsAsync(server.ClientPort));
        if (Environment.GetEnvironmentVariable("PARLEY_KEEP_SERVERS") is not ("1" or "true"))
        {
            Assert.False(Directory.Exists(directory));
        }
    }

    [Fact]
    public async Task Start_timeout_reports_the_server_log()
    {
        await using var server = new ProsodyServer(new XmppTestServerOptions { StartTimeout = TimeSpan.Zero });

        var failure = await Assert.ThrowsAsync<XmppTestServerException>(() => server.StartAsync());
        Assert.Contains("did not manage", failure.Message);
        Assert.Contains(server.LogPath, failure.Message);
        Assert.Contains("prosody --config", failure.Message); // The console log's first line names the command.
        Assert.False(server.IsRunning);
    }

    private static async Task<XElement> ComponentHandshakeAsync(XmppTestServer server, string secret)
    {
        await using var connection = await RawXmppConnection.ConnectAsync(server, server.ComponentPort);
        var header = await connection.OpenStreamAsync("jabber:component:accept", server.ComponentDomain);
        var streamId = (string?)header.Attribute("id");
        Assert.False(string.IsNullOrEmpty(streamId));

        var digest = Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(streamId + secret)));
        await connection.SendAsync($"<handshake>{digest}</handshake>");
        return await connection.ReadElementAsync();
    }

    private static async Task<XElement> AuthenticateAsync(XmppTestServer server, string user, string password)
    {
        await using var connection = await RawXmppConnection.ConnectAsync(server, server.DirectTlsPort, directTls: true);
        await connection.OpenClientStreamAsync();
        return await connection.AuthenticatePlainAsync(user, password);
    }

    private static async Task<bool> AcceptsAsync(int port)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static XElement Iq(string type, string to, XElement payload) =>
        new(RawXmppConnection.Client + "iq", new XAttribute("type", type), new XAttribute("to", to), payload);

    private static List<string> Mechanisms(XElement features) =>
        features.Descendants(RawXmppConnection.Sasl + "mechanism").Select(m => m.Value).ToList();
}
