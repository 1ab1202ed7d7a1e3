using System.Security.Claims;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Parley.Web.Auth;

namespace Parley.Web.Tests;

/// <summary>The sign-in pieces without a provider: settings validation, user-info formats, display names, the claims of an id_token.</summary>
public sealed class ExternalAuthUnitTests
{
    [Fact]
    public async Task The_app_refuses_to_start_with_invalid_provider_settings()
    {
        await using var app = GatewayApp.Create(
        [
            "--urls=http://127.0.0.1:0",
            "--Parley:Owner=owner@example.org",
            "--Parley:Component:Domain=chat.example.org",
            "--Parley:Component:Secret=s",
            "--Parley:PublicUrl=https://chat.example.org",
            "--Parley:Auth:Providers:corp:Authority=http://idp.example.org",
            "--Parley:Auth:Providers:corp:ClientId=id",
            "--Parley:Auth:Providers:github:ClientSecret=secret",
            "--Parley:Auth:Providers:github:Authority=https://github.example.org",
            "--Parley:Auth:Providers:odd:Type=myspace",
        ]);
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());
        Assert.Contains("Parley:Auth:Providers:corp:Authority must be the issuer's absolute https URL", error.Message, StringComparison.Ordinal);
        Assert.Contains("Parley:Auth:Providers:corp:ClientSecret is required", error.Message, StringComparison.Ordinal);
        Assert.Contains("Parley:Auth:Providers:github:ClientId is required", error.Message, StringComparison.Ordinal);
        Assert.Contains("Parley:Auth:Providers:github:Authority is only for oidc providers", error.Message, StringComparison.Ordinal);
        Assert.Contains("Parley:Auth:Providers:odd:Type must be", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Google", "{ \"sub\": \"1065\", \"name\": \"Ada L\", \"email\": \"ada@example.org\" }", "1065", "Ada L")]
    [InlineData("Microsoft", "{ \"sub\": \"AAAAx-9\", \"preferred_username\": \"ada@contoso.example\" }", "AAAAx-9", "ada@contoso.example")]
    [InlineData("GitHub", "{ \"id\": 583231, \"login\": \"octocat\", \"name\": null }", "583231", "octocat")]
    [InlineData("GitHub", "{ \"id\": 583231, \"login\": \"octocat\", \"name\": \"The Octocat\" }", "583231", "The Octocat")]
    [InlineData("Facebook", "{ \"id\": \"10228\", \"name\": \"Ada Lovelace\" }", "10228", "Ada Lovelace")]
    [InlineData("OpenIdConnect", "{ \"sub\": \"alice\" }", "alice", null)]
    public void User_info_of_each_provider_gives_subject_and_name(string kind, string json, string subject, string? name)
    {
        using var document = JsonDocument.Parse(json);
        var profile = ProviderCatalog.ReadProfile(Enum.Parse<ProviderKind>(kind), document.RootElement);
        Assert.Equal(new ExternalProfile(subject, name), profile);
    }

    [Theory]
    [InlineData("OpenIdConnect", "{ \"email\": \"alice@example.org\", \"name\": \"Alice\" }")]
    [InlineData("OpenIdConnect", "{ \"sub\": 42 }")]
    [InlineData("OpenIdConnect", "{ \"sub\": \"has space\" }")]
    [InlineData("OpenIdConnect", "[]")]
    [InlineData("GitHub", "{ \"login\": \"octocat\" }")]
    [InlineData("GitHub", "{ \"id\": \"583231\" }")]
    [InlineData("Facebook", "{ \"name\": \"No Id\" }")]
    public void User_info_without_a_usable_subject_is_refused(string kind, string json)
    {
        using var document = JsonDocument.Parse(json);
        Assert.Null(ProviderCatalog.ReadProfile(Enum.Parse<ProviderKind>(kind), document.RootElement));
    }

    [Fact]
    public void A_subject_longer_than_255_characters_is_refused()
    {
        using var document = JsonDocument.Parse($"{{ \"sub\": \"{new string('a', 256)}\" }}");
        Assert.Null(ProviderCatalog.ReadProfile(ProviderKind.OpenIdConnect, document.RootElement));
    }

    [Theory]
    [InlineData(null, "Visitor")]
    [InlineData("", "Visitor")]
    [InlineData("\u202E\u200B\u0000 \t", "Visitor")]
    [InlineData("  Ada \n\t Lovelace  ", "Ada Lovelace")]
    [InlineData("Ad\u202Ea\u0007", "Ada")]
    [InlineData("Cafe\u0301", "Caf\u00E9")]
    [InlineData("x\uD800y", "xy")]
    public void Display_names_are_cleaned(string? input, string expected) => Assert.Equal(expected, DisplayNames.Clean(input));

    [Fact]
    public void Long_display_names_are_cut_between_characters()
    {
        var name = new string('a', 63) + "\U0001F600" + "tail";
        var cleaned = DisplayNames.Clean(name);
        Assert.Equal(new string('a', 63), cleaned);
        Assert.Equal(64, DisplayNames.Clean(new string('b', 500)).Length);
    }

    [Fact]
    public void The_claims_of_an_id_token_give_subject_and_name_with_the_same_rules()
    {
        static ClaimsPrincipal Token(params (string Type, string Value)[] claims)
            => new(new ClaimsIdentity(claims.Select(static c => new Claim(c.Type, c.Value)), "oidc"));

        Assert.Equal(new ExternalProfile("alice", "Alice"), ProviderCatalog.ReadProfile(ProviderKind.OpenIdConnect, Token(("sub", "alice"), ("name", "Alice"), ("preferred_username", "al"))));
        Assert.Equal(new ExternalProfile("alice", "al"), ProviderCatalog.ReadProfile(ProviderKind.Google, Token(("sub", "alice"), ("preferred_username", "al"))));
        Assert.Null(ProviderCatalog.ReadProfile(ProviderKind.OpenIdConnect, Token(("name", "No Subject"))));
        Assert.Null(ProviderCatalog.ReadProfile(ProviderKind.OpenIdConnect, Token(("sub", "has space"))));
        Assert.Null(ProviderCatalog.ReadProfile(ProviderKind.OpenIdConnect, Token(("sub", new string('a', 256)))));
    }

    [Theory]
    [InlineData("https://login.example.org", true)]
    [InlineData("https://login.example.org/realms/parley", true)]
    [InlineData("http://127.0.0.1:5010", true)]
    [InlineData("http://login.example.org", false)]
    [InlineData("https://login.example.org/?tenant=x", false)]
    [InlineData("https://user:pw@login.example.org", false)]
    [InlineData("login.example.org", false)]
    public void Only_https_authorities_or_loopback_http_are_accepted(string authority, bool accepted)
        => Assert.Equal(accepted, ProviderCatalog.IsAcceptableAuthority(authority));

    [Fact]
    public void An_https_provider_cannot_send_the_browser_or_the_gateway_to_plain_http()
    {
        var authority = new Uri("https://login.example.org");
        Assert.True(ProviderCatalog.IsAcceptableEndpoint(new Uri("https://login.example.org/token"), authority));
        Assert.False(ProviderCatalog.IsAcceptableEndpoint(new Uri("http://login.example.org/token"), authority));
        Assert.False(ProviderCatalog.IsAcceptableEndpoint(new Uri("http://127.0.0.1/token"), authority));
    }
}
