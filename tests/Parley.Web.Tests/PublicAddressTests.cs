using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Parley.Testing;
using Parley.Web.Api;
using Parley.Xmpp.Upload;

namespace Parley.Web.Tests;

/// <summary>
/// Links the owner gets and redirect URIs come from <c>Parley:PublicUrl</c> only, never from the request's <c>Host</c>;
/// requests for other hosts are refused; without a public URL the features that hand out links do not start.
/// </summary>
[Collection(ServerFixture.CollectionName)]
public sealed class PublicAddressTests(ServerFixture servers)
{
    // Neither the address the tests connect to nor any Host they send: a link built from the request cannot look like it.
    private const string PublicUrl = "https://chat.example.test/";

    [Theory]
    [MemberData(nameof(Servers.Kinds), MemberType = typeof(Servers))]
    public async Task A_forged_Host_header_does_not_reach_the_owners_download_link(string kind)
    {
        var server = await servers.GetAsync(kind);
        await using var owner = await Owner.ConnectAsync(server);
        var folder = NewFolder();

        // AllowedHosts lets the forged host past host filtering, so only the way links are built stands between it and the owner.
        await using var gateway = await GatewayHost.StartAsync(server, owner.Account.Jid.ToString(), null,
            $"--Parley:PublicUrl={PublicUrl}", $"--Parley:Files:Directory={folder}", "--AllowedHosts=evil.example");
        await gateway.WaitConnectedAsync();
        using var visitor = gateway.NewVisitor();
        await visitor.SignInAsGuestAsync("Forger");

        using var response = await visitor.Http.SendAsync(Upload(visitor, "evil.example", "notes.txt"));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var key = Path.GetFileName(Assert.Single(Directory.GetFiles(folder)));
        var expected = $"https://chat.example.test/files/{key}/notes.txt";
        Assert.Equal(expected, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("file").GetProperty("url").GetString());

        // What the owner's client shows and may fetch: the body and the jabber:x:oob URL.
        var atOwner = await owner.NextMessageAsync();
        Assert.Equal(expected, atOwner.Body);
        Assert.Equal(new Uri(expected), OutOfBand.GetUrl(atOwner));
        Assert.DoesNotContain("evil", atOwner.ToString(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Requests_for_an_unknown_host_are_refused_and_the_public_and_loopback_hosts_are_answered()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        var folder = NewFolder();
        await using var gateway = await GatewayHost.StartAsync(server, "owner@" + server.Domain, null,
            $"--Parley:PublicUrl={PublicUrl}", $"--Parley:Files:Directory={folder}");
        using var visitor = gateway.NewVisitor();
        await visitor.SignInAsGuestAsync("Visitor");

        foreach (var (host, expected) in new[]
        {
            ("evil.example", HttpStatusCode.BadRequest),
            ("chat.example.test.evil.example", HttpStatusCode.BadRequest),
            ("chat.example.test", HttpStatusCode.OK),
            ("localhost:1", HttpStatusCode.OK),
            ("[::1]", HttpStatusCode.OK),
        })
        {
            foreach (var path in new[] { "/", "/healthz", "/api/session" })
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, path);
                request.Headers.Host = host;
                using var response = await visitor.Http.SendAsync(request);
                Assert.True(expected == response.StatusCode, $"{path} with Host {host}: {response.StatusCode}");
            }
        }

        using var upload = await visitor.Http.SendAsync(Upload(visitor, "evil.example", "notes.txt"));
        Assert.Equal(HttpStatusCode.BadRequest, upload.StatusCode);
        Assert.False(Directory.Exists(folder) && Directory.EnumerateFiles(folder).Any());
        Assert.Empty((await visitor.HistoryAsync()).Messages);
    }

    [Fact]
    public async Task A_sign_in_redirect_uri_is_on_the_public_url_whatever_the_Host()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        await using var gateway = await GatewayHost.StartAsync(server, "owner@" + server.Domain, null,
            $"--Parley:PublicUrl={PublicUrl}", "--Parley:Auth:Providers:github:ClientId=id", "--Parley:Auth:Providers:github:ClientSecret=secret");
        using var visitor = gateway.NewVisitor();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/auth/signin/github");
        request.Headers.Host = "localhost:1";

        using var start = await visitor.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Found, start.StatusCode);
        Assert.Equal("https://github.com/login/oauth/authorize", start.Headers.Location!.GetLeftPart(UriPartial.Path));
        Assert.Equal("https://chat.example.test/auth/callback/github", QueryHelpers.ParseQuery(start.Headers.Location.Query)["redirect_uri"]);
    }

    [Fact]
    public async Task Without_a_public_url_files_and_providers_refuse_to_start_and_chat_works_without_them()
    {
        string[] required = ["--urls=http://127.0.0.1:0", "--Parley:Owner=owner@example.org", "--Parley:Component:Domain=chat.example.org", "--Parley:Component:Secret=s"];
        await using (var files = GatewayApp.Create(required))
        {
            var error = await Assert.ThrowsAsync<OptionsValidationException>(() => files.StartAsync());
            Assert.Contains("Parley:PublicUrl is required while Parley:Files:Enabled is true", error.Message, StringComparison.Ordinal);
            Assert.Contains("Parley:Files:Enabled=false", error.Message, StringComparison.Ordinal);
        }

        await using (var providers = GatewayApp.Create([.. required, "--Parley:Files:Enabled=false", "--Parley:Auth:Providers:github:ClientId=id", "--Parley:Auth:Providers:github:ClientSecret=secret"]))
        {
            var error = await Assert.ThrowsAsync<OptionsValidationException>(() => providers.StartAsync());
            Assert.Contains("Parley:PublicUrl is required with sign-in providers", error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("Files:Enabled is true", error.Message, StringComparison.Ordinal);
        }

        await using (var anyHost = GatewayApp.Create([.. required, "--Parley:PublicUrl=https://chat.example.org", "--AllowedHosts=other.example.org;*"]))
        {
            var error = await Assert.ThrowsAsync<OptionsValidationException>(() => anyHost.StartAsync());
            Assert.Contains("AllowedHosts=* is not accepted", error.Message, StringComparison.Ordinal);
        }

        var server = await servers.GetAsync(Servers.Prosody);
        await using var owner = await Owner.ConnectAsync(server);
        await using var gateway = await GatewayHost.StartAsync(server, owner.Account.Jid.ToString(), null, "--Parley:PublicUrl=", "--Parley:Files:Enabled=false");
        await gateway.WaitConnectedAsync();
        using var visitor = gateway.NewVisitor();
        await visitor.SignInAsGuestAsync("Chatter");
        await visitor.SendAsync("files are off, chat is not");
        Assert.Equal("files are off, chat is not", (await owner.NextMessageAsync()).Body);
        using var upload = await visitor.Http.SendAsync(Upload(visitor, null, "notes.txt"));
        Assert.Equal(HttpStatusCode.NotFound, upload.StatusCode);
    }

    private static string NewFolder() => Path.Combine(Path.GetTempPath(), "parley-web-tests", "files-" + Guid.NewGuid().ToString("N"));

    private static HttpRequestMessage Upload(Visitor visitor, string? host, string name)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/api/conversations/{visitor.Conversation}/files") { Content = new ByteArrayContent("hello"u8.ToArray()) };
        request.Headers.Host = host;
        request.Headers.Add(FileApi.NameHeader, name);
        request.Headers.Add("X-CSRF-TOKEN", visitor.Csrf);
        return request;
    }
}
