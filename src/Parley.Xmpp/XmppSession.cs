using Microsoft.Extensions.Logging;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp;

/// <summary>
/// The engine behind an <see cref="XmppEndpoint"/>: one connection at a time, its state, the send path (the live stream's
/// writer, or the backlog while reconnecting), the IQ requests waiting for answers, the reader and the ordered dispatch of
/// what it reads (<c>XmppSession.Inbound.cs</c>), and recovering from a lost link (<c>XmppSession.Recovery.cs</c>).
/// A subclass negotiates the stream for its protocol (<see cref="ClientSession"/>, <see cref="ComponentSession"/>).
/// </summary>
internal abstract partial class XmppSession : IStanzaOutbox, IDisposable
{
    private readonly Lock _sendLock = new();
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    private readonly SendBacklog _backlog = new();
    private readonly ISessionEvents _events;
    private XmppStream? _stream;
    private TaskCompletionSource? _streamLost; // completed when _stream is lost or closed

    // Whether stanzas were queued since the last ConfirmSentAsync, and whether a stream was lost while some were: what
    // that stream took with it can no longer be confirmed. Both under _sendLock.
    private bool _sentSinceConfirm;
    private bool _lostSinceConfirm;
    private CancellationTokenSource? _lifetime;
    private Task? _keepAliveTask;
    private int _state;

    protected XmppSession(XmppConnectionOptions options, ISessionEvents events, ILogger logger, ILogger trafficLogger)
    {
        Options = options;
        _events = events;
        Logger = logger;
        TrafficLogger = trafficLogger;
        Iqs = new IqTracker(logger, () => Jid);
    }

    public XmppConnectionOptions Options { get; }

    public ILogger Logger { get; }

    public ILogger TrafficLogger { get; }

    /// <summary>The requests waiting for their responses.</summary>
    public IqTracker Iqs { get; }

    /// <summary>The endpoint's address: the bound full JID of a client, the domain of a component.</summary>
    public abstract Jid? Jid { get; }

    public XmppConnectionState State => (XmppConnectionState)Volatile.Read(ref _state);

    /// <summary>Cancelled when the endpoint is disconnected or disposed.</summary>
    public CancellationToken Lifetime => _lifetime?.Token ?? CancellationToken.None;

    /// <summary>The live stream, or <see langword="null"/> while there is none.</summary>
    public XmppStream? CurrentStream
    {
        get
        {
            lock (_sendLock)
            {
                return _stream;
            }
        }
    }

    /// <summary>Stanzas received before the stream was activated (e.g. while waiting for stream management's answer), to dispatch first.</summary>
    protected List<Stanza> EarlyStanzas { get; } = [];

    /// <summary>Set by the subclass's negotiation: whether the stream it just established resumed the previous session.</summary>
    protected bool ResumedLastTime { get; set; }

