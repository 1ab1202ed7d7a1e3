using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;
using Parley.Web.Chat;
using Parley.Web.Storage;
using Parley.Web.Xmpp;

namespace Parley.Web.Api;

/// <summary>The chat's push side: one tab's event stream.</summary>
internal static partial class ChatApi
{
    /// <summary>
    /// One tab's Server-Sent Events stream, written straight to the response's pipe. It holds only what it needs
    /// between events (the subscription and the services to read from); an idle stream owns no buffer, no timer and no
    /// task of its own (it waits on its subscription), which matters with thousands of tabs open.
    /// </summary>
    internal sealed class EventStream(
        ChatHub.Subscription subscription, long after, VisitorStanding standing, MessageRepository messages, OwnerPresence ownerPresence, OwnerChatStates chatStates,
        OwnerProfile ownerProfile) : IResult
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
                var profile = ownerProfile.Current;
                WriteEvent(writer, "profile", OwnerApi.Serialize(profile), id: null, retry: false);
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
                        else if (pushEvent.OwnerProfile && ownerProfile.Current is var now && now != profile)
                        {
                            profile = now;
                            WriteEvent(writer, "profile", OwnerApi.Serialize(now), id: null, retry: false);
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
}
