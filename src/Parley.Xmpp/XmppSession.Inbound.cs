using System.Threading.Channels;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp;

/// <summary>
/// The receive side: the reader task reads the stream and hands stanzas to one dispatch loop through a queue, so handlers
/// see them in the order they arrived and a slow handler does not stop the reader (up to
/// <see cref="XmppConnectionOptions.MaxPendingInboundStanzas"/>).
/// </summary>
internal abstract partial class XmppSession
{
    private Channel<Stanza> _inbound = CreateInbound();
    private int _inboundCount;
    private Task? _dispatchTask;
    private long _lastReceivedTicks;

    /// <summary>When the last element arrived (<see cref="Environment.TickCount64"/>), for the keep-alive.</summary>
    public long LastReceivedTicks => Interlocked.Read(ref _lastReceivedTicks);

    private void MarkReceived() => Interlocked.Exchange(ref _lastReceivedTicks, Environment.TickCount64);

    private void StartDispatch(CancellationToken lifetime)
    {
        _inbound = CreateInbound();
        var reader = _inbound.Reader;
        _dispatchTask = Task.Run(() => RunDispatchAsync(reader, lifetime), CancellationToken.None);
    }

    private Task StopDispatchAsync()
    {
        _inbound.Writer.TryComplete();
        return AwaitQuietly(_dispatchTask);
    }

    private async Task RunDispatchAsync(ChannelReader<Stanza> reader, CancellationToken lifetime)
    {
        try
        {
            while (await reader.WaitToReadAsync(lifetime).ConfigureAwait(false))
            {
                while (reader.TryRead(out var stanza))
                {
                    Interlocked.Decrement(ref _inboundCount);
                    await _events.DispatchAsync(stanza, lifetime).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (lifetime.IsCancellationRequested)
        {
            // Disconnected.
        }
    }

    private async Task RunSessionAsync(XmppStream stream, CancellationToken lifetime)
    {
        Exception error;
        try
        {
            await stream.RunReaderAsync(element => OnElementAsync(stream, element), (envelope, reason) => OnRefused(stream, envelope, reason), lifetime).ConfigureAwait(false);
            error = new XmppTransportException("The server closed the stream.", isTransient: true);
        }
        catch (OperationCanceledException) when (lifetime.IsCancellationRequested)
        {
            return;
        }
        catch (XmppException ex)
        {
            error = ex;
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            error = new XmppTransportException($"The connection failed: {ex.Message}", isTransient: true, ex);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Not a fault of the link but of this library: reconnecting would hide it and could repeat it, so the
            // endpoint stops and reports it instead (see OnConnectionLostAsync).
            Log.ReaderFailed(Logger, ex);
            error = ex;
        }

        try
        {
            await OnConnectionLostAsync(stream, error, lifetime).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // This task has no awaiter: a bug here must not leave the endpoint silently stuck in Reconnecting.
            Log.RecoveryFailed(Logger, ex);
            ConnectionStateChangedEventArgs? change;
            lock (_sendLock)
            {
                _stream = null;
                change = ChangeState(XmppConnectionState.Disconnected, ex);
            }

            RaiseStateChanged(change);

            FailEverythingPending(ex, null);
        }
    }

    private ValueTask OnElementAsync(XmppStream stream, XmppElement element)
    {
        MarkReceived();
        if (element is not Stanza stanza)
        {
            if (!HandleNonza(stream, element))
            {
                Log.UnexpectedElement(Logger, element.Name, element.Namespace);
            }

            return ValueTask.CompletedTask;
        }

        OnStanzaReceived(stream, stanza);
        if (stanza is Iq { IsRequest: false } response)
        {
            Iqs.Complete(response);
            return ValueTask.CompletedTask;
        }

        Dispatch(stanza);
        return ValueTask.CompletedTask;
    }

    private void Dispatch(Stanza stanza)
    {
        if (Interlocked.Increment(ref _inboundCount) > Options.MaxPendingInboundStanzas)
        {
            throw new XmppProtocolException($"More than {Options.MaxPendingInboundStanzas} received stanzas wait for their handlers; closing the overloaded connection.", "resource-constraint");
        }

        _inbound.Writer.TryWrite(stanza);
    }

    /// <summary>
    /// A stanza the parser refused for breaking a per-stanza limit. It counts as handled for stream management; its sender
    /// hears policy-violation (RFC 6120 §8.3.3.12) unless it was an error itself; a response is turned into that error, so
    /// the request waiting for it fails at once instead of timing out.
    /// </summary>
    private void OnRefused(XmppStream stream, XmppElement? envelope, string reason)
    {
        MarkReceived();
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
            Iqs.Complete(failed);
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

    private static Channel<Stanza> CreateInbound() => Channel.CreateUnbounded<Stanza>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });
}