    /// <exception cref="InvalidOperationException">Already connected or connecting.</exception>
    public async Task ConnectAsync(CancellationToken cancellationToken)
    {
        await _lifecycle.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (State != XmppConnectionState.Disconnected)
            {
                throw new InvalidOperationException($"The endpoint is {State}; disconnect first.");
            }

            _lifetime?.Dispose();
            _lifetime = new CancellationTokenSource();
            SetState(XmppConnectionState.Connecting, null);
            XmppStream stream;
            try
            {
                stream = await EstablishWithTimeoutAsync(isReconnect: false, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                await _lifetime.CancelAsync().ConfigureAwait(false);
                SetState(XmppConnectionState.Disconnected, ex);
                throw;
            }

            StartDispatch(_lifetime.Token);
            Activate(stream, resumed: false);
            if (Options.KeepAliveInterval > TimeSpan.Zero)
            {
                var keepAlive = new KeepAlive(this, Options.KeepAliveInterval);
                _keepAliveTask = Task.Run(() => keepAlive.RunAsync(_lifetime.Token), CancellationToken.None);
            }
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    public async Task DisconnectAsync(CancellationToken cancellationToken)
    {
        await _lifecycle.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (State == XmppConnectionState.Disconnected)
            {
                return;
            }

            XmppStream? stream;
            ConnectionStateChangedEventArgs? change;
            lock (_sendLock)
            {
                stream = _stream;
                _stream = null;
                MarkStreamLost();
                change = ChangeState(XmppConnectionState.Disconnected, null);
            }

            RaiseStateChanged(change);

            if (stream is not null)
            {
                OnClosing(stream);
                await stream.CloseAsync(TimeSpan.FromSeconds(2), cancellationToken).ConfigureAwait(false);
            }

            if (_lifetime is not null)
            {
                await _lifetime.CancelAsync().ConfigureAwait(false);
            }

            if (stream is not null)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }

            await StopDispatchAsync().ConfigureAwait(false);
            await AwaitQuietly(_keepAliveTask).ConfigureAwait(false);
            FailEverythingPending(new XmppTransportException("The connection was closed by this side.", isTransient: false), stream);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    public void Dispose() => _lifetime?.Dispose();

    /// <summary>Gives a message an id (receipts, corrections and duplicate detection after a re-send rely on it) and lets the protocol adjust the stanza.</summary>
    public void Prepare(Stanza stanza)
    {
        if (stanza is Message && stanza.Id is null)
        {
            stanza.Id = Stanza.NewId();
        }

        PrepareOutgoing(stanza);
    }

    /// <summary>Prepares and queues a stanza (see <see cref="EnqueueAsync"/>).</summary>
    public Task SendAsync(Stanza stanza, CancellationToken cancellationToken)
    {
        Prepare(stanza);
        return EnqueueAsync(stanza, cancellationToken);
    }

    public Task EnqueueAsync(Stanza stanza, CancellationToken cancellationToken)
    {
        var completion = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_sendLock)
        {
            switch (State)
            {
                case XmppConnectionState.Disconnected:
                case XmppConnectionState.Connecting:
                    throw new XmppNotConnectedException(State);
                case XmppConnectionState.Connected when _stream is { } stream && stream.Enqueue(stanza, completion):
                    break;
                default:
                    _backlog.Add(stanza, completion);
                    break;
            }

            _sentSinceConfirm = true;
        }

        return cancellationToken.CanBeCanceled ? completion.Task.WaitAsync(cancellationToken) : completion.Task;
    }

    /// <summary>
    /// Completes once the server has processed every stanza written before the call: a ping to the server on the live
    /// stream, answered (with a result or an error) only after everything sent before it on that stream. A subclass with
    /// stream management waits for the acknowledgement instead.
    /// </summary>
    /// <exception cref="XmppNotConnectedException">No live stream.</exception>
    /// <exception cref="XmppTransportException">A stream that carried stanzas sent since the previous call was lost, the
    /// stream was lost before the answer, or no answer came within <see cref="XmppConnectionOptions.DefaultIqTimeout"/>
    /// (the stream is then taken for dead and reconnected).</exception>
    public virtual async Task ConfirmSentAsync(CancellationToken cancellationToken)
    {
        XmppStream stream;
        Task lost;
        lock (_sendLock)
        {
            if (_stream is null || _streamLost is null || State != XmppConnectionState.Connected)
            {
                throw new XmppNotConnectedException(State);
            }

            var lostSome = _lostSinceConfirm;
            _lostSinceConfirm = _sentSinceConfirm = false;
            if (lostSome)
            {
                throw new XmppTransportException("A connection was lost since the last confirmation; what was sent on it is not confirmed.", isTransient: true);
            }

            stream = _stream;
            lost = _streamLost.Task;
        }

        var answer = PingServerAsync(stream, Options.DefaultIqTimeout, cancellationToken);
        if (await Task.WhenAny(answer, lost).ConfigureAwait(false) == lost)
        {
            _ = answer.ContinueWith(static t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            throw new XmppTransportException("The connection was lost before the server confirmed what was sent.", isTransient: true);
        }

        try
        {
            await answer.ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            Log.ConfirmationTimedOut(Logger, Options.DefaultIqTimeout);
            throw new XmppTransportException("The server did not confirm what was sent; the connection is taken for dead.", isTransient: true, ex);
        }
    }

    /// <summary>
    /// Pings the server (XEP-0199) on <paramref name="stream"/>. Any answer, a result or an error (no ping support),
    /// comes only after the server has read everything written before it on that stream, so it proves the link alive.
    /// </summary>
    /// <exception cref="TimeoutException">No answer within <paramref name="timeout"/>: the stream was aborted as dead,
    /// which starts a reconnect.</exception>
    /// <exception cref="XmppTransportException">The stream closed before the ping was written or answered.</exception>
    public async Task PingServerAsync(XmppStream stream, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var ping = new Iq(IqType.Get, ServerAddress, new XmppElement("ping", XmppNamespaces.Ping));
        Prepare(ping);
        try
        {
            await Iqs.RequestAsync(ping, timeout, (iq, _) => WriteOn(stream, iq), cancellationToken).ConfigureAwait(false);
        }
        catch (XmppStanzaException)
        {
            // An answer all the same.
        }
        catch (TimeoutException)
        {
            stream.Abort();
            throw;
        }
    }

    /// <summary>
    /// The server the stream is connected to, where <see cref="ConfirmSentAsync"/> and the keep-alive ping go (a
    /// component's server refuses a stanza without a <c>to</c>).
    /// </summary>
    public abstract Jid ServerAddress { get; }

    /// <summary>Opens a new stream and negotiates it up to the point where stanzas can flow.</summary>
    protected abstract Task<XmppStream> EstablishStreamAsync(bool isReconnect, CancellationToken cancellationToken);

    /// <summary>Lets the protocol adjust a stanza before it is queued (e.g. a component's default sender).</summary>
    protected virtual void PrepareOutgoing(Stanza stanza)
    {
    }

    /// <summary>Called with the new stream before the writer starts: returns stanzas to re-send first (stream management).</summary>
    protected virtual IReadOnlyList<Stanza> OnActivating(XmppStream stream, bool resumed) => [];

    /// <summary>Handles a top-level element that is not a stanza (stream management nonzas). Returns whether it was handled.</summary>
    protected virtual bool HandleNonza(XmppStream stream, XmppElement element) => false;

    /// <summary>Called for each stanza read from the stream, before dispatch (stream management counts here).</summary>
    protected virtual void OnStanzaReceived(XmppStream stream, Stanza stanza)
    {
    }

    /// <summary>Called before a graceful close: the last elements to queue ahead of the closing tag (a final stream management ack).</summary>
    protected virtual void OnClosing(XmppStream stream)
    {
    }

    /// <summary>Called when the stream died: returns stanzas that were written but never confirmed and will not be re-sent by a resumption.</summary>
    protected virtual IReadOnlyList<Stanza> OnStreamLost(bool willReconnect) => [];

    /// <summary>Whether <paramref name="stream"/> is the connection's live stream (not one that was lost or replaced).</summary>
    protected bool IsCurrentStream(XmppStream stream)
    {
        lock (_sendLock)
        {
            return ReferenceEquals(_stream, stream);
        }
    }

    /// <summary>Waits <paramref name="delay"/>; false when the connection ended first.</summary>
    protected async Task<bool> WaitWhileConnectedAsync(TimeSpan delay)
    {
        try
        {
            await Task.Delay(delay, Lifetime).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Queues a stanza on one particular stream (not the backlog): an answer must come on the stream it asks about.</summary>
    private static Task WriteOn(XmppStream stream, Stanza stanza)
    {
        var written = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return stream.Enqueue(stanza, written)
            ? written.Task
            : Task.FromException(new XmppTransportException("The connection closed before the stanza was written.", isTransient: true));
    }

    /// <summary>Ends the live stream's <see cref="ConfirmSentAsync"/> waits; call under the send lock.</summary>
    private void MarkStreamLost()
    {
        _streamLost?.TrySetResult();
        _streamLost = null;
        _lostSinceConfirm |= _sentSinceConfirm;
    }

    /// <summary>Opens and negotiates a stream within <see cref="XmppConnectionOptions.NegotiationTimeout"/>; traced and measured as one connect attempt.</summary>
    private async Task<XmppStream> EstablishWithTimeoutAsync(bool isReconnect, CancellationToken cancellationToken)
    {
        using var activity = XmppInstruments.Source.StartActivity("xmpp.connect", System.Diagnostics.ActivityKind.Client);
        activity?.SetTag("server.address", ServerAddress.Domain);
        activity?.SetTag(XmppInstruments.KindTag, isReconnect ? "reconnect" : "connect");
        var started = XmppInstruments.ConnectsEnabled ? System.Diagnostics.Stopwatch.GetTimestamp() : 0;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, Lifetime);
        timeout.CancelAfter(Options.NegotiationTimeout);
        try
        {
            var stream = await EstablishStreamAsync(isReconnect, timeout.Token).ConfigureAwait(false);
            var outcome = ResumedLastTime ? "resumed" : "established";
            XmppInstruments.RecordConnect(isReconnect, outcome, started);
            activity?.SetTag(XmppInstruments.OutcomeTag, outcome);
            return stream;
        }
        catch (Exception ex)
        {
            XmppInstruments.RecordConnect(isReconnect, "failed", started);
            activity?.SetTag(XmppInstruments.OutcomeTag, "failed");
            XmppInstruments.SetError(activity, ex);
            if (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested && !Lifetime.IsCancellationRequested)
            {
                throw new XmppTransportException($"Connecting and negotiating the stream took longer than {Options.NegotiationTimeout.TotalSeconds:0.#} s.", isTransient: true, ex);
            }

            throw;
        }
    }

    private void Activate(XmppStream stream, bool resumed)
    {
        var lifetime = Lifetime;
        MarkReceived();
        ConnectionStateChangedEventArgs? change;
        lock (_sendLock)
        {
            var resend = OnActivating(stream, resumed);
            stream.StartWriter(lifetime);
            foreach (var stanza in resend)
            {
                stream.Enqueue(stanza);
            }

            _backlog.MoveTo(stream);
            foreach (var early in EarlyStanzas)
            {
                Dispatch(early);
            }

            EarlyStanzas.Clear();
            _stream = stream;
            _streamLost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            change = ChangeState(XmppConnectionState.Connected, null, resumed);
        }

        RaiseStateChanged(change);

        _ = Task.Run(() => RunSessionAsync(stream, lifetime), CancellationToken.None);
    }

    private static async Task AwaitQuietly(Task? task)
    {
        if (task is null)
        {
            return;
        }

        try
        {
            await task.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Expected on shutdown.
        }
    }
}
