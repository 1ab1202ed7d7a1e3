using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Parley.Xmpp.Accounts;

namespace Parley.Web.Xmpp;

/// <summary>
/// Creates visitors' accounts through Openfire's REST API plugin (<c>/plugins/restapi/v1/users</c>): <c>POST users</c> with
/// user name, password and display name; when the name is taken (an account this gateway made before and lost track of),
/// <c>PUT users/{name}</c> sets the password. Authenticates with the plugin's shared secret (<c>Authorization: secret</c>) or,
/// without one, as an Openfire administrator (HTTP Basic), the plugin's two modes.
/// </summary>
internal sealed class OpenfireUserApi : IDisposable
{
    private const int MaxErrorBody = 16 * 1024;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    private readonly HttpClient _http;
    private readonly Uri _users;
    private readonly string _authorization;

    /// <param name="baseUrl">The plugin's base URL, e.g. <c>http://127.0.0.1:9090/plugins/restapi/v1/</c>.</param>
    /// <param name="secret">The shared secret key; empty: <paramref name="adminUser"/> and <paramref name="adminPassword"/> as HTTP Basic.</param>
    /// <param name="adminUser">An Openfire administrator's user name (without a secret).</param>
    /// <param name="adminPassword">Its password.</param>
    /// <param name="handler">The HTTP handler; <see langword="null"/>: a pooled one owned by this instance.</param>
    public OpenfireUserApi(Uri baseUrl, string secret, string adminUser, string adminPassword, HttpMessageHandler? handler = null)
    {
        _users = new Uri(baseUrl.AbsoluteUri.EndsWith('/') ? baseUrl : new Uri(baseUrl.AbsoluteUri + "/"), "users");
        _authorization = secret.Length > 0 ? secret : "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(adminUser + ":" + adminPassword));
        _http = handler is null
            ? new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5), AllowAutoRedirect = false }) { Timeout = RequestTimeout }
            : new HttpClient(handler, disposeHandler: false) { Timeout = RequestTimeout };
    }

    /// <summary>Where the requests go (for logs).</summary>
    public Uri UsersEndpoint => _users;

    /// <summary>Whether <paramref name="url"/> may carry the secret: https, or http to this machine only.</summary>
    public static bool IsAcceptableBaseUrl(string url)
        => Uri.TryCreate(url, UriKind.Absolute, out var uri)
            && uri.Query.Length == 0 && uri.Fragment.Length == 0 && uri.UserInfo.Length == 0
            && (uri.Scheme == Uri.UriSchemeHttps || (uri.Scheme == Uri.UriSchemeHttp && uri.IsLoopback));

    /// <summary>Makes the account <paramref name="username"/> with <paramref name="password"/>, or sets that password when it exists.</summary>
    /// <exception cref="XmppAccountException">Openfire refused (reason <see cref="AccountErrorReason.Forbidden"/> for wrong credentials,
    /// <see cref="AccountErrorReason.NotSupported"/> when the plugin is not there), or could not be reached.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task CreateOrSetPasswordAsync(string username, string password, string displayName, CancellationToken cancellationToken)
    {
        var user = new UserEntity(username, password, displayName);
        using (var created = await SendAsync(HttpMethod.Post, _users, user, cancellationToken).ConfigureAwait(false))
        {
            if (created.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK)
            {
                return;
            }

            // 409 since plugin 1.2; older versions answer 400 with the exception's name in the body.
            var body = await ReadErrorAsync(created, cancellationToken).ConfigureAwait(false);
            if (created.StatusCode != HttpStatusCode.Conflict && !(created.StatusCode == HttpStatusCode.BadRequest && body.Contains("UserAlreadyExistsException", StringComparison.Ordinal)))
            {
                throw Refused("create", username, created.StatusCode, body);
            }
        }

        using var updated = await SendAsync(HttpMethod.Put, new Uri(_users.AbsoluteUri + "/" + Uri.EscapeDataString(username)), user, cancellationToken).ConfigureAwait(false);
        if (updated.StatusCode is not (HttpStatusCode.OK or HttpStatusCode.NoContent))
        {
            throw Refused("update", username, updated.StatusCode, await ReadErrorAsync(updated, cancellationToken).ConfigureAwait(false));
        }
    }

    public void Dispose() => _http.Dispose();

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, Uri uri, UserEntity user, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, uri) { Content = JsonContent.Create(user, OpenfireJson.Default.UserEntity) };
        request.Headers.TryAddWithoutValidation("Authorization", _authorization); // the plugin's secret is the whole header value, not a scheme
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        try
        {
            return await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new XmppAccountException(AccountErrorReason.Failed, $"Openfire's REST API at {uri.GetLeftPart(UriPartial.Authority)} could not be reached: {e.Message}", innerException: e);
        }
        catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new XmppAccountException(AccountErrorReason.Failed, $"Openfire's REST API at {uri.GetLeftPart(UriPartial.Authority)} did not answer within {RequestTimeout.TotalSeconds:0} s.", innerException: e);
        }
    }

    /// <summary>The start of an error answer, as text, for the exception message.</summary>
    private static async Task<string> ReadErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var buffer = new byte[MaxErrorBody];
        var length = 0;
        int read;
        while (length < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false)) > 0)
        {
            length += read;
        }

        return Encoding.UTF8.GetString(buffer, 0, length);
    }

    private static XmppAccountException Refused(string operation, string username, HttpStatusCode status, string body)
    {
        var reason = status switch
        {
            HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => AccountErrorReason.Forbidden,
            HttpStatusCode.NotFound => AccountErrorReason.NotSupported,
            HttpStatusCode.BadRequest => AccountErrorReason.InvalidFields,
            _ => AccountErrorReason.Failed,
        };
        var detail = ErrorMessage(body);
        var hint = reason switch
        {
            AccountErrorReason.Forbidden => " (check Parley:Accounts:RestApiSecret, or the administrator account for HTTP Basic)",
            AccountErrorReason.NotSupported => " (is the REST API plugin installed and enabled, and Parley:Accounts:RestApiUrl its /plugins/restapi/v1/ address?)",
            _ => "",
        };
        return new XmppAccountException(reason, $"Openfire's REST API refused to {operation} user '{username}': {(int)status} {status}{(detail.Length > 0 ? ": " + detail : "")}{hint}.");
    }

    /// <summary>The plugin's error entity (<c>{"exception": …, "message": …}</c>) as one line; other bodies are not repeated.</summary>
    private static string ErrorMessage(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 8 });
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return "";
            }

            static string? Text(JsonElement root, string name) => root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
            var text = string.Join(" - ", new[] { Text(root, "exception"), Text(root, "message") }.Where(s => !string.IsNullOrEmpty(s)));
            return text.Length > 300 ? text[..300] : text;
        }
        catch (JsonException)
        {
            return "";
        }
    }

    internal sealed record UserEntity(
        [property: JsonPropertyName("username")] string Username,
        [property: JsonPropertyName("password")] string Password,
        [property: JsonPropertyName("name")] string Name);
}

[JsonSerializable(typeof(OpenfireUserApi.UserEntity))]
internal sealed partial class OpenfireJson : JsonSerializerContext;
