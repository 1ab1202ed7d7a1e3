using System.Buffers.Text;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.OAuth;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Parley.Web.Configuration;

namespace Parley.Web.Auth;

/// <summary>ASP.NET Core's OAuth options plus what the gateway knows about the provider behind one scheme.</summary>
internal sealed class ExternalOAuthOptions : OAuthOptions
{
    /// <summary>The configured name (<c>Parley:Auth:Providers:&lt;name&gt;</c>).</summary>
    public string ProviderName { get; set; } = "";

    public ProviderKind Kind { get; set; }

    /// <summary>For <see cref="ProviderKind.OpenIdConnect"/>: the issuer whose discovery document names the endpoints.</summary>
    public string Authority { get; set; } = "";

    /// <summary>The fixed endpoints of a known provider; <see langword="null"/> when they are discovered.</summary>
    public ProviderMetadata? KnownMetadata { get; set; }
}

/// <summary>
/// The authorization code flow with PKCE (S256, always) and state for one provider, on top of ASP.NET Core's OAuth handler
/// (correlation cookie, state protection, callback). The endpoints come from the catalog or from discovery, so they are
/// resolved per request here instead of being fixed in the options. The ticket carries issuer, subject and display name.
/// </summary>
internal sealed class ExternalOAuthHandler(
    IOptionsMonitor<ExternalOAuthOptions> options, ILoggerFactory logger, UrlEncoder encoder, OidcDiscovery discovery, OidcSigningKeys signingKeys, TimeProvider time,
    IOptions<GatewayOptions> gateway)
    : OAuthHandler<ExternalOAuthOptions>(options, logger, encoder)
{
    public const string IssuerClaim = "parley:external-iss";
    public const string SubjectClaim = "parley:external-sub";

    private ProviderMetadata? _metadata;

    /// <summary>Sends the browser to the provider; when the provider's metadata cannot be had, back to the page with a notice.</summary>
    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        try
        {
            _metadata = await GetMetadataAsync(Context.RequestAborted);
        }
        catch (ExternalSignInException e)
        {
            AuthLog.ProviderUnavailable(Logger, Options.ProviderName, e.Message);
            Response.Redirect(ExternalSignIn.UnavailablePath);
            return;
        }

        await base.HandleChallengeAsync(properties);
    }

    /// <summary>
    /// The callback address (<c>redirect_uri</c>, in the authorization request and again when the code is redeemed) on the
    /// configured public address. The base class passes one built from the request's scheme and <c>Host</c>; it is not used.
    /// </summary>
    private string RedirectUri => gateway.Value.PublicLink(Options.CallbackPath);

    /// <summary>The authorization request: code flow, the PKCE challenge (its verifier travels inside the protected state), the state.</summary>
    protected override string BuildChallengeUrl(AuthenticationProperties properties, string redirectUri)
    {
        var metadata = _metadata ?? throw new InvalidOperationException("The challenge URL is built only after the metadata was resolved.");
        var verifier = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        properties.Items[OAuthConstants.CodeVerifierKey] = verifier;
        var parameters = new Dictionary<string, string?>
        {
            ["client_id"] = Options.ClientId,
            ["scope"] = FormatScope(Options.Scope),
            ["response_type"] = "code",
            ["redirect_uri"] = RedirectUri,
            [OAuthConstants.CodeChallengeKey] = Base64Url.EncodeToString(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))),
            [OAuthConstants.CodeChallengeMethodKey] = OAuthConstants.CodeChallengeMethodS256,
        };
        parameters["state"] = Options.StateDataFormat.Protect(properties);
        return QueryHelpers.AddQueryString(metadata.AuthorizationEndpoint.AbsoluteUri, parameters);
    }

    /// <summary>Redeems the code at the token endpoint with the client credentials and the PKCE verifier from the state.</summary>
    protected override async Task<OAuthTokenResponse> ExchangeCodeAsync(OAuthCodeExchangeContext context)
    {
        try
        {
            var metadata = await GetMetadataAsync(Context.RequestAborted);
            if (!context.Properties.Items.Remove(OAuthConstants.CodeVerifierKey, out var verifier) || string.IsNullOrEmpty(verifier))
            {
                throw new ExternalSignInException("The state carries no PKCE verifier.");
            }

            using var request = new HttpRequestMessage(HttpMethod.Post, metadata.TokenEndpoint)
            {
                Content = new FormUrlEncodedContent(new Dictionary<string, string>
                {
                    ["grant_type"] = "authorization_code",
                    ["code"] = context.Code,
                    ["redirect_uri"] = RedirectUri,
                    ["client_id"] = Options.ClientId,
                    ["client_secret"] = Options.ClientSecret,
                    [OAuthConstants.CodeVerifierKey] = verifier,
                }),
            };
            var (document, status) = await BackchannelJson.SendAsync(Backchannel, request, Context.RequestAborted);

            // Some providers (GitHub) answer errors with 200 and an "error" member.
            if (status != HttpStatusCode.OK || document.RootElement.ValueKind != JsonValueKind.Object || document.RootElement.TryGetProperty("error", out _))
            {
                var error = document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("error", out var e) ? e.ToString() : "";
                document.Dispose();
                throw new ExternalSignInException($"The token endpoint refused the code ({(int)status} {error}).");
            }

            return OAuthTokenResponse.Success(document);
        }
        catch (ExternalSignInException e)
        {
            return OAuthTokenResponse.Failed(e);
        }
    }

    /// <summary>Asks the user-info endpoint who signed in and puts issuer, subject and the cleaned display name on the identity.</summary>
    /// <exception cref="ExternalSignInException">User info failed or names no subject; the id_token does not match.</exception>
    protected override async Task<AuthenticationTicket> CreateTicketAsync(ClaimsIdentity identity, AuthenticationProperties properties, OAuthTokenResponse tokens)
    {
        var metadata = await GetMetadataAsync(Context.RequestAborted);
        using var request = new HttpRequestMessage(HttpMethod.Get, metadata.UserInfoEndpoint);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tokens.AccessToken);
        var (document, status) = await BackchannelJson.SendAsync(Backchannel, request, Context.RequestAborted);
        using (document)
        {
            if (status != HttpStatusCode.OK)
            {
                throw new ExternalSignInException($"The user-info endpoint answered {(int)status}.");
            }

            var profile = ProviderCatalog.ReadProfile(Options.Kind, document.RootElement)
                ?? throw new ExternalSignInException("The user-info answer names no usable subject.");
            if (metadata.ValidateIdToken)
            {
                var idToken = tokens.Response?.RootElement.TryGetProperty("id_token", out var token) == true && token.ValueKind == JsonValueKind.String ? token.GetString() : null;
                IdTokenCheck.Verify(idToken, metadata.Issuer, Options.ClientId, profile.Subject, time.GetUtcNow());
                if (idToken is not null && metadata.JwksUri is { } jwksUri)
                {
                    await signingKeys.VerifyAsync(idToken, jwksUri, Backchannel, Context.RequestAborted);
                }
            }

            identity.AddClaim(new Claim(IssuerClaim, metadata.Issuer));
            identity.AddClaim(new Claim(SubjectClaim, profile.Subject));
            identity.AddClaim(new Claim(ClaimTypes.Name, DisplayNames.Clean(profile.Name)));
        }

        return await base.CreateTicketAsync(identity, properties, tokens);
    }

    private async Task<ProviderMetadata> GetMetadataAsync(CancellationToken cancellationToken)
        => _metadata ??= Options.KnownMetadata ?? await discovery.GetAsync(Options.Authority, Backchannel, cancellationToken);
}
