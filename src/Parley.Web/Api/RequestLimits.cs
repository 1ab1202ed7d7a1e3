using System.Globalization;
using Microsoft.Extensions.Options;
using Parley.Web.Auth;
using Parley.Web.Configuration;
using Parley.Web.Storage;

namespace Parley.Web.Api;

/// <summary>Endpoint metadata: each request to the endpoint counts against the named policy of <see cref="RequestLimits"/>.</summary>
internal sealed record RequestLimitPolicy(string Name);

/// <summary>
/// The per-minute limits: guest and site sign-ins per client address (<see cref="ChatApi.GuestPolicy"/>,
/// <c>Guests:PerMinute</c>), and messages and files per visitor (<see cref="ChatApi.SendPolicy"/>,
/// <c>MessagesPerMinute</c>). They are counted in the store (<see cref="LimitRepository"/>), so gateways sharing a
/// database share the counts: the configured number holds for all of them together. The check runs as middleware
/// after authentication, before the endpoint reads the request's body; a request over the limit is answered 429 with
/// <c>Retry-After</c>, and a store that does not answer makes it 503 like any other request that needs the store.
/// </summary>
internal static class RequestLimits
{
    /// <summary>The window each count covers.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    /// <summary>Counts each request to the endpoint against <paramref name="policy"/> (<see cref="ChatApi.GuestPolicy"/> or <see cref="ChatApi.SendPolicy"/>).</summary>
    public static TBuilder RequireRequestLimit<TBuilder>(this TBuilder builder, string policy)
        where TBuilder : IEndpointConventionBuilder
        => builder.WithMetadata(new RequestLimitPolicy(policy));

    /// <summary>Adds the middleware that enforces the limits of the endpoints marked with <see cref="RequireRequestLimit"/>.</summary>
    public static IApplicationBuilder UseRequestLimits(this IApplicationBuilder app) => app.Use(LimitAsync);

    private static async Task LimitAsync(HttpContext context, RequestDelegate next)
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<RequestLimitPolicy>() is not { } policy)
        {
            await next(context);
            return;
        }

        var services = context.RequestServices;
        var options = services.GetRequiredService<IOptions<GatewayOptions>>().Value;
        var (counter, limit) = policy.Name switch
        {
            ChatApi.GuestPolicy => (ChatApi.GuestPolicy + ":" + context.Connection.RemoteIpAddress, options.Guests.PerMinute),
            ChatApi.SendPolicy => (ChatApi.SendPolicy + ":" + context.User.VisitorId(), options.MessagesPerMinute),
            _ => throw new InvalidOperationException($"An endpoint names the request limit '{policy.Name}', which does not exist."),
        };

        var count = await services.GetRequiredService<LimitRepository>().CountAsync(counter, limit, Window, context.RequestAborted);
        if (count.Allowed)
        {
            await next(context);
            return;
        }

        var wait = count.WindowEnds - services.GetRequiredService<TimeProvider>().GetUtcNow();
        context.Response.Headers.RetryAfter = Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        await Results.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Too many requests; wait a moment.").ExecuteAsync(context);
    }
}
