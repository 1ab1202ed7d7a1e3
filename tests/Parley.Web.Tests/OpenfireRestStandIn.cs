using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Parley.Testing;
using Parley.Xmpp;
using Parley.Xmpp.Accounts;
using Parley.Xmpp.Core;

namespace Parley.Web.Tests;

/// <summary>
/// The user endpoints of Openfire's REST API plugin (<c>/plugins/restapi/v1/users</c>), as its readme and its
/// <c>UserServiceController</c> define them, in front of a real XMPP server: a created user becomes a real account on the
/// test's Prosody or ejabberd (XEP-0133 as the server's administrator), so the gateway's visitor really logs in with it.
/// Openfire itself is not packaged for Debian and cannot be installed here; this checks the gateway's side of the
/// contract (paths, methods, JSON fields, the secret or HTTP Basic header, 201 / 409 / 400 / 401 answers), not Openfire.
/// </summary>
internal sealed class OpenfireRestStandIn : IAsyncDisposable
{
    public const string Secret = "FQaCIpmRNBq4CfF8 with a space";

    private readonly WebApplication _app;
    private readonly XmppClient _admin;

    private OpenfireRestStandIn(WebApplication app, XmppClient admin, Uri baseUrl)
    {
        _app = app;
        _admin = admin;
        BaseUrl = baseUrl;
    }

    /// <summary>What the gateway configures as <c>Parley:Accounts:RestApiUrl</c>.</summary>
    public Uri BaseUrl { get; }

    /// <summary>Every request: method, path, Authorization header, JSON body.</summary>
    public ConcurrentQueue<(string Method, string Path, string? Authorization, JsonElement Body)> Requests { get; } = new();

    /// <summary>Answer a taken user name as plugin versions before 1.2 do: 400 with the exception's name, instead of 409.</summary>
    public bool LegacyConflictStatus { get; set; }

    /// <summary>The Basic credentials accepted besides the secret (the server's administrator, as in Openfire).</summary>
    public string? BasicCredentials { get; set; }

    public static async Task<OpenfireRestStandIn> StartAsync(XmppTestServer server)
    {
        var admin = new XmppClient(server.ClientOptions(new TestAccount(Jid.Parse(server.AdminJid).Local!, server.Domain, server.AdminPassword), "openfire-rest"));
        await admin.ConnectAsync();

        OpenfireRestStandIn? standIn = null;
        var (app, address) = await LoopbackWebApp.StartAsync(app =>
        {
            app.MapPost("/plugins/restapi/v1/users", (Func<HttpContext, Task<IResult>>)(context => standIn!.CreateAsync(context, server.Domain)));
            app.MapPut("/plugins/restapi/v1/users/{username}", (HttpContext context, string username) => standIn!.UpdateAsync(context, server.Domain, username));
        });
        standIn = new OpenfireRestStandIn(app, admin, new Uri(address, "/plugins/restapi/v1/"));
        return standIn;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        await _admin.DisposeAsync();
    }

    private async Task<IResult> CreateAsync(HttpContext context, string domain)
    {
        if (await ReadAsync(context) is not { } user)
        {
            return Error(StatusCodes.Status401Unauthorized, "NotAuthorizedException", "Not authorized");
        }

        try
        {
            await new ServiceAdministration(_admin).AddUserAsync(Jid.Create(user.GetProperty("username").GetString()!, domain), user.GetProperty("password").GetString()!, context.RequestAborted);
            return Results.StatusCode(StatusCodes.Status201Created);
        }
        catch (XmppAccountException e) when (e.Reason == AccountErrorReason.UsernameTaken)
        {
            return Error(LegacyConflictStatus ? StatusCodes.Status400BadRequest : StatusCodes.Status409Conflict, "UserAlreadyExistsException", "Could not create new user");
        }
    }

    private async Task<IResult> UpdateAsync(HttpContext context, string domain, string username)
    {
        if (await ReadAsync(context) is not { } user)
        {
            return Error(StatusCodes.Status401Unauthorized, "NotAuthorizedException", "Not authorized");
        }

        await new ServiceAdministration(_admin).ChangeUserPasswordAsync(Jid.Create(username, domain), user.GetProperty("password").GetString()!, context.RequestAborted);
        return Results.Ok();
    }

    /// <summary>Records the request; the body when the Authorization header is the secret or the accepted Basic credentials.</summary>
    private async Task<JsonElement?> ReadAsync(HttpContext context)
    {
        var authorization = context.Request.Headers.Authorization.ToString();
        var body = context.Request.ContentType?.StartsWith("application/json", StringComparison.Ordinal) == true
            ? (await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted)).RootElement.Clone()
            : default;
        Requests.Enqueue((context.Request.Method, context.Request.Path.Value!, authorization, body));
        var basic = BasicCredentials is null ? null : "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(BasicCredentials));
        return authorization == Secret || (basic is not null && authorization == basic) ? body : null;
    }

    private static IResult Error(int status, string exception, string message)
        => Results.Json(new Dictionary<string, string> { ["resource"] = "users", ["message"] = message, ["exception"] = exception }, statusCode: status);
}
