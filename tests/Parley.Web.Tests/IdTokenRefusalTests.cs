using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Parley.Testing;
using Parley.Web.Auth;

namespace Parley.Web.Tests;

/// <summary>
/// id_tokens the gateway must refuse, from the real OpenID provider made to misbehave (its script rewrites its own token
/// responses: the genuine claims altered and signed with its own key, unsigned, HS256 with the client secret, or another
/// flow's genuine token; see <c>OpenId/provider.mjs</c>). Each refusal leaves no session and one clear log line; a
/// rotated signing key is picked up without a restart; a visitor stored before the move to the framework's handler keeps
/// their conversation.
/// </summary>
[Collection(ServerFixture.CollectionName)]
public sealed class IdTokenRefusalTests(ServerFixture servers, OpenIdFixture openId) : IClassFixture<OpenIdFixture>
{
    [Theory]
    [InlineData("no-nonce", "OpenIdConnectProtocolInvalidNonceException")]
    [InlineData("replay", "OpenIdConnectProtocolInvalidNonceException")]
    [InlineData("aud", "SecurityTokenInvalidAudienceException")]
    [InlineData("expired", "SecurityTokenExpiredException")]
    [InlineData("none", "SecurityTokenInvalidSignatureException")]
    [InlineData("hs256", "SecurityTokenSignatureKeyNotFoundException")]
    public async Task A_bad_id_token_leaves_no_session_and_a_log_line_that_names_the_check(string mode, string refusal)
    {
        var (gateway, client, logs) = await StartAsync();
        await using (gateway)
        {
            // A genuine sign-in first: the gateway holds the provider's keys, and "replay" has a token of another flow.
            using (var genuine = gateway.NewVisitor())
            {
                await SignInAsync(genuine, "alice");
            }

            await openId.Provider.MisbehaveAsync(client.ClientId, mode);
            using var visitor = gateway.NewVisitor();
            using var response = await OidcFlow.SignInAsync(visitor, "alice");
            await AssertRefusedAsync(visitor, response);

            var line = Assert.Single(Failures(logs));
            Assert.Contains("External sign-in through oauth-op failed: " + refusal, line, StringComparison.Ordinal);

            // Control: the same provider and gateway sign in again once the provider behaves.
            await openId.Provider.MisbehaveAsync(client.ClientId, "genuine");
            using var after = gateway.NewVisitor();
            await SignInAsync(after, "alice");
        }
    }

    [Fact]
    public async Task A_rotated_signing_key_is_fetched_when_a_token_names_it_without_a_restart()
    {
        var (gateway, client, logs) = await StartAsync();
        await using (gateway)
        {
            using (var before = gateway.NewVisitor())
            {
                await SignInAsync(before, "alice");
            }

            // The key set the gateway holds does not have the new key: the token's kid makes it fetch the set again.
            await openId.Provider.RotateSigningKeyAsync(client.ClientId);
            using var after = gateway.NewVisitor();
            await SignInAsync(after, "alice");
            Assert.Empty(Failures(logs));
        }
    }

