using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;

namespace Parley.Xmpp;

/// <summary>
/// The IQ requests waiting for their responses. A response completes its request only when it carries the request's id
/// and comes from the address the request went to (RFC 6120 §8.1.2.1); a lost connection fails them all.
/// </summary>
/// <param name="logger">Where responses from the wrong sender and invalid addresses are logged.</param>
/// <param name="ownJid">The endpoint's current address, for requests the server answers on the account's behalf.</param>
internal sealed class IqTracker(ILogger logger, Func<Jid?> ownJid)
{
    private readonly ConcurrentDictionary<string, PendingIq> _pending = new(StringComparer.Ordinal);

    /// <summary>Sends a request through <paramref name="send"/> and waits for its response.</summary>
    /// <exception cref="XmppStanzaException">The peer answered with an error.</exception>
    /// <exception cref="TimeoutException">No answer within <paramref name="wait"/>.</exception>
    /// <exception cref="ArgumentException">The IQ is not a request, or one with its id is already waiting.</exception>
    public async Task<Iq> RequestAsync(Iq request, TimeSpan wait, Func<Stanza, CancellationToken, Task> send, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!request.IsRequest)
        {
            throw new ArgumentException("Only get and set IQs expect a response.", nameof(request));
        }

        if (string.IsNullOrEmpty(request.Id))
        {
            request.Id = Stanza.NewId();
        }

        var id = request.Id!;
        var pending = new PendingIq(request.To);
        if (!_pending.TryAdd(id, pending))
        {
            throw new ArgumentException($"An IQ with id '{id}' is already waiting for its response.", nameof(request));
        }

        using var activity = StartActivity(request);
        var started = XmppInstruments.IqDurationEnabled ? Stopwatch.GetTimestamp() : 0;
        var outcome = "failed";
        try
        {
            await send(request, cancellationToken).ConfigureAwait(false);
            Iq response;
            try
            {
                response = await pending.Completion.Task.WaitAsync(wait, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException ex)
            {
                outcome = "timeout";
                throw new TimeoutException($"No response to IQ '{id}' ({request.Payload?.Name} {request.Payload?.Namespace}) from {request.To?.ToString() ?? "the server"} within {wait.TotalSeconds:0.#} s.", ex);
            }

            if (response.Type == IqType.Error)
            {
                outcome = "error";
                var error = response.Error ?? new StanzaError("undefined-condition", StanzaErrorType.Cancel);
                activity?.SetTag("parley.xmpp.error.condition", error.Condition);
                throw new XmppStanzaException(error, response.From);
            }

            outcome = "result";
            return response;
        }
        catch (Exception ex)
        {
            if (ex is OperationCanceledException && outcome == "failed")
            {
                outcome = "cancelled";
            }

            XmppInstruments.SetError(activity, ex);
            throw;
        }
        finally
        {
            _pending.TryRemove(new KeyValuePair<string, PendingIq>(id, pending));
            XmppInstruments.RecordIq(outcome, started);
            activity?.SetTag(XmppInstruments.OutcomeTag, outcome);
        }
    }

    /// <summary>A client span for the request, named after its payload's namespace (a handful per application, never an id or address).</summary>
    private static Activity? StartActivity(Iq request)
    {
        if (!XmppInstruments.Source.HasListeners())
        {
            return null;
        }

        var activity = XmppInstruments.Source.StartActivity("xmpp.iq", ActivityKind.Client);
        activity?.SetTag("parley.xmpp.iq.type", request.Type == IqType.Get ? "get" : "set");
        activity?.SetTag("parley.xmpp.iq.namespace", request.Payload?.Namespace);
        return activity;
    }

    /// <summary>Completes the request a response answers; a response nobody waits for, or from the wrong sender, is dropped.</summary>
    public void Complete(Iq response)
    {
        var id = response.Id;
        if (id is null || !_pending.TryGetValue(id, out var pending))
        {
            return;
        }

        var from = ParseSender(response);
        if (!IsExpectedResponder(pending.To, from))
        {
            Log.IqResponseFromWrongSender(logger, id, from?.ToString(), pending.To?.ToString());
            return;
        }

        if (_pending.TryRemove(new KeyValuePair<string, PendingIq>(id, pending)))
        {
            pending.Completion.TrySetResult(response);
        }
    }

    /// <summary>Fails every waiting request: the connection closed before the responses arrived.</summary>
    public void FailAll(Exception reason)
    {
        foreach (var pending in _pending)
        {
            if (_pending.TryRemove(pending))
            {
                pending.Value.Completion.TrySetException(new XmppTransportException("The connection closed before the response arrived.", isTransient: true, reason));
            }
        }
    }

    /// <summary>RFC 6120 §8.1.2.1 / §10.3: a request to nobody (or to our own account) is answered by the server on the account's behalf.</summary>
    private bool IsExpectedResponder(Jid? to, Jid? from)
    {
        var own = ownJid();
        if (to is null || (own is not null && to == own.Bare))
        {
            return from is null || (own is not null && (from == own.Bare || from == own || (from.Local is null && from.Resource is null && from.Domain == own.Domain)));
        }

        return from == to;
    }

    private Jid? ParseSender(Stanza stanza)
    {
        var value = stanza.GetAttribute("from");
        if (value is null)
        {
            return null;
        }

        if (Jid.TryParse(value, out var jid))
        {
            return jid;
        }

        Log.InvalidAddress(logger, $"from='{value}'");
        return null;
    }

    private sealed class PendingIq(Jid? to)
    {
        public Jid? To { get; } = to;

        public TaskCompletionSource<Iq> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
