using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Parley.Web.Auth;
using Parley.Web.Chat;
using Parley.Web.Configuration;
using Parley.Web.Storage;
using Parley.Web.Text;
using Parley.Web.Xmpp;

namespace Parley.Web.Api;

/// <summary>A file as the page shows it: a download link with the name as text.</summary>
internal sealed record FileDto(string Url, string Name, long? Size);

/// <summary>
/// What the page sees of a message; <see cref="Auto"/> marks the gateway's automatic reply (shown as such, never as the
/// owner typing it); <see cref="ClientId"/> is the id the page gave a visitor's message, so a tab can match it to its own
/// unconfirmed copy.
/// </summary>
internal sealed record MessageDto(long Id, string From, string Text, DateTimeOffset Time, string State, long Seq, bool Auto, FileDto? File, string? ClientId)
{
    public static MessageDto Of(ChatMessage message) => new(
        message.Id,
        message.Direction == Direction.Owner ? "owner" : "visitor",
        message.Text,
        message.Timestamp,
        MessageRepository.StateName(message.State),
        message.Seq,
        message.Automatic,
        message.Attachment is { } file ? new FileDto(file.Url, file.Name, file.Size) : null,
        message.ClientId);
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

    /// <summary>The owner's name for the page's wording ("Alex is online"); <see langword="null"/>: neutral wording.</summary>
    public string? OwnerName { get; init; }
}

internal sealed record HistoryDto(IReadOnlyList<MessageDto> Messages, bool HasMore);

internal sealed record GuestRequest(string? Name);

/// <summary>A visitor's message; <see cref="ClientId"/> (optional) makes a retry of the same POST store it only once.</summary>
internal sealed record SendRequest(string? Text, string? ClientId = null);

/// <summary>The newest owner's message a tab has shown (XEP-0333 displayed).</summary>
internal sealed record DisplayedRequest(long? Id);

internal sealed record TypingRequest(string? State);

/// <summary>
/// The chat's HTTP API. Every conversation route names the conversation (the visitor id) and is answered only for
/// that visitor's own cookie (404 for anyone else); every state-changing request needs the anti-forgery header.
/// </summary>
internal static partial class ChatApi
{
    public const string GuestPolicy = "guest";
    public const string SendPolicy = "send";
    internal const int MaxNameLength = 64;
    internal const int MaxClientIdLength = 64;
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
        conversation.MapPost("/displayed", MarkDisplayedAsync).AddEndpointFilter(RequireAntiforgeryAsync);
        conversation.MapFileApi(routes);
        api.MapGet("/owner/avatar", OwnerApi.GetAvatar);
        api.MapPost("/embed", WidgetApi.SignInFromSiteAsync).AddEndpointFilter(RequireAntiforgeryAsync).RequireRequestLimit(GuestPolicy);
        return routes;
    }

    private static async Task<Ok<SessionDto>> GetSessionAsync(
        HttpContext context, IAntiforgery antiforgery, IOptions<GatewayOptions> options, OwnerControlRepository controls, OwnerProfile profile,
        CancellationToken cancellationToken)
    {
        var csrf = antiforgery.GetAndStoreTokens(context).RequestToken;
        var user = context.User;
        var ownerName = profile.Current.Name;
        if (user.VisitorId() is not { } id)
        {
            return TypedResults.Ok(new SessionDto(false, null, null, options.Value.Guests.Enabled, csrf) { OwnerName = ownerName });
        }

        var standing = await controls.GetStandingAsync(id, cancellationToken);
        return TypedResults.Ok(new SessionDto(true, user.Identity?.Name, id, options.Value.Guests.Enabled, csrf)
        {
            Closed = standing?.Blocked ?? false,
            EndedAfter = standing?.EndedAfter ?? 0,
            Away = await controls.GetSettingAsync(OwnerControlRepository.AwayMessageSetting, cancellationToken),
            OwnerName = ownerName,
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
        await ConversationControls.RecordVisitAsync(context, visitor.Id, null, null, controls, cancellationToken);
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

    private static async Task<Results<Accepted<MessageDto>, ValidationProblem, ProblemHttpResult>> SendAsync(
        string id, SendRequest request, MessageRepository messages, OfflineAutoReply autoReply, IOptions<GatewayOptions> options, CancellationToken cancellationToken)
    {
        var text = request.Text?.Trim();
        if (string.IsNullOrEmpty(text) || text.Length > options.Value.MaxMessageLength || !TextRules.IsXmlSafe(text))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["text"] = [$"Text of 1 to {options.Value.MaxMessageLength} characters."] });
        }

        if (request.ClientId is { } clientId && !IsClientId(clientId))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["clientId"] = [$"1 to {MaxClientIdLength} letters, digits, '-' or '_'."] });
        }

        // Stored first: if the XMPP link is down the message waits in the outbox and the page shows it as pending. The
        // store's change feed wakes the outbox sender. A client id already used answers with the message stored then.
        var (message, created) = await messages.AddVisitorMessageAsync(id, text, request.ClientId, cancellationToken);
        if (!created && message.Text != text)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "This client id belongs to another message.");
        }

        if (created)
        {
            await autoReply.ReplyIfDueAsync(id, cancellationToken);
        }

        return TypedResults.Accepted($"/api/conversations/{id}/messages", MessageDto.Of(message));
    }

    /// <summary>
    /// A tab has shown the owner's messages up to this one (the page was visible). They become seen, and when that
    /// changed a reply that asked for chat markers, the owner's client gets one <c>displayed</c> for the newest such
    /// reply: never a second one for the same reply, whichever tab or gateway asks again.
    /// </summary>
    private static async Task<Results<NoContent, ValidationProblem>> MarkDisplayedAsync(
        string id, DisplayedRequest request, MessageRepository messages, OutboxSender sender, IOptions<GatewayOptions> options, CancellationToken cancellationToken)
    {
        if (request.Id is not { } messageId || messageId <= 0)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["id"] = ["The id of an owner's message."] });
        }

        var shown = await messages.MarkShownAsync(id, messageId, cancellationToken);
        if (options.Value.DisplayedMarkers && shown.LastOrDefault(m => m.Markable && !m.Automatic) is { } newest)
        {
            await sender.SendDisplayedAsync(id, newest.StanzaId, cancellationToken);
        }

        return TypedResults.NoContent();
    }

    internal static bool IsClientId(string value)
        => value.Length is >= 1 and <= MaxClientIdLength && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

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
        OwnerProfile ownerProfile, OwnerControlRepository controls, IOptions<GatewayOptions> options, IHostApplicationLifetime lifetime)
    {
        var standing = await controls.GetStandingAsync(id, context.RequestAborted) ?? new VisitorStanding(false, 0);
        await ConversationControls.RecordVisitAsync(context, id, page, null, controls, context.RequestAborted);

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
        return new EventStream(subscription, from, standing, messages, ownerPresence, chatStates, ownerProfile);
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
