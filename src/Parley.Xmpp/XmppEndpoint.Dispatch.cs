using System.Collections.Immutable;
using System.Threading.Channels;
using Parley.Xmpp.Internal;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp;

/// <summary>The dispatch loop: one consumer, so handlers see stanzas in the order they arrived.</summary>
public abstract partial class XmppEndpoint
{
    private const int RecentMessageIdCapacity = 4096;
    private readonly RecentMessageIds _recentMessageIds = new(RecentMessageIdCapacity);

    private async Task RunDispatchAsync(ChannelReader<Stanza> reader, CancellationToken lifetime)
    {
        try
        {
            while (await reader.WaitToReadAsync(lifetime).ConfigureAwait(false))
            {
                while (reader.TryRead(out var stanza))
                {
                    Interlocked.Decrement(ref _inboundCount);
                    await DispatchOneAsync(stanza, lifetime).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (lifetime.IsCancellationRequested)
        {
            // Disconnected.
        }
    }

    /// <summary>Runs the handlers for one stanza. Internal so benchmarks can measure dispatch without a socket.</summary>
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
    /// A stanza the parser refused for breaking a per-stanza limit. It counts as handled for stream management; its sender
    /// hears policy-violation (RFC 6120 §8.3.3.12) unless it was an error itself; a response is turned into that error, so
    /// the request waiting for it fails at once instead of timing out.
    /// </summary>
    private void OnRefused(XmppStream stream, XmppElement? envelope, string reason)
    {
        Interlocked.Exchange(ref _lastReceivedTicks, Environment.TickCount64);
        Log.StanzaRefused(Logger, envelope?.Name ?? "unreadable element", envelope?.GetAttribute("from") ?? "an unknown sender", reason);
        if (envelope is not Stanza stanza)
        {
            return;
        }

        OnStanzaReceived(stream, stanza);
        if (stanza.IsError)
        {
            return;
        }

        var error = StanzaError.PolicyViolation(reason + ".");
        if (stanza is Iq && stanza.TypeName == "result")
        {
            var failed = new Iq(stanza.Namespace) { Type = IqType.Error, Id = stanza.Id };
            failed.SetAttribute("from", stanza.GetAttribute("from"));
            failed.Add(error.ToElement(stanza.Namespace));
            CompletePendingIq(failed);
            return;
        }

        _ = AnswerRefusedAsync(stanza.CreateErrorReply(error));
    }

    private async Task AnswerRefusedAsync(Stanza reply)
    {
        try
        {
            await SendAsync(reply, CancellationToken.None).ConfigureAwait(false);
        }
        catch (XmppTransportException ex)
        {
            Log.AnswerFailed(Logger, reply.Id, ex.Message);
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
