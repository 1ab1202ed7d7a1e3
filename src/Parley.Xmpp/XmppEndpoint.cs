using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Parley.Xmpp.Im;
using Parley.Xmpp.Internal;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp;

/// <summary>
/// What a client and a component share: one connection at a time, ordered handler dispatch, IQ requests
/// matched on id and sender, service discovery, and reconnecting after a dropped link.
/// </summary>
/// <remarks>
/// Sending is safe from any thread. Handlers run one at a time, in the order stanzas arrived; a handler
/// that throws is logged and the connection goes on. An IQ handler that needs long (a user's decision, a network
/// connect) takes the request instead (<see cref="SetDeferredIqHandler"/>) and answers it later, so later stanzas
/// are not held up.
/// </remarks>
public abstract partial class XmppEndpoint : IAsyncDisposable
{
    private const int MaxBacklog = 10_000;

    private readonly XmppConnectionOptions _options;
    private readonly Lock _sendLock = new();
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    private readonly Queue<(Stanza Stanza, TaskCompletionSource? Completion)> _backlog = new();
    private readonly ConcurrentDictionary<string, PendingIq> _pendingIqs = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Name, string Namespace), IqHandlerEntry> _iqHandlers = new();
    private readonly Dictionary<Type, object> _extensions = [];
    private ImmutableArray<Func<Message, CancellationToken, ValueTask>> _messageHandlers = [];
    private ImmutableArray<Func<Presence, CancellationToken, ValueTask>> _presenceHandlers = [];
    private Channel<Stanza> _inbound = CreateInbound();
    private int _inboundCount;
    private XmppStream? _stream;
    private CancellationTokenSource? _lifetime;
    private Task? _dispatchTask;
    private Task? _keepAliveTask;
    private int _state;
    private long _lastReceivedTicks;
    private bool _disposed;

    private protected XmppEndpoint(XmppConnectionOptions options, ILoggerFactory? loggerFactory, string contentNamespace)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        ContentNamespace = contentNamespace;
        LoggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        Logger = LoggerFactory.CreateLogger(GetType().FullName ?? "Parley.Xmpp");
        TrafficLogger = LoggerFactory.CreateLogger("Parley.Xmpp.Traffic");
        Disco = new ServiceDiscovery(this);
        SetIqHandler("ping", XmppNamespaces.Ping, static (_, _) => ValueTask.FromResult<XmppElement?>(null));
    }

    /// <summary>The current state.</summary>
    public XmppConnectionState State => (XmppConnectionState)Volatile.Read(ref _state);

    /// <summary>The address of this endpoint: the bound full JID of a client, the domain of a component. <see langword="null"/> before the first connection.</summary>
    public abstract Jid? Jid { get; }

    /// <summary>Service discovery (XEP-0030): the features and identities this endpoint announces, and queries of others.</summary>
    public ServiceDiscovery Disco { get; }

    /// <summary>Raised when <see cref="State"/> changes. Runs on a library thread; do not block in it.</summary>
    public event EventHandler<ConnectionStateChangedEventArgs>? StateChanged;

    /// <summary>Raised when stanzas could not be delivered because the connection ended for good (disposed, or reconnecting gave up).</summary>
    public event EventHandler<UndeliveredStanzasEventArgs>? Undelivered;

    internal ILoggerFactory LoggerFactory { get; }

    internal ILogger Logger { get; }

    internal ILogger TrafficLogger { get; }

    internal string ContentNamespace { get; }

    internal XmppConnectionOptions ConnectionOptions => _options;

    /// <summary>
    /// Unit tests only: while disconnected, stanzas go to this hook instead of failing, so a test can see what
    /// the library answers without a network. Never set by the library itself.
    /// </summary>
    internal Action<Stanza>? OfflineSendHook { get; set; }

    /// <summary>Cancelled when the endpoint is disconnected or disposed.</summary>
    internal CancellationToken Lifetime => _lifetime?.Token ?? CancellationToken.None;

    /// <summary>Registers a handler for every incoming message (including errors and groupchat; filter by <see cref="Message.Type"/>).</summary>
    /// <param name="handler">Called in arrival order, one message at a time.</param>
    /// <returns>Dispose to unregister.</returns>
    public IDisposable OnMessage(Func<Message, CancellationToken, ValueTask> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        ImmutableInterlocked.Update(ref _messageHandlers, static (list, h) => list.Add(h), handler);
        return new Registration(() => ImmutableInterlocked.Update(ref _messageHandlers, static (list, h) => list.Remove(h), handler));
    }

    /// <summary>Registers a handler for every incoming presence.</summary>
    /// <param name="handler">Called in arrival order, one presence at a time.</param>
    /// <returns>Dispose to unregister.</returns>
    public IDisposable OnPresence(Func<Presence, CancellationToken, ValueTask> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        ImmutableInterlocked.Update(ref _presenceHandlers, static (list, h) => list.Add(h), handler);
        return new Registration(() => ImmutableInterlocked.Update(ref _presenceHandlers, static (list, h) => list.Remove(h), handler));
    }

    /// <summary>
    /// Answers IQ get/set requests whose payload is <c>&lt;name xmlns='namespace'/&gt;</c>. The namespace is announced in
    /// disco#info unless <paramref name="announce"/> is false. Requests nobody handles are answered <c>service-unavailable</c>.
    /// </summary>
    /// <param name="name">The payload's local name.</param>
    /// <param name="namespace">The payload's namespace.</param>
    /// <param name="handler">The handler.</param>
    /// <param name="announce">Whether to add the namespace to the disco#info features.</param>
    /// <exception cref="InvalidOperationException">A handler for that payload is already registered.</exception>
    public void SetIqHandler(string name, string @namespace, IqRequestHandler handler, bool announce = true)
    {
        ArgumentNullException.ThrowIfNull(handler);
        AddIqHandler(name, @namespace, new IqHandlerEntry(handler, null, TimeSpan.Zero), announce);
    }

    /// <summary>
    /// Like <see cref="SetIqHandler"/>, for a handler that answers later: it gets an <see cref="IqRequest"/>, returns quickly
    /// (the dispatch loop goes on with the next stanza) and answers through the request when it can. A request not answered
    /// within <paramref name="answerTimeout"/> is answered internal-server-error; a handler that throws before answering
    /// answers at once (its <see cref="XmppStanzaException"/>'s error, else internal-server-error).
    /// </summary>
    /// <param name="name">The payload's local name.</param>
    /// <param name="namespace">The payload's namespace.</param>
    /// <param name="handler">The handler.</param>
    /// <param name="answerTimeout">How long a request may stay unanswered; default 60 s.</param>
    /// <param name="announce">Whether to add the namespace to the disco#info features.</param>
    /// <exception cref="InvalidOperationException">A handler for that payload is already registered.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="answerTimeout"/> is not positive.</exception>
    public void SetDeferredIqHandler(string name, string @namespace, DeferredIqRequestHandler handler, TimeSpan? answerTimeout = null, bool announce = true)
    {
        ArgumentNullException.ThrowIfNull(handler);
        var timeout = answerTimeout ?? TimeSpan.FromSeconds(60);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero, nameof(answerTimeout));
        AddIqHandler(name, @namespace, new IqHandlerEntry(null, handler, timeout), announce);
    }

    private void AddIqHandler(string name, string @namespace, IqHandlerEntry entry, bool announce)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentException.ThrowIfNullOrEmpty(@namespace);
        if (!_iqHandlers.TryAdd((name, @namespace), entry))
        {
            throw new InvalidOperationException($"A handler for <{name} xmlns='{@namespace}'/> is already registered.");
        }

        if (announce)
        {
            Disco.AddFeature(@namespace);
        }
    }

    /// <summary>A registered IQ handler: answers in the dispatch loop, or takes the request and answers later.</summary>
    private sealed record IqHandlerEntry(IqRequestHandler? Immediate, DeferredIqRequestHandler? Deferred, TimeSpan AnswerTimeout);

    /// <summary>Adds an extension (file transfer, a bot feature…) and lets it register its handlers and features.</summary>
    /// <typeparam name="T">The extension type; one instance per type.</typeparam>
    /// <param name="extension">The extension.</param>
    /// <returns>The extension.</returns>
    /// <exception cref="InvalidOperationException">An extension of that type was already added.</exception>
    public T AddExtension<T>(T extension)
        where T : class, IXmppExtension
    {
        ArgumentNullException.ThrowIfNull(extension);
        lock (_extensions)
        {
            if (!_extensions.TryAdd(typeof(T), extension))
            {
                throw new InvalidOperationException($"An extension of type {typeof(T).Name} was already added.");
            }
        }

        extension.Attach(this);
        return extension;
    }

    /// <summary>Returns the extension of type <typeparamref name="T"/>, or <see langword="null"/>.</summary>
    /// <typeparam name="T">The extension type.</typeparam>
    public T? GetExtension<T>()
        where T : class
    {
        lock (_extensions)
        {
            return _extensions.TryGetValue(typeof(T), out var extension) ? (T)extension : null;
        }
    }

    /// <summary>Connects, negotiates and authenticates. Returns once stanzas can be sent.</summary>
    /// <param name="cancellationToken">Cancels the attempt.</param>
    /// <exception cref="XmppTransportException">The server could not be reached, or TLS failed (<see cref="XmppTlsException"/>).</exception>
    /// <exception cref="XmppAuthenticationException">The credentials were refused.</exception>
    /// <exception cref="XmppStreamErrorException">The server closed the stream with an error.</exception>
    /// <exception cref="XmppProtocolException">The server sent something invalid.</exception>
    /// <exception cref="InvalidOperationException">Already connected or connecting.</exception>
    public async Task ConnectAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
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

            _inbound = CreateInbound();
            _dispatchTask = Task.Run(() => RunDispatchAsync(_inbound.Reader, _lifetime.Token), CancellationToken.None);
            Activate(stream, resumed: false);
            if (_options.KeepAliveInterval > TimeSpan.Zero)
            {
                _keepAliveTask = Task.Run(() => RunKeepAliveAsync(_lifetime.Token), CancellationToken.None);
            }
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>Closes the stream politely and stops reconnecting. Stanzas not yet delivered are reported through <see cref="Undelivered"/>.</summary>
    /// <param name="cancellationToken">
    /// Cancels waiting: for a connect or disconnect under way (then nothing was done), or for the server's closing tag (the
    /// connection is then closed at once).
    /// </param>
    /// <exception cref="OperationCanceledException">Cancelled while another connect or disconnect was under way.</exception>
    public async Task DisconnectAsync(CancellationToken cancellationToken = default)
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

            _inbound.Writer.TryComplete();
            await AwaitQuietly(_dispatchTask).ConfigureAwait(false);
            await AwaitQuietly(_keepAliveTask).ConfigureAwait(false);
            FailEverythingPending(new XmppTransportException("The connection was closed by this side.", isTransient: false), stream);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>Disconnects and releases everything.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        await DisconnectAsync().ConfigureAwait(false);
        _disposed = true;
        _lifetime?.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>
    /// Sends a stanza. While reconnecting it waits in a queue and goes out once connected. Completes when the
    /// stanza was written to the connection; with stream management, an unacknowledged stanza is re-sent after a reconnect.
    /// </summary>
    /// <param name="stanza">The stanza. Do not change it after sending.</param>
    /// <param name="cancellationToken">Stops waiting (the stanza may still be sent).</param>
    /// <exception cref="XmppNotConnectedException">Not connected (and not reconnecting).</exception>
    /// <exception cref="XmppTransportException">The connection closed before the stanza was written, or too many stanzas wait for a reconnect.</exception>
    public Task SendAsync(Stanza stanza, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stanza);

        // Every message gets an id: receipts, corrections and duplicate detection after a re-send rely on it.
        if (stanza is Message && stanza.Id is null)
        {
            stanza.Id = Stanza.NewId();
        }

        PrepareOutgoing(stanza);
        var completion = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_sendLock)
        {
            switch (State)
            {
                case XmppConnectionState.Disconnected when OfflineSendHook is { } hook:
                    hook(stanza);
                    return Task.CompletedTask;
                case XmppConnectionState.Disconnected:
                case XmppConnectionState.Connecting:
                    throw new XmppNotConnectedException(State);
                case XmppConnectionState.Connected when _stream is { } stream && stream.Enqueue(stanza, completion):
                    break;
                default:
                    if (_backlog.Count >= MaxBacklog)
                    {
                        throw new XmppTransportException($"Not connected, and {MaxBacklog} stanzas already wait for the reconnect.", isTransient: true);
                    }

                    _backlog.Enqueue((stanza, completion));
                    break;
            }
        }

        return cancellationToken.CanBeCanceled ? completion.Task.WaitAsync(cancellationToken) : completion.Task;
    }

    /// <summary>Sends an IQ request and waits for its response, matched on id and on the address it was sent to.</summary>
    /// <param name="request">A get or set IQ.</param>
    /// <param name="timeout">How long to wait; default <see cref="XmppConnectionOptions.DefaultIqTimeout"/>.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <returns>The result IQ.</returns>
    /// <exception cref="XmppStanzaException">The peer answered with an error; its condition is in the exception.</exception>
    /// <exception cref="TimeoutException">No answer in time.</exception>
    /// <exception cref="XmppNotConnectedException">Not connected (and not reconnecting).</exception>
    /// <exception cref="XmppTransportException">The connection closed before the response arrived.</exception>
    /// <exception cref="ArgumentException">The IQ is not a request, or one with its id is already waiting.</exception>
    public async Task<Iq> SendIqAsync(Iq request, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
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
        if (!_pendingIqs.TryAdd(id, pending))
        {
            throw new ArgumentException($"An IQ with id '{id}' is already waiting for its response.", nameof(request));
        }

        var wait = timeout ?? _options.DefaultIqTimeout;
        try
        {
            await SendAsync(request, cancellationToken).ConfigureAwait(false);
            Iq response;
            try
            {
                response = await pending.Completion.Task.WaitAsync(wait, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException ex)
            {
                throw new TimeoutException($"No response to IQ '{id}' ({request.Payload?.Name} {request.Payload?.Namespace}) from {request.To?.ToString() ?? "the server"} within {wait.TotalSeconds:0.#} s.", ex);
            }

            if (response.Type == IqType.Error)
            {
                throw new XmppStanzaException(response.Error ?? new StanzaError("undefined-condition", StanzaErrorType.Cancel), response.From);
            }

            return response;
        }
        finally
        {
            _pendingIqs.TryRemove(new KeyValuePair<string, PendingIq>(id, pending));
        }
    }

    /// <summary>Sends a ping (XEP-0199) and returns the round-trip time.</summary>
    /// <param name="to">Whom to ping; <see langword="null"/> for the server.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <exception cref="XmppStanzaException">The peer answered with an error.</exception>
    /// <exception cref="TimeoutException">No answer in time.</exception>
    /// <exception cref="XmppNotConnectedException">Not connected (and not reconnecting).</exception>
    public async Task<TimeSpan> PingAsync(Jid? to = null, CancellationToken cancellationToken = default)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        await SendIqAsync(new Iq(IqType.Get, to, new XmppElement("ping", XmppNamespaces.Ping)), cancellationToken: cancellationToken).ConfigureAwait(false);
        return System.Diagnostics.Stopwatch.GetElapsedTime(started);
    }

    /// <summary>Opens a new stream and negotiates it up to the point where stanzas can flow.</summary>
    private protected abstract Task<XmppStream> EstablishStreamAsync(bool isReconnect, CancellationToken cancellationToken);

    /// <summary>Lets the subclass adjust a stanza before it is queued (e.g. a component's default sender).</summary>
    private protected virtual void PrepareOutgoing(Stanza stanza)
    {
    }

    /// <summary>Whether <paramref name="stream"/> is the connection's live stream (not one that was lost or replaced).</summary>
    private protected bool IsCurrentStream(XmppStream stream)
    {
        lock (_sendLock)
        {
            return ReferenceEquals(_stream, stream);
        }
    }

    /// <summary>Called with the new stream before the writer starts: returns stanzas to re-send first (stream management).</summary>
    private protected virtual IReadOnlyList<Stanza> OnActivating(XmppStream stream, bool resumed) => [];

    /// <summary>Handles a top-level element that is not a stanza (stream management nonzas). Returns whether it was handled.</summary>
    private protected virtual bool HandleNonza(XmppStream stream, XmppElement element) => false;

    /// <summary>Called for each stanza read from the stream, before dispatch (stream management counts here).</summary>
    private protected virtual void OnStanzaReceived(XmppStream stream, Stanza stanza)
    {
    }

    /// <summary>Called before a graceful close: the last elements to queue ahead of the closing tag (a final stream management ack).</summary>
    private protected virtual void OnClosing(XmppStream stream)
    {
    }

    /// <summary>Called when the stream died: returns stanzas that were written but never confirmed and will not be re-sent by a resumption.</summary>
    private protected virtual IReadOnlyList<Stanza> OnStreamLost(bool willReconnect) => [];

    /// <summary>Whether a failure means reconnecting is pointless (bad credentials, a resource conflict, a refused certificate).</summary>
    private protected virtual bool IsFatal(Exception error) => error switch
    {
        XmppAuthenticationException => true,
        XmppStreamErrorException { Condition: "conflict" or "not-authorized" or "host-unknown" or "policy-violation" } => true,
        XmppTransportException { IsTransient: false } => true,
        _ => false,
    };

    /// <summary>Stanzas received before the stream was activated (e.g. while waiting for stream management's answer), to dispatch first.</summary>
    private protected List<Stanza> EarlyStanzas { get; } = [];

    private async Task<XmppStream> EstablishWithTimeoutAsync(bool isReconnect, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, Lifetime);
        timeout.CancelAfter(_options.NegotiationTimeout);
        try
        {
            return await EstablishStreamAsync(isReconnect, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested && !Lifetime.IsCancellationRequested)
        {
            throw new XmppTransportException($"Connecting and negotiating the stream took longer than {_options.NegotiationTimeout.TotalSeconds:0.#} s.", isTransient: true, ex);
        }
    }

    private void Activate(XmppStream stream, bool resumed)
    {
        var lifetime = Lifetime;
        Interlocked.Exchange(ref _lastReceivedTicks, Environment.TickCount64);
        ConnectionStateChangedEventArgs? change;
        lock (_sendLock)
        {
            var resend = OnActivating(stream, resumed);
            stream.StartWriter(lifetime);
            foreach (var stanza in resend)
            {
                stream.Enqueue(stanza);
            }

            while (_backlog.TryDequeue(out var queued))
            {
                stream.Enqueue(queued.Stanza, queued.Completion);
            }

            foreach (var early in EarlyStanzas)
            {
                Dispatch(early);
            }

            EarlyStanzas.Clear();
            _stream = stream;
            change = ChangeState(XmppConnectionState.Connected, null, resumed);
        }

        RaiseStateChanged(change);

        _ = Task.Run(() => RunSessionAsync(stream, lifetime), CancellationToken.None);
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
        Interlocked.Exchange(ref _lastReceivedTicks, Environment.TickCount64);
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
            CompletePendingIq(response);
            return ValueTask.CompletedTask;
        }

        Dispatch(stanza);
        return ValueTask.CompletedTask;
    }

    private void Dispatch(Stanza stanza)
    {
        if (Interlocked.Increment(ref _inboundCount) > _options.MaxPendingInboundStanzas)
        {
            throw new XmppProtocolException($"More than {_options.MaxPendingInboundStanzas} received stanzas wait for their handlers; closing the overloaded connection.", "resource-constraint");
        }

        _inbound.Writer.TryWrite(stanza);
    }

    /// <summary>Completes the request a response answers. Internal so unit tests can play the server's part without a socket.</summary>
    internal void CompletePendingIq(Iq response)
    {
        var id = response.Id;
        if (id is null || !_pendingIqs.TryGetValue(id, out var pending))
        {
            return;
        }

        var from = ParseAddress(response, "from");
        if (!IsExpectedResponder(pending.To, from))
        {
            Log.IqResponseFromWrongSender(Logger, id, from?.ToString(), pending.To?.ToString());
            return;
        }

        if (_pendingIqs.TryRemove(new KeyValuePair<string, PendingIq>(id, pending)))
        {
            pending.Completion.TrySetResult(response);
        }
    }

    /// <summary>RFC 6120 §8.1.2.1 / §10.3: a request to nobody (or to our own account) is answered by the server on the account's behalf.</summary>
    private bool IsExpectedResponder(Jid? to, Jid? from)
    {
        var own = Jid;
        if (to is null || (own is not null && to == own.Bare))
        {
            return from is null || (own is not null && (from == own.Bare || from == own || (from.Local is null && from.Resource is null && from.Domain == own.Domain)));
        }

        return from == to;
    }

    private Jid? ParseAddress(Stanza stanza, string attribute)
    {
        var value = stanza.GetAttribute(attribute);
        if (value is null)
        {
            return null;
        }

        if (Jid.TryParse(value, out var jid))
        {
            return jid;
        }

        Log.InvalidAddress(Logger, $"{attribute}='{value}'");
        return null;
    }

    private async Task OnConnectionLostAsync(XmppStream stream, Exception error, CancellationToken lifetime)
    {
        var reconnect = _options.Reconnect.Enabled && error is XmppException && !IsFatal(error) && !lifetime.IsCancellationRequested;
        ConnectionStateChangedEventArgs? change;
        lock (_sendLock)
        {
            if (!ReferenceEquals(_stream, stream))
            {
                return; // DisconnectAsync already took it over.
            }

            _stream = null;

            // What the writer never wrote goes back to the front of the backlog, in order, senders still waiting.
            var unwritten = stream.DrainUnwritten();
            if (unwritten.Count > 0)
            {
                var rest = _backlog.ToArray();
                _backlog.Clear();
                foreach (var (element, completion) in unwritten)
                {
                    if (element is Stanza s)
                    {
                        _backlog.Enqueue((s, completion));
                    }
                }

                foreach (var item in rest)
                {
                    _backlog.Enqueue(item);
                }
            }

            change = ChangeState(reconnect ? XmppConnectionState.Reconnecting : XmppConnectionState.Disconnected, error);
        }

        RaiseStateChanged(change);

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
        var policy = _options.Reconnect;
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

    /// <summary>Set by the subclass's negotiation: whether the stream it just established resumed the previous session.</summary>
    private protected bool ResumedLastTime { get; set; }

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
            while (_backlog.TryDequeue(out var item))
            {
                undelivered.Add(item.Stanza);
                item.Completion?.TrySetException(reason);
            }
        }

        undelivered.AddRange(OnStreamLost(willReconnect: false));
        ReportUndelivered(undelivered, reason);
        foreach (var pending in _pendingIqs)
        {
            if (_pendingIqs.TryRemove(pending))
            {
                pending.Value.Completion.TrySetException(new XmppTransportException("The connection closed before the response arrived.", isTransient: true, reason));
            }
        }
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
            Undelivered?.Invoke(this, new UndeliveredStanzasEventArgs(stanzas, reason));
        }
        catch (Exception ex)
        {
            Log.HandlerFailed(Logger, nameof(Undelivered), ex);
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
            StateChanged?.Invoke(this, change);
        }
        catch (Exception ex)
        {
            // A subscriber's bug must not break the connection's state machine.
            Log.HandlerFailed(Logger, nameof(StateChanged), ex);
        }
    }

    private async Task RunKeepAliveAsync(CancellationToken lifetime)
    {
        var interval = _options.KeepAliveInterval;
        using var timer = new PeriodicTimer(interval / 2);
        try
        {
            while (await timer.WaitForNextTickAsync(lifetime).ConfigureAwait(false))
            {
                if (State != XmppConnectionState.Connected || Environment.TickCount64 - Interlocked.Read(ref _lastReceivedTicks) < interval.TotalMilliseconds)
                {
                    continue;
                }

                XmppStream? stream;
                lock (_sendLock)
                {
                    stream = _stream;
                }

                try
                {
                    await SendIqAsync(new Iq(IqType.Get, null, new XmppElement("ping", XmppNamespaces.Ping)), interval, lifetime).ConfigureAwait(false);
                }
                catch (XmppStanzaException)
                {
                    // Any answer, even an error, proves the link is alive.
                }
                catch (XmppNotConnectedException)
                {
                    return; // Disconnected since the state was read; there is no link left to test.
                }
                catch (Exception ex) when (ex is TimeoutException or XmppTransportException)
                {
                    Log.KeepAliveFailed(Logger, ex.Message);
                    stream?.Abort();
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Disconnected.
        }
    }

    private static Channel<Stanza> CreateInbound() => Channel.CreateUnbounded<Stanza>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });

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

    private sealed class PendingIq(Jid? to)
    {
        public Jid? To { get; } = to;

        public TaskCompletionSource<Iq> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class Registration(Action dispose) : IDisposable
    {
        private Action? _dispose = dispose;

        public void Dispose() => Interlocked.Exchange(ref _dispose, null)?.Invoke();
    }
}
