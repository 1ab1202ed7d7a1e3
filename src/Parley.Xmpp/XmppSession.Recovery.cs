using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;

namespace Parley.Xmpp;

/// <summary>
/// A lost link: what the writer never wrote goes back to the backlog, then the session reconnects under
/// <see cref="XmppConnectionOptions.Reconnect"/> or, when that is off, pointless or given up, fails what is pending and
/// reports what was never delivered. Also the state changes, raised outside the send lock.
/// </summary>
internal abstract partial class XmppSession
{
    /// <summary>Whether a failure means reconnecting is pointless (bad credentials, a resource conflict, a refused certificate).</summary>
    private static bool IsFatal(Exception error) => error switch
    {
        XmppAuthenticationException => true,
        XmppStreamErrorException { Condition: "conflict" or "not-authorized" or "host-unknown" or "policy-violation" } => true,
        XmppTransportException { IsTransient: false } => true,
        _ => false,
    };

    private async Task OnConnectionLostAsync(XmppStream stream, Exception error, CancellationToken lifetime)
    {
        var reconnect = Options.Reconnect.Enabled && error is XmppException && !IsFatal(error) && !lifetime.IsCancellationRequested;
        ConnectionStateChangedEventArgs? change;
        lock (_sendLock)
        {
            if (!ReferenceEquals(_stream, stream))
            {
                return; // DisconnectAsync already took it over.
            }

            _stream = null;
            MarkStreamLost();
            _backlog.ReturnUnwritten(stream.DrainUnwritten());
            change = ChangeState(reconnect ? XmppConnectionState.Reconnecting : XmppConnectionState.Disconnected, error);
        }

        RaiseStateChanged(change);

        XmppInstruments.RecordLost(reconnect);
        Log.ConnectionLost(Logger, error.Message, error);
        stream.Abort();
        await stream.DisposeAsync().ConfigureAwait(false);
        var lost = OnStreamLost(reconnect);
        if (!reconnect)
        {
            ReportUndelivered(lost, error);
            FailEverythingPending(error, null);
            if (_lifetime is { } cts)
            {
                await cts.CancelAsync().ConfigureAwait(false);
            }

            return;
        }

        await ReconnectLoopAsync(lifetime).ConfigureAwait(false);
    }

    private async Task ReconnectLoopAsync(CancellationToken lifetime)
    {
        var policy = Options.Reconnect;
        for (var attempt = 1; policy.MaxAttempts is not { } max || attempt <= max; attempt++)
        {
            var delay = policy.GetDelay(attempt);
            Log.Reconnecting(Logger, delay, attempt);
            try
            {
                await Task.Delay(delay, lifetime).ConfigureAwait(false);
                var stream = await EstablishWithTimeoutAsync(isReconnect: true, lifetime).ConfigureAwait(false);
                if (lifetime.IsCancellationRequested)
                {
                    await stream.DisposeAsync().ConfigureAwait(false);
                    return;
                }

                Activate(stream, ResumedLastTime);
                return;
            }
            catch (OperationCanceledException) when (lifetime.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is XmppException or IOException or TimeoutException)
            {
                Log.ReconnectFailed(Logger, attempt, ex.Message, ex);
                if (IsFatal(ex))
                {
                    break;
                }
            }
        }

        Log.ReconnectGaveUp(Logger, policy.MaxAttempts ?? 0);
        var failure = new XmppTransportException("Reconnecting failed; giving up.", isTransient: false);
        SetState(XmppConnectionState.Disconnected, failure);

        ReportUndelivered(OnStreamLost(willReconnect: false), failure);
        FailEverythingPending(failure, null);
    }

    private void FailEverythingPending(Exception reason, XmppStream? stream)
    {
        var undelivered = new List<Stanza>();
        if (stream is not null)
        {
            foreach (var (element, completion) in stream.DrainUnwritten())
            {
                completion?.TrySetException(reason);
                if (element is Stanza stanza)
                {
                    undelivered.Add(stanza);
                }
            }
        }

        lock (_sendLock)
        {
            _backlog.FailAll(reason, undelivered);
        }

        undelivered.AddRange(OnStreamLost(willReconnect: false));
        ReportUndelivered(undelivered, reason);
        Iqs.FailAll(reason);
    }

    private void ReportUndelivered(IReadOnlyList<Stanza> stanzas, Exception? reason)
    {
        if (stanzas.Count == 0)
        {
            return;
        }

        Log.Undelivered(Logger, stanzas.Count);
        try
        {
            _events.OnUndelivered(new UndeliveredStanzasEventArgs(stanzas, reason));
        }
        catch (Exception ex)
        {
            Log.HandlerFailed(Logger, nameof(XmppEndpoint.Undelivered), ex);
        }
    }

    private void SetState(XmppConnectionState state, Exception? error, bool resumed = false) => RaiseStateChanged(ChangeState(state, error, resumed));

    /// <summary>Changes the state without telling anyone yet: call it under the send lock, then <see cref="RaiseStateChanged"/> after leaving it, so subscribers never run inside the lock.</summary>
    private ConnectionStateChangedEventArgs? ChangeState(XmppConnectionState state, Exception? error, bool resumed = false)
    {
        var old = (XmppConnectionState)Interlocked.Exchange(ref _state, (int)state);
        return old == state ? null : new ConnectionStateChangedEventArgs(old, state, error, resumed);
    }

    private void RaiseStateChanged(ConnectionStateChangedEventArgs? change)
    {
        if (change is null)
        {
            return;
        }

        try
        {
            _events.OnStateChanged(change);
        }
        catch (Exception ex)
        {
            // A subscriber's bug must not break the connection's state machine.
            Log.HandlerFailed(Logger, nameof(XmppEndpoint.StateChanged), ex);
        }
    }
}
