using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication.OAuth;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Parley.Testing;
using Parley.Web.Auth;
using Parley.Web.Storage;

namespace Parley.Web.Tests;

/// <summary>
/// Sign-in through a real OpenID provider (oidc-provider on Node.js), driven over HTTP step by step: the authorization
/// request, state and correlation, PKCE, the identity (issuer + subject), the session it becomes.
/// </summary>
[Collection(ServerFixture.CollectionName)]
public sealed class ExternalSignInTests(ServerFixture servers, OpenIdFixture openId) : IClassFixture<OpenIdFixture>
{
    [Fact]
    public async Task The_authorization_request_is_pushed_and_is_the_code_flow_with_PKCE_S256_a_nonce_and_a_protected_state()
    {
        await using var gateway = await StartAsync();
        using var visitor = gateway.NewVisitor();

        using var start = await visitor.Http.GetAsync("/auth/signin/op");
        Assert.Equal(HttpStatusCode.Found, start.StatusCode);
        var authorize = start.Headers.Location!;
        Assert.Equal(openId.Provider.Issuer.GetLeftPart(UriPartial.Authority), authorize.GetLeftPart(UriPartial.Authority));

        // The provider offers pushed authorization requests: the browser carries only a reference to what was pushed.
        var query = QueryHelpers.ParseQuery(authorize.Query);
        Assert.Equal(["client_id", "request_uri"], query.Keys.Order(StringComparer.Ordinal));
        Assert.StartsWith("urn:ietf:params:oauth:request_uri:", query["request_uri"].ToString(), StringComparison.Ordinal);

        // The flow's cookies: HttpOnly, SameSite=Lax, not Secure on plain http (SameAsRequest), scoped to the callback.
        var setCookies = start.Headers.GetValues("Set-Cookie").ToList();
        foreach (var prefix in (string[])["parley.correlation.", "parley.nonce."])
        {
            var cookie = Assert.Single(setCookies, c => c.StartsWith(prefix, StringComparison.Ordinal));
            Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("samesite=lax", cookie, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("secure", cookie, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("path=/auth/callback/op", cookie, StringComparison.OrdinalIgnoreCase);
        }

        var callback = await OidcFlow.AuthorizeAsync(visitor, authorize, "alice");
        var state = QueryHelpers.ParseQuery(callback.Query)["state"].ToString();

        // What the provider received: the code flow, the public callback, PKCE S256 and a nonce.
        var pushed = ReceivedAuthorizationRequest(state);
        Assert.Equal("code", pushed.GetProperty("response_type").GetString());
        Assert.Equal(new Uri(gateway.BaseAddress, "/auth/callback/op").AbsoluteUri, pushed.GetProperty("redirect_uri").GetString());
        Assert.Contains("openid", pushed.GetProperty("scope").GetString()!.Split(' '));
        Assert.Equal("S256", pushed.GetProperty("code_challenge_method").GetString());
        Assert.False(pushed.TryGetProperty("code_verifier", out _));
        Assert.True(pushed.GetProperty("nonce").GetString()!.Length >= 32);

        // The verifier travels only inside the protected state, and the challenge is its SHA-256.
        var properties = StateFormat(gateway).Unprotect(state)!;
        var verifier = properties.Items[OAuthConstants.CodeVerifierKey]!;
        Assert.Equal(pushed.GetProperty("code_challenge").GetString(), Base64Url(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))));
        Assert.Equal("/", properties.RedirectUri);

        using var back = await visitor.Http.GetAsync(callback);
        Assert.Equal(HttpStatusCode.Redirect, back.StatusCode);
        Assert.Equal("/", back.Headers.Location!.OriginalString);

        // Only the visitor session is set; the flow's cookies are deleted; no external-identity cookie exists.
        var cookies = back.Headers.GetValues("Set-Cookie").ToList();
        Assert.All(cookies, c => Assert.True(
            c.StartsWith("parley.visitor=", StringComparison.Ordinal)
            || ((c.StartsWith("parley.correlation.", StringComparison.Ordinal) || c.StartsWith("parley.nonce.", StringComparison.Ordinal))
                && c.Contains("expires=Thu, 01 Jan 1970", StringComparison.OrdinalIgnoreCase)),
            c));
        Assert.False(OidcFlow.HasCookie(visitor, "parley.correlation."));
        Assert.False(OidcFlow.HasCookie(visitor, "parley.nonce."));

        var session = await visitor.RefreshSessionAsync();
        Assert.True(session.GetProperty("signedIn").GetBoolean());
        Assert.Equal("Alice Liddell", session.GetProperty("name").GetString());
        var stored = await gateway.Services.GetRequiredService<VisitorRepository>().FindAsync(visitor.Conversation!, CancellationToken.None);
        Assert.Equal(openId.Provider.Issuer.GetLeftPart(UriPartial.Authority), stored!.Issuer);
        Assert.Equal("alice", stored.Subject);
    }

