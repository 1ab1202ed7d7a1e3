using Microsoft.AspNetCore.Authentication;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Parley.Web.Chat;
using Parley.Web.Storage;
using Parley.Web.Xmpp;

namespace Parley.Web.Api;

/// <summary>What the page sees of a message.</summary>
/// <summary>A file as the page shows it: a download link with the name as text.</summary>
internal sealed record FileDto(string Url, string Name, long? Size);

/// <summary>What the page sees of a message; <see cref="Auto"/> marks the gateway's automatic reply (shown as such, never as the owner typing it).</summary>
internal sealed record MessageDto(long Id, string From, string Text, DateTimeOffset Time, string State, long Seq, bool Auto, FileDto? File)
{
    public static MessageDto Of(ChatMessage message) => new(
        message.Id,
        message.Direction == Direction.Owner ? "owner" : "visitor",
        message.Text,
        message.Timestamp,
        ChatStore.StateName(message.State),
        message.Seq,
        OfflineAutoReply.IsAutomatic(message),
        message.Attachment is { } file ? new FileDto(file.Url, file.Name, file.Size) : null);
}

internal sealed record SessionDto(bool SignedIn, string? Name, string? Conversation, bool Guests, string? Csrf);

internal sealed record HistoryDto(IReadOnlyList<MessageDto> Messages, bool HasMore);

internal sealed record GuestRequest(string? Name);

internal sealed record SendRequest(string? Text);

internal sealed record TypingRequest(string? State);

/// <summary>
/// The chat's HTTP API. Every conversation route names the conversation (the visitor id) and is answered only for
/// that visitor's own cookie (404 for anyone else); every state-changing request needs the anti-forgery header.
/// </summary>
internal static class ChatApi
{
    public const string GuestPolicy = "guest";
    public const string SendPolicy = "send";
    internal const int MaxNameLength = 64;
    private const int CatchUpBatch = 500;
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static IEndpointRouteBuilder MapChatApi(this IEndpointRouteBuilder routes)
    {
        var api = routes.MapGroup("/api");
        api.AddEndpointFilter(static async (context, next) =>
        {
            // Exactly what anti-forgery sets when it issues tokens (GET /api/session): any other value there makes it
            // replace ours and log a warning on every such request.
            var headers = context.HttpContext.Response.Headers;
            headers.CacheControl = "no-cache, no-store";
            headers.Pragma = "no-cache";
            return await next(context);
        });

        api.MapGet("/session", GetSession);
        api.MapPost("/guest", SignInGuestAsync).AddEndpointFilter(RequireAntiforgeryAsync).RequireRateLimiting(GuestPolicy);
        api.MapPost("/signout", SignOutAsync).AddEndpointFilter(RequireAntiforgeryAsync).RequireAuthorization();

        var conversation = api.MapGroup("/conversations/{id}").RequireAuthorization().AddEndpointFilter(static async (context, next) =>
        {
            // Only the visitor's own conversation exists for them; anything else is "not found", never "forbidden".
            var id = context.HttpContext.GetRouteValue("id") as string;
            return id is not null && id == context.HttpContext.User.VisitorId()
                ? await next(context)
                : TypedResults.NotFound();
        });
        conversation.MapGet("/messages", GetHistoryAsync);
        conversation.MapPost("/messages", SendAsync).AddEndpointFilter(RequireAntiforgeryAsync).RequireRateLimiting(SendPolicy);
        conversation.MapGet("/events", GetEvents);
        conversation.MapPost("/typing", SendTypingAsync).AddEndpointFilter(RequireAntiforgeryAsync);
        conversation.MapFileApi(routes);
        api.MapPost("/embed", WidgetApi.SignInFromSiteAsync).AddEndpointFilter(RequireAntiforgeryAsync).RequireRateLimiting(GuestPolicy);
        return routes;
    }

    private static Ok<SessionDto> GetSession(HttpContext context, IAntiforgery antiforgery, IOptions<GatewayOptions> options)
    {
        var csrf = antiforgery.GetAndStoreTokens(context).RequestToken;
        var user = context.User;
        return TypedResults.Ok(user.VisitorId() is { } id
            ? new SessionDto(true, user.Identity?.Name, id, options.Value.Guests.Enabled, csrf)
            : new SessionDto(false, null, null, options.Value.Guests.Enabled, csrf));
    }

