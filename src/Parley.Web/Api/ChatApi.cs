using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Parley.Web.Auth;
using Parley.Web.Chat;
using Parley.Web.Configuration;
using Parley.Web.Storage;
using Parley.Web.Text;
using Parley.Web.Xmpp;

namespace Parley.Web.Api;

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
        MessageRepository.StateName(message.State),
        message.Seq,
        message.Automatic,
        message.Attachment is { } file ? new FileDto(file.Url, file.Name, file.Size) : null);
}

/// <summary>
/// The sign-in state. <see cref="Closed"/>: the owner blocked this visitor; <see cref="EndedAfter"/>: the last message of
/// the conversation the owner ended (the page starts after it); <see cref="Away"/>: the owner's away message.
/// </summary>
internal sealed record SessionDto(bool SignedIn, string? Name, string? Conversation, bool Guests, string? Csrf)
{
    public bool Closed { get; init; }

    public long EndedAfter { get; init; }

    public string? Away { get; init; }
}

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

        api.MapGet("/session", GetSessionAsync);
        api.MapPost("/guest", SignInGuestAsync).AddEndpointFilter(RequireAntiforgeryAsync).RequireRequestLimit(GuestPolicy);
        api.MapPost("/signout", SignOutAsync).AddEndpointFilter(RequireAntiforgeryAsync).RequireAuthorization();

        var conversation = api.MapGroup("/conversations/{id}").RequireAuthorization().AddEndpointFilter(static async (context, next) =>
        {
            // Only the visitor's own conversation exists for them; anything else is "not found", never "forbidden".
            var id = context.HttpContext.GetRouteValue("id") as string;
            return id is not null && id == context.HttpContext.User.VisitorId()
                ? await next(context)
                : TypedResults.NotFound();
        }).AddEndpointFilter(ConversationControls.RefuseWhenBlockedAsync);
        conversation.MapGet("/messages", GetHistoryAsync);
        conversation.MapPost("/messages", SendAsync).AddEndpointFilter(RequireAntiforgeryAsync).RequireRequestLimit(SendPolicy);
        conversation.MapGet("/events", GetEventsAsync);
        conversation.MapPost("/typing", SendTypingAsync).AddEndpointFilter(RequireAntiforgeryAsync);
        conversation.MapFileApi(routes);
        api.MapPost("/embed", WidgetApi.SignInFromSiteAsync).AddEndpointFilter(RequireAntiforgeryAsync).RequireRequestLimit(GuestPolicy);
        return routes;
    }

    private static async Task<Ok<SessionDto>> GetSessionAsync(
        HttpContext context, IAntiforgery antiforgery, IOptions<GatewayOptions> options, OwnerControlRepository controls, CancellationToken cancellationToken)
    {
        var csrf = antiforgery.GetAndStoreTokens(context).RequestToken;
        var user = context.User;
        if (user.VisitorId() is not { } id)
        {
            return TypedResults.Ok(new SessionDto(false, null, null, options.Value.Guests.Enabled, csrf));
        }

        var standing = await controls.GetStandingAsync(id, cancellationToken);
        return TypedResults.Ok(new SessionDto(true, user.Identity?.Name, id, options.Value.Guests.Enabled, csrf)
        {
            Closed = standing?.Blocked ?? false,
            EndedAfter = standing?.EndedAfter ?? 0,
            Away = await controls.GetSettingAsync(OwnerControlRepository.AwayMessageSetting, cancellationToken),
        });
    }

    private static async Task<Results<Ok<SessionDto>, NotFound, ValidationProblem, ProblemHttpResult>> SignInGuestAsync(
        GuestRequest request, HttpContext context, VisitorSignIn signIn, OwnerControlRepository controls, IOptions<GatewayOptions> options, CancellationToken cancellationToken)
    {
        if (!options.Value.Guests.Enabled)
        {
            return TypedResults.NotFound();
        }

        if (await ConversationControls.IsGuestAddressBlockedAsync(context, controls, cancellationToken))
        {
            return ConversationControls.Closed();
        }

        var name = NormalizeName(request.Name);
        if (name is null)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["name"] = [$"A name of 1 to {MaxNameLength} characters, without control characters."] });
        }

        // A guest is a fresh identity every time: nobody can sign in "as" an earlier guest by choosing the same name.
        var visitor = await signIn.SignInAsync(context, context.User, VisitorIdentity.GuestIssuer, Guid.NewGuid().ToString("N"), name, cancellationToken);
        await ConversationControls.RecordVisitAsync(context, visitor.Id, null, controls, cancellationToken);
        return TypedResults.Ok(new SessionDto(true, visitor.DisplayName, visitor.Id, true, null));
    }

    private static async Task<NoContent> SignOutAsync(HttpContext context, VisitorSignIn signIn, CancellationToken cancellationToken)
    {
        await signIn.EndAsync(context.User, cancellationToken);
        await context.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<HistoryDto>> GetHistoryAsync(
        string id, long? before, int? limit, MessageRepository messages, OwnerControlRepository controls, CancellationToken cancellationToken)
    {
        var take = Math.Clamp(limit ?? 50, 1, 100);
        var endedAfter = (await controls.GetStandingAsync(id, cancellationToken))?.EndedAfter ?? 0;
        var page = await messages.GetHistoryAsync(id, before, take + 1, endedAfter, cancellationToken);
        var hasMore = page.Count > take;
        return TypedResults.Ok(new HistoryDto(page.Skip(hasMore ? 1 : 0).Select(MessageDto.Of).ToList(), hasMore));
    }

    private static async Task<Results<Accepted<MessageDto>, ValidationProblem>> SendAsync(
        string id, SendRequest request, MessageRepository messages, OfflineAutoReply autoReply, IOptions<GatewayOptions> options, CancellationToken cancellationToken)
    {
        var text = request.Text?.Trim();
        if (string.IsNullOrEmpty(text) || text.Length > options.Value.MaxMessageLength || !TextRules.IsXmlSafe(text))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["text"] = [$"Text of 1 to {options.Value.MaxMessageLength} characters."] });
        }

        // Stored first: if the XMPP link is down the message waits in the outbox and the page shows it as pending. The
        // store's change feed wakes the outbox sender.
        var message = await messages.AddVisitorMessageAsync(id, text, cancellationToken);
        await autoReply.ReplyIfDueAsync(id, cancellationToken);
        return TypedResults.Accepted($"/api/conversations/{id}/messages", MessageDto.Of(message));
    }

    private static async Task<Results<NoContent, ValidationProblem>> SendTypingAsync(string id, TypingRequest request, OutboxSender sender, CancellationToken cancellationToken)
    {
        if (request.State is not (ChatStates.Composing or ChatStates.Paused))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["state"] = ["composing or paused."] });
        }

        // Best effort and throttled: the answer is the same whether or not a notification went out.
        await sender.SendChatStateAsync(id, request.State, cancellationToken);
        return TypedResults.NoContent();
    }

    private static async Task<IResult> GetEventsAsync(
        string id, long? after, string? page, HttpContext context, ChatHub hub, MessageRepository messages, OwnerPresence ownerPresence, OwnerChatStates chatStates,
        OwnerControlRepository controls, IOptions<GatewayOptions> options, IHostApplicationLifetime lifetime)
    {
        var standing = await controls.GetStandingAsync(id, context.RequestAborted) ?? new VisitorStanding(false, 0);
        await ConversationControls.RecordVisitAsync(context, id, page, controls, context.RequestAborted);

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

        // Stopping ends every subscription at once (GatewayApp); the flag is set before that runs, so a tab subscribed
        // in between is ended here.
        if (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            subscription.Complete();
        }

        context.Response.RegisterForDispose(subscription);
        return new EventStream(subscription, from, standing, messages, ownerPresence, chatStates);
    }

    /// <summary>
    /// One tab's Server-Sent Events stream, written straight to the response's pipe. It holds only what it needs
    /// between events (the subscription and the services to read from); an idle stream owns no buffer, no timer and no
    /// task of its own (it waits on its subscription), which matters with thousands of tabs open.
    /// </summary>
    internal sealed class EventStream(
        ChatHub.Subscription subscription, long after, VisitorStanding standing, MessageRepository messages, OwnerPresence ownerPresence, OwnerChatStates chatStates) : IResult
    {
        private static readonly byte[] Ping = "event: ping\ndata: {}\n\n"u8.ToArray();

        public async Task ExecuteAsync(HttpContext httpContext)
        {
            var response = httpContext.Response;
            response.ContentType = "text/event-stream";
            response.Headers.CacheControl = "no-cache,no-store";
            response.Headers.Pragma = "no-cache";
            response.Headers.ContentEncoding = "identity";
            response.Headers["X-Accel-Buffering"] = "no";
            httpContext.Features.GetRequiredFeature<IHttpResponseBodyFeature>().DisableBuffering();
            var requestAborted = httpContext.RequestAborted;
            var writer = response.BodyWriter;

            // The stream ends when its subscription does: the hub ends it (sign-out, visitor disconnected, and every
            // tab when the app stops: one registration for all, see GatewayApp), and so does this registration when
            // the request is aborted.
            using var aborted = requestAborted.UnsafeRegister(CompleteSubscription, subscription);
            try
            {
                // A blocked visitor's tab is told once and the stream ends; the page then stops reconnecting.
                if (standing.Blocked)
                {
                    WriteEvent(writer, "closed", "{}", id: null, retry: true);
                    await FlushAsync(writer, requestAborted);
                    return;
                }

                if (standing.EndedAfter > 0)
                {
                    WriteEvent(writer, "conversation", JsonSerializer.Serialize(new { endedAfter = standing.EndedAfter }, Json), id: null, retry: false);
                }

                WriteEvent(writer, "presence", Serialize(ownerPresence.For(subscription.VisitorId)), id: null, retry: true);
                if (!await FlushAsync(writer, requestAborted))
                {
                    return;
                }

                // The request's headers stay in memory for as long as the tab is open. The Cookie header is the largest
                // (the auth and anti-forgery cookies) and a credential; it is not read again once the response has
                // started (authentication and any cookie renewal are done), so it is let go.
                httpContext.Request.Headers.Cookie = StringValues.Empty;

                // Subscribed before reading the store, so nothing committed in between is missed; duplicates are skipped by seq.
                var last = after;
                while (true)
                {
                    var changes = await messages.GetChangesAsync(subscription.VisitorId, last, CatchUpBatch, standing.EndedAfter, requestAborted);
                    foreach (var change in changes)
                    {
                        last = change.Seq;
                        WriteMessage(writer, change);
                    }

                    if (changes.Count > 0 && !await FlushAsync(writer, requestAborted))
                    {
                        return;
                    }

                    if (changes.Count < CatchUpBatch)
                    {
                        break;
                    }
                }

                var typing = ChatStates.Active;
                while (true)
                {
                    // Read before the wait: a change in between wakes the wait at once (the hub wakes on every change).
                    var typingNow = chatStates.For(subscription.VisitorId);
                    if (typingNow != typing)
                    {
                        typing = typingNow;
                        WriteEvent(writer, "typing", JsonSerializer.Serialize(new { owner = typing }, Json), id: null, retry: false);
                        if (!await FlushAsync(writer, requestAborted))
                        {
                            return;
                        }
                    }

                    var wake = await subscription.WaitAsync();
                    var wrote = false;
                    while (subscription.TryRead(out var pushEvent))
                    {
                        if (pushEvent.Message is { } message)
                        {
                            if (message.Seq > last && message.Id > standing.EndedAfter)
                            {
                                last = message.Seq;
                                WriteMessage(writer, message);
                                wrote = true;
                            }
                        }
                        else if (pushEvent.OwnerPresence is { } presence)
                        {
                            WriteEvent(writer, "presence", Serialize(presence), id: null, retry: false);
                            wrote = true;
                        }
                    }

                    if ((wake & Wake.Ended) != 0)
                    {
                        if (wrote)
                        {
                            await FlushAsync(writer, requestAborted);
                        }

                        return;
                    }

                    if ((wake & Wake.KeepAlive) != 0)
                    {
                        writer.Write(Ping);
                        wrote = true;
                    }

                    if (wrote && !await FlushAsync(writer, requestAborted))
                    {
                        return;
                    }
                }
            }
            finally
            {
                subscription.Dispose();
            }
        }

        /// <summary>Sends what was written; <see langword="false"/> when the connection is gone.</summary>
        private static async ValueTask<bool> FlushAsync(PipeWriter writer, CancellationToken requestAborted)
        {
            var result = await writer.FlushAsync(requestAborted);
            return !result.IsCompleted && !result.IsCanceled;
        }

        private static void WriteMessage(PipeWriter writer, ChatMessage message)
            => WriteEvent(writer, "message", JsonSerializer.Serialize(MessageDto.Of(message), Json), message.Seq, retry: false);

        /// <summary>
        /// One event in the text/event-stream format: <c>event</c>, one <c>data</c> line per line of the data, then
        /// <c>id</c> and <c>retry</c> when given, and the blank line that ends it.
        /// </summary>
        internal static void WriteEvent(IBufferWriter<byte> writer, string type, string data, long? id, bool retry)
        {
            WriteAscii(writer, "event: ");
            WriteAscii(writer, type);
            var rest = data.AsSpan();
            while (true)
            {
                var end = rest.IndexOfAny('\r', '\n');
                WriteAscii(writer, "\ndata: ");
                Encoding.UTF8.GetBytes(end < 0 ? rest : rest[..end], writer);
                if (end < 0)
                {
                    break;
                }

                // CR LF, CR and LF all end a line in the format.
                rest = rest[(rest[end] == '\r' && end + 1 < rest.Length && rest[end + 1] == '\n' ? end + 2 : end + 1)..];
            }

            if (id is { } eventId)
            {
                WriteAscii(writer, "\nid: ");
                WriteAscii(writer, eventId.ToString(CultureInfo.InvariantCulture));
            }

            if (retry)
            {
                WriteAscii(writer, "\nretry: ");
                WriteAscii(writer, ((long)ReconnectionInterval.TotalMilliseconds).ToString(CultureInfo.InvariantCulture));
            }

            WriteAscii(writer, "\n\n");
        }

        private static void WriteAscii(IBufferWriter<byte> writer, string text) => Encoding.ASCII.GetBytes(text, writer);
    }

    private static readonly TimeSpan ReconnectionInterval = TimeSpan.FromSeconds(2);

    private static void CompleteSubscription(object? subscription) => ((ChatHub.Subscription)subscription!).Complete();

    private static string Serialize(string presence) => JsonSerializer.Serialize(new { owner = presence }, Json);

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