    [Fact]
    public async Task The_same_subject_is_the_same_visitor_and_another_subject_another_visitor()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        await using var owner = await Owner.ConnectAsync(server);
        await using var gateway = await openId.StartGatewayAsync(server, owner.Account.Jid.ToString());
        await gateway.WaitConnectedAsync();

        using var first = gateway.NewVisitor();
        await SignInAsync(first, "alice");
        await first.SendAsync("First visit");
        var atOwner = await owner.NextMessageAsync();
        Assert.Equal("Alice Liddell", atOwner.ElementText("nick", Xmpp.VisitorLink.NickNamespace));

        // Another browser, the same subject: the same visitor, with its history.
        using var again = gateway.NewVisitor();
        await SignInAsync(again, "alice");
        Assert.Equal(first.Conversation, again.Conversation);
        Assert.Equal(["First visit"], (await again.HistoryAsync()).Messages.Select(m => m.Text));

        // Another subject, and a guest with the same display name: other visitors, nothing of Alice's.
        using var bob = gateway.NewVisitor();
        await SignInAsync(bob, "bob");
        Assert.NotEqual(first.Conversation, bob.Conversation);
        Assert.Empty((await bob.HistoryAsync()).Messages);
        using var guest = gateway.NewVisitor();
        using var guestSignIn = await guest.SignInAsGuestAsync("Alice Liddell");
        guestSignIn.EnsureSuccessStatusCode();
        Assert.NotEqual(first.Conversation, guest.Conversation);
        using var foreign = await guest.Http.GetAsync($"/api/conversations/{first.Conversation}/messages");
        Assert.Equal(HttpStatusCode.NotFound, foreign.StatusCode);