    [Fact]
    public async Task A_visitor_stored_before_the_framework_handler_keeps_their_conversation()
    {
        // The store as the gateway wrote it with its own OpenID code: the first schema, the visitor keyed on the issuer
        // the discovery document names and the subject, and an answer from the owner waiting in the conversation.
        var issuer = (await new HttpClient().GetFromJsonAsync<JsonElement>(new Uri(openId.Provider.Issuer, "/.well-known/openid-configuration"))).GetProperty("issuer").GetString()!;
        var database = StoreUnderTest.NewSqlitePath();
        Directory.CreateDirectory(Path.GetDirectoryName(database)!);
        await using (var connection = new SqliteConnection($"Data Source={database};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = """
                CREATE TABLE visitors (id TEXT PRIMARY KEY, issuer TEXT NOT NULL, subject TEXT NOT NULL, display_name TEXT NOT NULL,
                    created_at INTEGER NOT NULL, subscription_requested INTEGER NOT NULL DEFAULT 0, UNIQUE (issuer, subject));
                CREATE TABLE sessions (id TEXT PRIMARY KEY, visitor_id TEXT NOT NULL REFERENCES visitors(id), created_at INTEGER NOT NULL, ended_at INTEGER);
                CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, visitor_id TEXT NOT NULL REFERENCES visitors(id),
                    direction TEXT NOT NULL CHECK (direction IN ('visitor', 'owner')), text TEXT NOT NULL, created_at INTEGER NOT NULL,
                    state TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'delivered')), stanza_id TEXT NOT NULL, seq INTEGER NOT NULL);
                INSERT INTO visitors (id, issuer, subject, display_name, created_at) VALUES ('aliceoldvisitor2345', $issuer, 'alice', 'Alice Liddell', 1764000000000);
                INSERT INTO messages (visitor_id, direction, text, created_at, state, stanza_id, seq)
                    VALUES ('aliceoldvisitor2345', 'visitor', 'Hello from before', 1764000000000, 'sent', 'old-1', 1),
                           ('aliceoldvisitor2345', 'owner', 'Welcome back', 1764000001000, 'sent', 'old-2', 2);
                """;
            command.Parameters.AddWithValue("$issuer", issuer);
            await command.ExecuteNonQueryAsync();
        }

        var server = await servers.GetAsync(Servers.Prosody);
        var (gateway, _) = await openId.StartGatewayWithClientAsync(server, "owner@" + server.Domain, database);
        await using (gateway)
        {
            using var visitor = gateway.NewVisitor();
            await SignInAsync(visitor, "alice");
            Assert.Equal("aliceoldvisitor2345", visitor.Conversation);
            Assert.Equal(["Hello from before", "Welcome back"], (await visitor.HistoryAsync()).Messages.Select(static m => m.Text));

            // Control: another subject of the same provider is somebody else.
            using var bob = gateway.NewVisitor();
            await SignInAsync(bob, "bob");
            Assert.NotEqual("aliceoldvisitor2345", bob.Conversation);
        }
    }

    private async Task<(GatewayHost Gateway, OpenIdClient Client, CapturingLoggerProvider Logs)> StartAsync()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        var (gateway, client) = await openId.StartGatewayWithClientAsync(server, "owner@" + server.Domain, null);
        var logs = new CapturingLoggerProvider();
        gateway.Services.GetRequiredService<ILoggerFactory>().AddProvider(logs);
        return (gateway, client, logs);
    }

    private static List<string> Failures(CapturingLoggerProvider logs)
        => [.. logs.Entries.Where(static e => e.Category == typeof(ExternalSignIn).FullName && e.Level == LogLevel.Warning).Select(static e => e.Message)];

    private static async Task SignInAsync(Visitor visitor, string login)
    {
        using var response = await OidcFlow.SignInAsync(visitor, login);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/", response.Headers.Location!.OriginalString);
        Assert.True((await visitor.RefreshSessionAsync()).GetProperty("signedIn").GetBoolean());
    }

    private static async Task AssertRefusedAsync(Visitor visitor, HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal(ExternalSignIn.FailedPath, response.Headers.Location!.OriginalString);
        Assert.DoesNotContain(response.Headers.TryGetValues("Set-Cookie", out var set) ? set : [], static c => c.StartsWith("parley.visitor=", StringComparison.Ordinal));
        Assert.False(OidcFlow.HasCookie(visitor, "parley.visitor"));
        Assert.False((await visitor.RefreshSessionAsync()).GetProperty("signedIn").GetBoolean());
        using var chat = await visitor.Http.GetAsync("/api/conversations/aliceoldvisitor2345/messages");
        Assert.Equal(HttpStatusCode.Unauthorized, chat.StatusCode);
    }
}
