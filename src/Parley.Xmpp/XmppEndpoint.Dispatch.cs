using System.Threading.Channels;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp;

/// <summary>The dispatch loop: one consumer, so handlers see stanzas in the order they arrived.</summary>
public abstract partial class XmppEndpoint
{
    private const int RecentMessageIdCapacity = 4096;
    private readonly HashSet<RecentMessage> _recentMessageIds = [];
    private readonly Queue<RecentMessage> _recentMessageOrder = new();

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
    internal async ValueTask DispatchOneAsync(Stanza stanza, CancellationToken cancellationToken)
    {
        switch (stanza)
        {
            case Message message:
                if (IsDuplicate(message))
                {
                    return;
                }

                foreach (var handler in _messageHandlers)
                {
                    try
                    {
                        await handler(message, cancellationToken).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                    {
                        Log.HandlerFailed(Logger, "message", ex);
                    }
                }

                break;
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
        catch (Exception ex) when (ex is XmppTransportException or InvalidOperationException or OperationCanceledException)
        {
            // The connection went away; the requester will time out or re-send.
            Log.KeepAliveFailed(Logger, $"could not answer IQ {request.Id}: {ex.Message}");
        }
    }

    /// <summary>
    /// After a failed resumption the library re-sends what the server never acknowledged, so a peer may get a
    /// message twice; the same holds for us as receiver. Messages carry ids, so a short memory of (sender, id) drops the
    /// second copy and delivery becomes exactly-once for messages with ids.
    /// </summary>
    private bool IsDuplicate(Message message)
    {
        if (message.Id is not { Length: > 0 } id || message.GetAttribute("from") is not { } from || message.Type == MessageType.Error)
        {
            return false;
        }

        var key = new RecentMessage(from, id);
        if (!_recentMessageIds.Add(key))
        {
            Log.DuplicateMessage(Logger, id, from);
            return true;
        }

        _recentMessageOrder.Enqueue(key);
        if (_recentMessageOrder.Count > RecentMessageIdCapacity)
        {
            _recentMessageIds.Remove(_recentMessageOrder.Dequeue());
        }

        return false;
    }

    /// <summary>
    /// A (sender, id) pair with its hash computed once. Evicting the oldest entry then reads neither string (equality
    /// finds the same instances by reference): those strings are thousands of messages old and no longer in the CPU
    /// cache, and hashing them again cost two cache misses per received message.
    /// </summary>
    private readonly struct RecentMessage(string from, string id) : IEquatable<RecentMessage>
    {
        private readonly int _hash = HashCode.Combine(from.GetHashCode(StringComparison.Ordinal), id.GetHashCode(StringComparison.Ordinal));

        public string From { get; } = from;

        public string Id { get; } = id;

        public bool Equals(RecentMessage other) => _hash == other._hash && string.Equals(From, other.From, StringComparison.Ordinal) && string.Equals(Id, other.Id, StringComparison.Ordinal);

        public override bool Equals(object? obj) => obj is RecentMessage other && Equals(other);

        public override int GetHashCode() => _hash;
    }
}