    private static async Task<Results<Ok<SessionDto>, NotFound, ValidationProblem>> SignInGuestAsync(
        GuestRequest request, HttpContext context, ChatStore store, ChatHub hub, IOptions<GatewayOptions> options, CancellationToken cancellationToken)
    {
        if (!options.Value.Guests.Enabled)
        {
            return TypedResults.NotFound();
        }

        var name = NormalizeName(request.Name);
        if (name is null)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["name"] = [$"A name of 1 to {MaxNameLength} characters, without control characters."] });
        }

        await EndCurrentSessionAsync(context, store, hub, cancellationToken);

        // A guest is a fresh identity every time: nobody can sign in "as" an earlier guest by choosing the same name.
        var visitor = await store.GetOrCreateVisitorAsync(VisitorIdentity.GuestIssuer, Guid.NewGuid().ToString("N"), name, cancellationToken);
        var session = await store.CreateSessionAsync(visitor.Id, cancellationToken);
        await context.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, VisitorIdentity.Create(visitor, session), new AuthenticationProperties { IsPersistent = true });
        return TypedResults.Ok(new SessionDto(true, visitor.DisplayName, visitor.Id, true, null));
    }

    private static async Task<NoContent> SignOutAsync(HttpContext context, ChatStore store, ChatHub hub, CancellationToken cancellationToken)
    {
        await EndCurrentSessionAsync(context, store, hub, cancellationToken);
        await context.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<HistoryDto>> GetHistoryAsync(string id, long? before, int? limit, ChatStore store, CancellationToken cancellationToken)
    {
        var take = Math.Clamp(limit ?? 50, 1, 100);
        var page = await store.GetHistoryAsync(id, before, take + 1, cancellationToken);
        var hasMore = page.Count > take;
        var messages = page.Skip(hasMore ? 1 : 0).Select(MessageDto.Of).ToList();
        return TypedResults.Ok(new HistoryDto(messages, hasMore));
    }

    private static async Task<Results<Accepted<MessageDto>, ValidationProblem>> SendAsync(
        string id, SendRequest request, ChatStore store, VisitorGateway gateway, OfflineAutoReply autoReply, IOptions<GatewayOptions> options, CancellationToken cancellationToken)
    {
        var text = request.Text?.Trim();
        if (string.IsNullOrEmpty(text) || text.Length > options.Value.MaxMessageLength || !TextRules.IsXmlSafe(text))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["text"] = [$"Text of 1 to {options.Value.MaxMessageLength} characters."] });
        }

        // Stored first: if the XMPP link is down the message waits in the outbox and the page shows it as pending.
        var message = await store.AddVisitorMessageAsync(id, text, cancellationToken);
        gateway.Wake();
        await autoReply.ReplyIfDueAsync(id, cancellationToken);
        return TypedResults.Accepted($"/api/conversations/{id}/messages", MessageDto.Of(message));
    }

    private static async Task<Results<NoContent, ValidationProblem>> SendTypingAsync(string id, TypingRequest request, VisitorGateway gateway, CancellationToken cancellationToken)
    {
        if (request.State is not (ChatStates.Composing or ChatStates.Paused))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["state"] = ["composing or paused."] });
        }

        // Best effort and throttled: the answer is the same whether or not a notification went out.
        await gateway.SendVisitorChatStateAsync(id, request.State, cancellationToken);
        return TypedResults.NoContent();
    }

    private static IResult GetEvents(
        string id, long? after, HttpContext context, ChatHub hub, ChatStore store, OwnerPresence ownerPresence, VisitorGateway gateway, StreamKeepAlive keepAlive,
        IOptions<GatewayOptions> options, IHostApplicationLifetime lifetime)
    {
        // EventSource sends the id of the last event it saw when it reconnects; that wins over the query.
        var from = after ?? 0;
        if (long.TryParse(context.Request.Headers["Last-Event-ID"], out var lastEventId) && lastEventId > from)
        {
            from = lastEventId;
        }

        var sessionId = context.User.SessionId()!;
        var subscription = hub.Subscribe(id, sessionId, options.Value.MaxStreamsPerVisitor);
        if (subscription is null)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Too many open tabs.");
        }

        context.Response.RegisterForDispose(subscription);
        context.Response.Headers["X-Accel-Buffering"] = "no";
        return TypedResults.ServerSentEvents(StreamAsync(subscription, from, store, ownerPresence, gateway.OwnerChatStates, keepAlive, context.RequestAborted, lifetime.ApplicationStopping));
    }

    private static async IAsyncEnumerable<SseItem<string>> StreamAsync(
        ChatHub.Subscription subscription, long after, ChatStore store, OwnerPresence ownerPresence, OwnerChatStates chatStates, StreamKeepAlive keepAlive,
        CancellationToken requestAborted, CancellationToken stopping, [EnumeratorCancellation] CancellationToken enumeration = default)
    {
        // The stream ends when its channel completes: the hub completes it (sign-out, visitor disconnected), and so do
        // these registrations when the request is aborted or the app stops. That is one callback per token and no
        // linked cancellation source, and the channel wait below needs no token at all.
        using var aborted = requestAborted.UnsafeRegister(CompleteSubscription, subscription);
        using var stopped = stopping.UnsafeRegister(CompleteSubscription, subscription);
        using var enumerationEnded = enumeration != requestAborted ? enumeration.UnsafeRegister(CompleteSubscription, subscription) : default;
        try
        {
            yield return new SseItem<string>(Serialize(ownerPresence.For(subscription.VisitorId)), "presence") { ReconnectionInterval = TimeSpan.FromSeconds(2) };

            // Subscribed before reading the store, so nothing committed in between is missed; duplicates are skipped by seq.
            var last = after;
            while (true)
            {
                var changes = await store.GetChangesAsync(subscription.VisitorId, last, CatchUpBatch, requestAborted);
                foreach (var change in changes)
                {
                    last = change.Seq;
                    yield return MessageItem(change);
                }

                if (changes.Count < CatchUpBatch)
                {
                    break;
                }
            }

            var typing = ChatStates.Active;
            var keepAliveSlot = keepAlive.AssignSlot();

            // One read of the channel is outstanding at a time; a wake by typing or keep-alive leaves it waiting for the
            // next round. It ends with the channel (see above), so a wait costs no timer or cancellation source.
            Task<bool>? read = null;
            while (true)
            {
                // Taken before the state is read, so a change in between wakes the wait below at once.
                var typingChanged = chatStates.Changed;
                var typingNow = chatStates.For(subscription.VisitorId);
                if (typingNow != typing)
                {
                    typing = typingNow;
                    yield return new SseItem<string>(JsonSerializer.Serialize(new { owner = typing }, Json), "typing");
                }

                read ??= subscription.Reader.WaitToReadAsync(CancellationToken.None).AsTask();
                var tick = keepAlive.Next(keepAliveSlot);
                var first = await Task.WhenAny(read, typingChanged, tick);
                if (first == tick)
                {
                    yield return new SseItem<string>("{}", "ping");
                    continue;
                }

                if (first != read)
                {
                    continue;
                }

                var more = await read;
                read = null;
                if (!more)
                {
                    yield break;
                }

                while (subscription.Reader.TryRead(out var pushEvent))
                {
                    if (pushEvent.Message is { } message)
                    {
                        if (message.Seq > last)
                        {
                            last = message.Seq;
                            yield return MessageItem(message);
                        }
                    }
                    else if (pushEvent.OwnerPresence is { } presence)
                    {
                        yield return new SseItem<string>(Serialize(presence), "presence");
                    }
                }
            }
        }
        finally
        {
            subscription.Dispose();
        }
    }

    private static void CompleteSubscription(object? subscription) => ((ChatHub.Subscription)subscription!).Complete();

    private static SseItem<string> MessageItem(ChatMessage message)
        => new(JsonSerializer.Serialize(MessageDto.Of(message), Json), "message") { EventId = message.Seq.ToString(System.Globalization.CultureInfo.InvariantCulture) };

    private static string Serialize(string presence) => JsonSerializer.Serialize(new { owner = presence }, Json);

    internal static async Task EndCurrentSessionAsync(HttpContext context, ChatStore store, ChatHub hub, CancellationToken cancellationToken)
    {
        if (context.User.SessionId() is { } session)
        {
            await store.EndSessionAsync(session, cancellationToken);
            hub.EndSession(session);
        }
    }

    internal static async ValueTask<object?> RequireAntiforgeryAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var antiforgery = context.HttpContext.RequestServices.GetRequiredService<IAntiforgery>();
        return await antiforgery.IsRequestValidAsync(context.HttpContext)
            ? await next(context)
            : TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Missing or invalid anti-forgery token; reload the page.");
    }

    internal static string? NormalizeName(string? name)
    {
        if (name is null)
        {
            return null;
        }

        var builder = new StringBuilder(name.Length);
        foreach (var part in name.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
        {
            builder.Append(builder.Length == 0 ? "" : " ").Append(part);
        }

        var normalized = builder.ToString().Normalize(NormalizationForm.FormC);
        return normalized.Length is >= 1 and <= MaxNameLength && TextRules.IsXmlSafe(normalized) && !normalized.Any(char.IsControl)
            ? normalized
            : null;
    }
}
