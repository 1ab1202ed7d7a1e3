using System.Collections.Immutable;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp;

/// <summary>The handlers for one received stanza; the session engine calls them from its one dispatch loop, in arrival order.</summary>
public abstract partial class XmppEndpoint
{
    private const int RecentMessageIdCapacity = 4096;
    private readonly RecentMessageIds _recentMessageIds = new(RecentMessageIdCapacity);

    /// <summary>Runs the handlers for one stanza. Internal so benchmarks and tests can measure and drive dispatch without a socket.</summary>
    internal ValueTask DispatchOneAsync(Stanza stanza, CancellationToken cancellationToken)
        => stanza is Message message ? DispatchMessageAsync(message, cancellationToken) : DispatchOtherAsync(stanza, cancellationToken);

    /// <summary>
    /// Runs the message handlers in order. Handlers that complete synchronously (the usual case: they count, store or
    /// hand the message on) are run without an async state machine; from the first one that does not, the rest are
    /// awaited one after the other, so the order and the error handling are the same either way.
    /// </summary>
    private ValueTask DispatchMessageAsync(Message message, CancellationToken cancellationToken)
    {
        if (IsDuplicate(message))
        {
            return default;
        }

        var handlers = _messageHandlers;
        for (var i = 0; i < handlers.Length; i++)
        {
            ValueTask pending;
            try
            {
                pending = handlers[i](message, cancellationToken);
                if (pending.IsCompletedSuccessfully)
                {
                    // Consumes the result (a pooled IValueTaskSource behind the ValueTask may be reused afterwards).
                    pending.GetAwaiter().GetResult();
                    continue;
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                Log.HandlerFailed(Logger, "message", ex);
                continue;
            }

            return AwaitMessageHandlersAsync(pending, message, handlers, i, cancellationToken);
        }

        return default;
    }

    private async ValueTask AwaitMessageHandlersAsync(
        ValueTask pending, Message message, ImmutableArray<Func<Message, CancellationToken, ValueTask>> handlers, int index, CancellationToken cancellationToken)
    {
        try
        {
            await pending.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Log.HandlerFailed(Logger, "message", ex);
        }

        for (var i = index + 1; i < handlers.Length; i++)
        {
            try
            {
                await handlers[i](message, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                Log.HandlerFailed(Logger, "message", ex);
            }
        }
    }

    private async ValueTask DispatchOtherAsync(Stanza stanza, CancellationToken cancellationToken)
    {
        switch (stanza)
        {
            case Presence presence:
                foreach (var handler in _presenceHandlers)
                {
                    try
                    {
                        await handler(presence, cancellationToken).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                    {
                        Log.HandlerFailed(Logger, "presence", ex);
                    }
                }

                break;
            case Iq { IsRequest: true } request:
                await AnswerIqAsync(request, cancellationToken).ConfigureAwait(false);
                break;
        }
    }

    private async ValueTask AnswerIqAsync(Iq request, CancellationToken cancellationToken)
    {
        var payload = request.Payload;
        Iq response;
        if (payload is null || !_iqHandlers.TryGetValue((payload.Name, payload.Namespace), out var entry))
        {
            // RFC 6120 §8.4: a request nobody understands gets service-unavailable, never silence.
            Log.UnhandledIq(Logger, request.TypeName ?? "?", payload?.Name ?? "(none)", payload?.Namespace ?? string.Empty);
            response = request.CreateError(payload is null ? StanzaError.BadRequest("The IQ has no payload.") : StanzaError.ServiceUnavailable());
        }
        else if (entry.Deferred is { } deferred)
        {
            // The handler takes the request and answers through it, possibly after later stanzas were dispatched.
            var taken = new IqRequest(this, request, entry.AnswerTimeout);
            Exception? failure = null;
            try
            {
                await deferred(taken, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                failure = ex;
            }

            await taken.CompleteHandlerAsync(failure, cancellationToken).ConfigureAwait(false);
            return;
        }
        else
        {
            try
            {
                var result = await entry.Immediate!(request, cancellationToken).ConfigureAwait(false);
                response = request.CreateResult(result);
            }
            catch (XmppStanzaException ex)
            {
                response = request.CreateError(ex.Error);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                Log.HandlerFailed(Logger, $"IQ <{payload.Name} xmlns='{payload.Namespace}'/>", ex);
                response = request.CreateError(StanzaError.InternalServerError());
            }
        }

        try
        {
            await SendAsync(response, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is XmppTransportException or OperationCanceledException)
        {
            // The connection went away; the requester will time out or re-send.
            Log.AnswerFailed(Logger, request.Id, ex.Message);
        }
    }

    /// <summary>
    /// After a failed resumption the library re-sends what the server never acknowledged, so a peer may get a
    /// message twice; the same holds for us as receiver. Messages carry ids, so a short memory of (sender, id) drops the
    /// second copy and delivery becomes exactly-once for messages with ids.
    /// </summary>
    private bool IsDuplicate(Message message)
    {
        // One pass over the attributes instead of three lookups; the length picks the one name to compare with.
        string? id = null, from = null, type = null;
        foreach (var attribute in message.AttributeSpan)
        {
            var name = attribute.Name;
            if (name.Length == 2)
            {
                if (name == "id")
                {
                    id ??= attribute.Value;
                }
            }
            else if (name.Length == 4)
            {
                if (name == "from")
                {
                    from ??= attribute.Value;
                }
                else if (name == "type")
                {
                    type ??= attribute.Value;
                }
            }
        }

        if (id is not { Length: > 0 } || from is null || type == "error")
        {
            return false;
        }

        if (!_recentMessageIds.Add(from, id))
        {
            Log.DuplicateMessage(Logger, id, from);
            return true;
        }

        return false;
    }
}
