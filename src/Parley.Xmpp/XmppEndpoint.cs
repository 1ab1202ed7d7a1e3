using System.Collections.Concurrent;
using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Parley.Xmpp.Core;
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
public abstract partial class XmppEndpoint : IAsyncDisposable, ISessionEvents
{
    private readonly IStanzaOutbox _outbox;
    private readonly ConcurrentDictionary<(string Name, string Namespace), IqHandlerEntry> _iqHandlers = new();
    private readonly Dictionary<Type, object> _extensions = [];
    private ImmutableArray<Func<Message, CancellationToken, ValueTask>> _messageHandlers = [];
    private ImmutableArray<Func<Presence, CancellationToken, ValueTask>> _presenceHandlers = [];
    private bool _disposed;

    /// <summary>Creates the endpoint over the session engine <paramref name="createSession"/> makes for it.</summary>
    /// <param name="options">The connection settings; validated first.</param>
    /// <param name="loggerFactory">Where to log.</param>
    /// <param name="createSession">Makes the engine, given what it reports to, the connection logger and the traffic logger.</param>
    /// <param name="outbox">
    /// Makes where sent stanzas go instead of the engine, given the requests waiting for answers (which it completes as a
    /// connection's reader would); <see langword="null"/> for the engine.
    /// </param>
    private protected XmppEndpoint(
        XmppConnectionOptions options, ILoggerFactory? loggerFactory, Func<ISessionEvents, ILogger, ILogger, XmppSession> createSession, Func<IqTracker, IStanzaOutbox>? outbox = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        LoggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        Logger = LoggerFactory.CreateLogger(GetType().FullName ?? "Parley.Xmpp");
        Session = createSession(this, Logger, LoggerFactory.CreateLogger("Parley.Xmpp.Traffic"));
        _outbox = outbox?.Invoke(Session.Iqs) ?? Session;
        Disco = new ServiceDiscovery(this);
        SetIqHandler("ping", XmppNamespaces.Ping, static (_, _) => ValueTask.FromResult<XmppElement?>(null));
    }

    /// <summary>The current state.</summary>
    public XmppConnectionState State => Session.State;

    /// <summary>The address of this endpoint: the bound full JID of a client, the domain of a component. <see langword="null"/> before the first connection.</summary>
    public Jid? Jid => Session.Jid;

    /// <summary>Service discovery (XEP-0030): the features and identities this endpoint announces, and queries of others.</summary>
    public ServiceDiscovery Disco { get; }

    /// <summary>Raised when <see cref="State"/> changes. Runs on a library thread; do not block in it.</summary>
    public event EventHandler<ConnectionStateChangedEventArgs>? StateChanged;

    /// <summary>Raised when stanzas could not be delivered because the connection ended for good (disposed, or reconnecting gave up).</summary>
    public event EventHandler<UndeliveredStanzasEventArgs>? Undelivered;

    internal ILoggerFactory LoggerFactory { get; }

    internal ILogger Logger { get; }

    internal XmppConnectionOptions ConnectionOptions => Session.Options;

    /// <summary>Cancelled when the endpoint is disconnected or disposed.</summary>
    internal CancellationToken Lifetime => Session.Lifetime;

    /// <summary>The engine: the connection, its state, the send path and the requests waiting for answers.</summary>
    private protected XmppSession Session { get; }

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
    public Task ConnectAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return Session.ConnectAsync(cancellationToken);
    }

    /// <summary>Closes the stream politely and stops reconnecting. Stanzas not yet delivered are reported through <see cref="Undelivered"/>.</summary>
    /// <param name="cancellationToken">
    /// Cancels waiting: for a connect or disconnect under way (then nothing was done), or for the server's closing tag (the
    /// connection is then closed at once).
    /// </param>
    /// <exception cref="OperationCanceledException">Cancelled while another connect or disconnect was under way.</exception>
    public Task DisconnectAsync(CancellationToken cancellationToken = default) => Session.DisconnectAsync(cancellationToken);

    /// <summary>Disconnects and releases everything.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        await DisconnectAsync().ConfigureAwait(false);
        _disposed = true;
        Session.Dispose();
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
        Session.Prepare(stanza);
        return _outbox.EnqueueAsync(stanza, cancellationToken);
    }

    /// <summary>
    /// Completes once the server has confirmed every stanza whose <see cref="SendAsync"/> completed before this call. With
    /// stream management (a client whose server offers it), that is the server's acknowledgement; the wait lasts across a
    /// resumption or a new session, which send unacknowledged stanzas again. Otherwise (a component, or no stream
    /// management) it is a ping to the server on the same stream, which the server answers only after processing
    /// everything before it; an unanswered ping takes the connection for dead and reconnects.
    /// </summary>
    /// <remarks>
    /// Whatever was not confirmed may or may not have reached the server: send it again for at-least-once delivery (with
    /// the same id, so the receiver can drop a duplicate).
    /// </remarks>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <exception cref="XmppNotConnectedException">Not connected.</exception>
    /// <exception cref="XmppTransportException">The connection was lost (or, with stream management, given up) before the
    /// server confirmed; without stream management also when a connection that carried stanzas sent since the previous
    /// call was lost, even though a new one is up.</exception>
    public Task ConfirmSentAsync(CancellationToken cancellationToken = default) => Session.ConfirmSentAsync(cancellationToken);

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
    public Task<Iq> SendIqAsync(Iq request, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
        => Session.Iqs.RequestAsync(request, timeout ?? Session.Options.DefaultIqTimeout, SendAsync, cancellationToken);

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

    ValueTask ISessionEvents.DispatchAsync(Stanza stanza, CancellationToken cancellationToken) => DispatchOneAsync(stanza, cancellationToken);

    void ISessionEvents.OnStateChanged(ConnectionStateChangedEventArgs change) => StateChanged?.Invoke(this, change);

    void ISessionEvents.OnUndelivered(UndeliveredStanzasEventArgs undelivered) => Undelivered?.Invoke(this, undelivered);

    private sealed class Registration(Action dispose) : IDisposable
    {
        private Action? _dispose = dispose;

        public void Dispose() => Interlocked.Exchange(ref _dispose, null)?.Invoke();
    }
}