        await bob.SendAsync("Bob here");
        var fromBob = await owner.NextMessageAsync();
        Assert.NotEqual(atOwner.From!.Bare, fromBob.From!.Bare);
        Assert.Equal("Bob Marley", fromBob.ElementText("nick", Xmpp.VisitorLink.NickNamespace));
    }

    [Fact]
    public async Task The_owner_sees_the_e_mail_address_only_when_the_provider_verified_it()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        await using var gateway = await openId.StartGatewayAsync(server, "owner@" + server.Domain);
        var controls = gateway.Services.GetRequiredService<OwnerControlRepository>();

        using var alice = gateway.NewVisitor();
        await SignInAsync(alice, "alice");
        Assert.Equal("alice@example.org", (await controls.FindSummaryAsync(alice.Conversation!, CancellationToken.None))!.Email);

        // Bob's provider gives an address it has not verified: the owner is not told it.
        using var bob = gateway.NewVisitor();
        await SignInAsync(bob, "bob");
        Assert.Null((await controls.FindSummaryAsync(bob.Conversation!, CancellationToken.None))!.Email);
    }

    [Fact]
    public async Task A_missing_forged_or_foreign_state_at_the_callback_issues_no_session()
    {
        await using var gateway = await StartAsync();
        using var visitor = gateway.NewVisitor();
        var callback = await OidcFlow.AuthorizeAsync(visitor, await OidcFlow.StartAsync(visitor), "alice");
        var query = QueryHelpers.ParseQuery(callback.Query);
        var code = query["code"].ToString();
        Assert.NotEmpty(code);

        var withoutState = QueryHelpers.AddQueryString(callback.GetLeftPart(UriPartial.Path), "code", code);
        await AssertRefusedAsync(visitor, withoutState);
        var forged = QueryHelpers.AddQueryString(withoutState, "state", Base64Url(RandomNumberGenerator.GetBytes(200)));
        await AssertRefusedAsync(visitor, forged);

        // The whole callback URL (code and a valid state) replayed from another browser, which has a correlation cookie of its own.
        using var other = gateway.NewVisitor();
        await OidcFlow.StartAsync(other);
        Assert.True(OidcFlow.HasCookie(other, "parley.correlation."));
        await AssertRefusedAsync(other, callback.AbsoluteUri);

        // The provider reporting an error (the user cancelled at its login step) with a genuine state and correlation cookie: no session either.
        using var cancelled = gateway.NewVisitor();
        var cancelledCallback = await OidcFlow.AuthorizeAsync(cancelled, await OidcFlow.StartAsync(cancelled), login: null);
        Assert.Equal("access_denied", QueryHelpers.ParseQuery(cancelledCallback.Query)["error"]);
        await AssertRefusedAsync(cancelled, cancelledCallback.AbsoluteUri);

        // None of that used the code up: the browser that started the flow still completes it.
        using var genuine = await visitor.Http.GetAsync(callback);
        Assert.Equal("/", genuine.Headers.Location!.OriginalString);
        Assert.True((await visitor.RefreshSessionAsync()).GetProperty("signedIn").GetBoolean());
    }

    [Fact]
    public async Task A_wrong_PKCE_verifier_is_refused_by_the_provider_and_issues_no_session()
    {
        await using var gateway = await StartAsync();
        var format = StateFormat(gateway);

        // The code comes back for a challenge; redeeming it with another verifier (re-sealed into the state) must fail.
        using var visitor = gateway.NewVisitor();
        var callback = await OidcFlow.AuthorizeAsync(visitor, await OidcFlow.StartAsync(visitor), "alice");
        var state = QueryHelpers.ParseQuery(callback.Query)["state"].ToString();
        var properties = format.Unprotect(state)!;
        properties.Items[OAuthConstants.CodeVerifierKey] = Base64Url(RandomNumberGenerator.GetBytes(32));
        var before = openId.Provider.Output.Count;
        await AssertRefusedAsync(visitor, WithState(callback, format.Protect(properties)));
        var said = openId.Provider.Output.Skip(before).ToList();
        Assert.True(said.Any(line => line.Contains("invalid_grant", StringComparison.Ordinal) && line.Contains("code_verifier does not match code_challenge", StringComparison.Ordinal)), string.Join(Environment.NewLine, said));

        // Control: the same re-sealing with the verifier left alone signs in, so only the verifier made the difference.
        using var control = gateway.NewVisitor();
        var controlCallback = await OidcFlow.AuthorizeAsync(control, await OidcFlow.StartAsync(control), "alice");
        var resealed = format.Protect(format.Unprotect(QueryHelpers.ParseQuery(controlCallback.Query)["state"])!);
        using var ok = await control.Http.GetAsync(WithState(controlCallback, resealed));
        Assert.Equal("/", ok.Headers.Location!.OriginalString);
        Assert.True((await control.RefreshSessionAsync()).GetProperty("signedIn").GetBoolean());
    }

    [Fact]
    public async Task Display_names_from_the_provider_are_cleaned_and_fall_back_to_the_username()
    {
        await using var gateway = await StartAsync();
        using var mallory = gateway.NewVisitor();
        var name = (await SignInAsync(mallory, "mallory")).GetProperty("name").GetString()!;
        Assert.StartsWith("gnp.exe Mallory the Evil xxx", name, StringComparison.Ordinal);
        Assert.Equal(DisplayNames.MaxLength, name.Length);
        Assert.DoesNotContain(name, c => char.IsControl(c) || c == '\u202E');

        using var nameless = gateway.NewVisitor();
        Assert.Equal("nameless-nick", (await SignInAsync(nameless, "nameless")).GetProperty("name").GetString());
    }

    [Fact]
    public async Task Signing_in_ends_the_browsers_previous_session_and_signing_out_ends_the_new_one()
    {
        await using var gateway = await StartAsync();
        using var visitor = gateway.NewVisitor();
        using (var guest = await visitor.SignInAsGuestAsync("Guest first"))
        {
            guest.EnsureSuccessStatusCode();
        }

        var guestCookie = Cookie(visitor);
        await SignInAsync(visitor, "alice");
        Assert.False(await IsSignedInWithAsync(gateway, guestCookie));

        var aliceCookie = Cookie(visitor);
        Assert.True(await IsSignedInWithAsync(gateway, aliceCookie));
        using var signOut = await visitor.PostAsync("/api/signout", new { });
        Assert.Equal(HttpStatusCode.NoContent, signOut.StatusCode);
        Assert.False(await IsSignedInWithAsync(gateway, aliceCookie));
    }

    [Fact]
    public async Task The_page_lists_the_providers_and_an_unreachable_provider_sends_the_browser_back_with_a_notice()
    {
        var deadPort = LoopbackPorts.Allocate();
        await using var gateway = await StartAsync(
            $"--Parley:Auth:Providers:down:Authority=http://127.0.0.1:{deadPort.ToString(CultureInfo.InvariantCulture)}",
            "--Parley:Auth:Providers:down:ClientId=c",
            "--Parley:Auth:Providers:down:ClientSecret=s",
            "--Parley:Auth:Providers:off:Type=github",
            "--Parley:Auth:Providers:off:Enabled=false");
        using var visitor = gateway.NewVisitor();

        var providers = await visitor.Http.GetFromJsonAsync<JsonElement>("/api/auth/providers");
        Assert.Equal(
            ["down:down:/auth/signin/down", "op:Test OP:/auth/signin/op"],
            providers.EnumerateArray().Select(p => $"{p.GetProperty("name")}:{p.GetProperty("displayName")}:{p.GetProperty("url")}"));

        using var down = await visitor.Http.GetAsync("/auth/signin/down");
        Assert.Equal(HttpStatusCode.Found, down.StatusCode);
        Assert.Equal(ExternalSignIn.UnavailablePath, down.Headers.Location!.OriginalString);
        using var off = await visitor.Http.GetAsync("/auth/signin/off");
        Assert.Equal(HttpStatusCode.NotFound, off.StatusCode);
        using var unknown = await visitor.Http.GetAsync("/auth/signin/nope");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    private async Task<GatewayHost> StartAsync(params string[] extra)
    {
        var server = await servers.GetAsync(Servers.Prosody);
        return await openId.StartGatewayAsync(server, "owner@" + server.Domain, extra);
    }

    private static async Task<JsonElement> SignInAsync(Visitor visitor, string login)
    {
        using var response = await OidcFlow.SignInAsync(visitor, login);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/", response.Headers.Location!.OriginalString);
        var session = await visitor.RefreshSessionAsync();
        Assert.True(session.GetProperty("signedIn").GetBoolean());
        return session;
    }

    private static async Task AssertRefusedAsync(Visitor visitor, string callback)
    {
        using var response = await visitor.Http.GetAsync(callback);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal(ExternalSignIn.FailedPath, response.Headers.Location!.OriginalString);
        Assert.DoesNotContain(response.Headers.TryGetValues("Set-Cookie", out var set) ? set : [], c => c.StartsWith("parley.visitor=", StringComparison.Ordinal));
        Assert.False(OidcFlow.HasCookie(visitor, "parley.visitor"));
        Assert.False((await visitor.RefreshSessionAsync()).GetProperty("signedIn").GetBoolean());
    }

    /// <summary>The authorization request with this state as the provider printed it at its login step.</summary>
    private JsonElement ReceivedAuthorizationRequest(string state)
    {
        const string Prefix = "interaction ";
        foreach (var line in openId.Provider.Output.Where(static l => l.StartsWith(Prefix, StringComparison.Ordinal)))
        {
            var parameters = JsonDocument.Parse(line[Prefix.Length..]).RootElement;
            if (parameters.TryGetProperty("state", out var s) && s.GetString() == state)
            {
                return parameters;
            }
        }

        throw new InvalidOperationException("The provider printed no authorization request with this state.");
    }

    private static Microsoft.AspNetCore.Authentication.ISecureDataFormat<Microsoft.AspNetCore.Authentication.AuthenticationProperties> StateFormat(GatewayHost gateway)
        => gateway.Services.GetRequiredService<IOptionsMonitor<OpenIdConnectOptions>>().Get(ExternalSignIn.SchemeFor("op")).StateDataFormat;

    private static string WithState(Uri callback, string state)
    {
        var query = QueryHelpers.ParseQuery(callback.Query);
        query["state"] = state;
        return QueryHelpers.AddQueryString(callback.GetLeftPart(UriPartial.Path), query);
    }

    private static string Base64Url(byte[] bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);

    private static Cookie Cookie(Visitor visitor) => visitor.Cookies.GetAllCookies().Single(c => c.Name == "parley.visitor");

    private static async Task<bool> IsSignedInWithAsync(GatewayHost gateway, Cookie cookie)
    {
        using var copy = gateway.NewVisitor();
        copy.Cookies.Add(new Cookie(cookie.Name, cookie.Value, "/", gateway.BaseAddress.Host));
        return (await copy.RefreshSessionAsync()).GetProperty("signedIn").GetBoolean();
    }
}
