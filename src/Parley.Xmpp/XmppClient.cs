using System.Globalization;
using Microsoft.Extensions.Logging;
using Parley.Xmpp.Internal;
using Parley.Xmpp.Net;
using Parley.Xmpp.Sasl;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp;

/// <summary>
/// An XMPP client connection (RFC 6120/6121): STARTTLS or direct TLS, SCRAM authentication, resource binding,
/// stream management with resumption, automatic reconnect.
/// </summary>
/// <example>
/// <code>
/// await using var client = new XmppClient(new XmppClientOptions { Jid = Jid.Parse("bot@example.org"), Password = "…" });
/// client.OnMessage(async (message, ct) =>
/// {
///     if (message.Type is MessageType.Chat or MessageType.Normal &amp;&amp; message.Body is { } body)
///         await client.SendAsync(message.CreateReply(body), ct);
/// });
/// await client.ConnectAsync();
/// await client.SendPresenceAsync();
/// </code>
/// </example>
public sealed partial class XmppClient : XmppEndpoint
{
    /// <summary>
    /// Unacknowledged stanzas after which the end of a burst asks for an acknowledgement at once (fewer wait for
    /// <see cref="AckDelay"/>). Each &lt;r/&gt; costs the server a nonza in and an &lt;a/&gt; out: under in-band file transfer, asking
    /// after every 5 stanzas made Prosody run 4 % more code per block than asking after 16 to 256 (which cost alike). The
    /// stanzas kept for a resend stay bounded by this plus what is in flight.
    /// </summary>
    private const int AckBurst = 32;
    private static readonly TimeSpan AckDelay = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// How long an answer to the server's &lt;r/&gt; waits: the server asks again each time its output drains while we owe
    /// it an answer, so under a stream of stanzas (in-band file transfer) an immediate answer doubles the elements it
    /// handles. A short wait makes one &lt;a/&gt; cover everything that arrived meanwhile; a graceful close still sends a last one.
    /// </summary>
    private static readonly TimeSpan AckAnswerDelay = TimeSpan.FromMilliseconds(50);

    /// <summary>The stream an answer to &lt;r/&gt; is pending for (a new stream after a reconnect gets its own).</summary>
    private XmppStream? _ackAnswerFor;

    /// <summary>
    /// Our last &lt;r/&gt; and the stream it went out on, until an &lt;a/&gt; answers it. Per stream: a request that a lost
    /// stream took with it does not keep the next stream from asking.
    /// </summary>
    private AckRequest? _ackRequest;
    private readonly XmppClientOptions _options;
    private readonly StreamManagement _sm = new();
    private Jid? _boundJid;
    private Presence? _lastBroadcastPresence;
    private List<Stanza> _carryOver = [];

    /// <summary>Creates a client. Nothing happens on the network until <see cref="XmppEndpoint.ConnectAsync"/>.</summary>
    /// <param name="options">The account and connection settings.</param>
    /// <param name="loggerFactory">Where to log; the traffic log is category <c>Parley.Xmpp.Traffic</c> at Trace level, secrets redacted.</param>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public XmppClient(XmppClientOptions options, ILoggerFactory? loggerFactory = null)
        : base(options, loggerFactory, XmppNamespaces.Client)
    {
        _options = options;
        Disco.AddIdentity(new Im.DiscoIdentity("client", "bot", options.SoftwareName));
        Roster = new Im.RosterManager(this);
        Presences = new Im.PresenceManager(this);
        Capabilities = new Im.EntityCapabilities(this);
    }

    /// <summary>The full JID the server bound, or <see langword="null"/> before the first connection.</summary>
    public override Jid? Jid => _boundJid;

    /// <summary>The roster (RFC 6121 §2): contacts, pushes, subscription management.</summary>
    public Im.RosterManager Roster { get; }

    /// <summary>Presence of contacts and subscription requests (RFC 6121 §3–4).</summary>
    public Im.PresenceManager Presences { get; }

    /// <summary>Entity capabilities (XEP-0115): our own hash and a cache of peers'.</summary>
    public Im.EntityCapabilities Capabilities { get; }

    /// <summary>The account's bare JID (what roster pushes must come from).</summary>
    internal Jid AccountJid => _options.Jid.Bare;

    /// <summary>Whether the server announced roster versioning (RFC 6121 §2.6) on the current connection.</summary>
    internal bool RosterVersioningOffered { get; set; }

    /// <summary>The last broadcast available presence, or <see langword="null"/> when the last broadcast was unavailable or none was sent.</summary>
    internal Presence? LastBroadcastPresence => _lastBroadcastPresence;

    /// <summary>Whether stream management (XEP-0198) is active on the current connection.</summary>
    public bool IsStreamManagementEnabled => _sm.Enabled;

    /// <summary>Broadcasts an available presence (and remembers it, to restore after a reconnect).</summary>
    /// <param name="show">The availability.</param>
    /// <param name="status">Optional status text.</param>
    /// <param name="priority">The resource priority.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <exception cref="XmppNotConnectedException">Not connected.</exception>
    public Task SendPresenceAsync(PresenceShow show = PresenceShow.Online, string? status = null, int priority = 0, CancellationToken cancellationToken = default)
    {
        var presence = new Presence { Show = show, Status = status };
        if (priority != 0)
        {
            presence.Priority = priority;
        }

        return SendAsync(presence, cancellationToken);
    }

    private protected override void PrepareOutgoing(Stanza stanza)
    {
        if (stanza is Presence { To: null } presence && presence.Type is PresenceType.Available or PresenceType.Unavailable)
        {
            if (presence.Type == PresenceType.Available)
            {
                Capabilities.Decorate(presence);
            }

            _lastBroadcastPresence = presence.Type == PresenceType.Available ? presence : null;
        }
    }

    private protected override async Task<XmppStream> EstablishStreamAsync(bool isReconnect, CancellationToken cancellationToken)
    {
        var account = _options.Jid;
        var (stream, features) = await ClientStreamSetup.ConnectAndSecureAsync(account.Domain, account.Bare.ToString(), _options, Logger, TrafficLogger, cancellationToken).ConfigureAwait(false);
        try
        {
            // SASL (RFC 6120 §6).
            await AuthenticateAsync(stream, features, cancellationToken).ConfigureAwait(false);
            features = await ClientStreamSetup.OpenAsync(stream, account.Domain, account.Bare.ToString(), cancellationToken).ConfigureAwait(false);
            RosterVersioningOffered = features.Element("ver", "urn:xmpp:features:rosterver") is not null;
            var smOffered = _options.StreamManagement && features.Element("sm", XmppNamespaces.StreamManagement) is not null;

            // Resume the previous session when possible (XEP-0198 §5).
            ResumedLastTime = false;
            if (isReconnect && smOffered && _sm.CanResume && await TryResumeAsync(stream, cancellationToken).ConfigureAwait(false))
            {
                ResumedLastTime = true;
                return stream;
            }

            // A new session: whatever the old one never confirmed is sent again (nothing silently lost).
            _carryOver.AddRange(_sm.TakeUnacked());
            _sm.OnNewSession();
            await BindAsync(stream, features, cancellationToken).ConfigureAwait(false);
            if (smOffered)
            {
                await EnableStreamManagementAsync(stream, cancellationToken).ConfigureAwait(false);
            }

            Log.Connected(Logger, _boundJid!);
            return stream;
        }
        catch
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task AuthenticateAsync(XmppStream stream, XmppElement features, CancellationToken cancellationToken)
    {
        var offered = features.Element("mechanisms", XmppNamespaces.Sasl)?.Elements("mechanism", XmppNamespaces.Sasl)
            .Select(m => m.Text?.Trim()).OfType<string>().ToList() ?? [];
        var serverBindings = features.Element("sasl-channel-binding", "urn:xmpp:sasl-cb:0")?.Elements("channel-binding", "urn:xmpp:sasl-cb:0")
            .Select(c => c.GetAttribute("type")).OfType<string>().ToList() ?? [];
        var credentials = new SaslCredentials
        {
            Username = _options.Jid.Local!,
            Password = _options.Password,
            IsEncrypted = stream.Transport.IsEncrypted,
            ChannelBindings = stream.Transport.Tls is { } tls ? TlsChannelBinding.Get(tls) : [],
            ServerChannelBindingTypes = serverBindings,
        };
        var mechanism = SaslSelector.Select(offered, credentials, _options.AllowPlainWithoutTls);
        var auth = new XmppElement("auth", XmppNamespaces.Sasl);
        auth.SetAttribute("mechanism", mechanism.Name);
        var initial = mechanism.GetInitialResponse();
        auth.Text = initial.Length == 0 ? "=" : Convert.ToBase64String(initial);
        await stream.WriteAsync(auth, cancellationToken).ConfigureAwait(false);
        for (var round = 0; ; round++)
        {
            if (round > 10)
            {
                throw new XmppAuthenticationException("aborted", "The server kept sending SASL challenges.");
            }

            var answer = await stream.ReadElementAsync(cancellationToken).ConfigureAwait(false);
            if (answer.Namespace != XmppNamespaces.Sasl)
            {
                throw new XmppProtocolException($"Unexpected <{answer.Name}/> during authentication.", "invalid-xml");
            }

            switch (answer.Name)
            {
                case "challenge":
                    var response = mechanism.EvaluateChallenge(DecodeBase64(answer.Text));
                    var element = new XmppElement("response", XmppNamespaces.Sasl) { Text = response.Length == 0 ? null : Convert.ToBase64String(response) };
                    await stream.WriteAsync(element, cancellationToken).ConfigureAwait(false);
                    break;
                case "success":
                    mechanism.VerifySuccess(DecodeBase64(answer.Text));
                    Log.Authenticated(Logger, mechanism.Name);
                    return;
                case "failure":
                    var condition = answer.Children.FirstOrDefault(c => c.Name != "text")?.Name ?? "not-authorized";
                    var text = answer.ElementText("text");
                    throw new XmppAuthenticationException(condition, $"Authentication of {_options.Jid.Bare} with {mechanism.Name} failed: {condition}{(text is null ? string.Empty : $" ({text})")}.");
                default:
                    throw new XmppProtocolException($"Unexpected <{answer.Name}/> during authentication.", "invalid-xml");
            }
        }
    }

    private static byte[] DecodeBase64(string? text)
    {
        if (string.IsNullOrEmpty(text) || text == "=")
        {
            return [];
        }

        try
        {
            return Convert.FromBase64String(text);
        }
        catch (FormatException ex)
        {
            throw new XmppAuthenticationException("incorrect-encoding", "The server sent invalid base64 during authentication.", ex);
        }
    }

    private async Task BindAsync(XmppStream stream, XmppElement features, CancellationToken cancellationToken)
    {
        if (features.Element("bind", XmppNamespaces.Bind) is null)
        {
            throw new XmppProtocolException("The server does not offer resource binding.", "unsupported-feature");
        }

        var bind = new XmppElement("bind", XmppNamespaces.Bind);
        var resource = _boundJid?.Resource ?? _options.Jid.Resource;
        if (resource is not null)
        {
            bind.AddChild("resource", text: resource);
        }

        var result = await NegotiationIqAsync(stream, new Iq(IqType.Set, null, bind), cancellationToken).ConfigureAwait(false);
        var jidText = result.Element("bind", XmppNamespaces.Bind)?.ElementText("jid", XmppNamespaces.Bind);
        if (!Jid.TryParse(jidText, out var bound) || bound.IsBare || bound.Bare != _options.Jid.Bare)
        {
            throw new XmppProtocolException($"The server bound an invalid JID '{jidText}'.", "invalid-xml");
        }

        _boundJid = bound;

        // RFC 3921 sessions: only when the server says they are not optional (RFC 6121 dropped them).
        if (features.Element("session", XmppNamespaces.Session) is { } session && session.Element("optional", XmppNamespaces.Session) is null)
        {
            await NegotiationIqAsync(stream, new Iq(IqType.Set, null, new XmppElement("session", XmppNamespaces.Session)), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>An IQ round trip before the reader runs: reads until the matching response; stanzas that arrive first are kept for dispatch.</summary>
    private async Task<Iq> NegotiationIqAsync(XmppStream stream, Iq request, CancellationToken cancellationToken)
    {
        await stream.WriteAsync(request, cancellationToken).ConfigureAwait(false);
        while (true)
        {
            var element = await stream.ReadElementAsync(cancellationToken).ConfigureAwait(false);
            if (element is Iq { IsRequest: false } response && response.Id == request.Id)
            {
                if (response.Type == IqType.Error)
                {
                    throw new XmppStanzaException(response.Error ?? StanzaError.BadRequest(), response.From);
                }

                return response;
            }

            if (element is Stanza early)
            {
                EarlyStanzas.Add(early);
            }
        }
    }

    private async Task<bool> TryResumeAsync(XmppStream stream, CancellationToken cancellationToken)
    {
        var resume = new XmppElement("resume", XmppNamespaces.StreamManagement);
        resume.SetAttribute("previd", _sm.ResumeId);
        resume.SetAttribute("h", _sm.InboundHandled.ToString(CultureInfo.InvariantCulture));
        await stream.WriteAsync(resume, cancellationToken).ConfigureAwait(false);
        var answer = await stream.ReadElementAsync(cancellationToken).ConfigureAwait(false);
        if (answer.Namespace == XmppNamespaces.StreamManagement && answer.Name == "resumed")
        {
            ApplyAck(answer.GetAttribute("h"));
            Log.SmResumed(Logger, _sm.UnackedCount);
            return true;
        }

        if (answer.Namespace == XmppNamespaces.StreamManagement && answer.Name == "failed")
        {
            // XEP-0198 §5: a server may still say how much it got before the session died.
            if (answer.GetAttribute("h") is not null)
            {
                ApplyAck(answer.GetAttribute("h"));
            }

            Log.SmResumeFailed(Logger, answer.Children.FirstOrDefault()?.Name ?? "no reason", _sm.UnackedCount);
            return false;
        }

        throw new XmppProtocolException($"Unexpected <{answer.Name}/> in answer to <resume/>.", "invalid-xml");
    }

    private async Task EnableStreamManagementAsync(XmppStream stream, CancellationToken cancellationToken)
    {
        var enable = new XmppElement("enable", XmppNamespaces.StreamManagement);
        enable.SetAttribute("resume", "true");
        await stream.WriteAsync(enable, cancellationToken).ConfigureAwait(false);
        while (true)
        {
            var answer = await stream.ReadElementAsync(cancellationToken).ConfigureAwait(false);
            if (answer is Stanza early)
            {
                EarlyStanzas.Add(early);
                continue;
            }

            if (answer.Namespace == XmppNamespaces.StreamManagement && answer.Name == "enabled")
            {
                var resumable = answer.GetAttribute("resume") is "true" or "1";
                _sm.OnEnabled(resumable ? answer.GetAttribute("id") : null, answer.GetAttribute("location"));

                // Stanzas that arrived between <enable/> and <enabled/> count too.
                foreach (var _ in EarlyStanzas)
                {
                    _sm.OnStanzaReceived();
                }

                Log.SmEnabled(Logger, resumable);
                return;
            }

            if (answer.Namespace == XmppNamespaces.StreamManagement && answer.Name == "failed")
            {
                return; // Works without it.
            }

            throw new XmppProtocolException($"Unexpected <{answer.Name}/> in answer to <enable/>.", "invalid-xml");
        }
    }

    private void ApplyAck(string? value)
    {
        if (!uint.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var h) || !_sm.OnAck(h))
        {
            throw new XmppProtocolException($"The server acknowledged an invalid stanza count '{value}'.", "undefined-condition");
        }

        Volatile.Write(ref _ackRequest, null);
    }

    private protected override IReadOnlyList<Stanza> OnActivating(XmppStream stream, bool resumed)
    {
        stream.ElementWritten = element => element is Stanza stanza && _sm.OnStanzaWritten(stanza);
        // Ask for an acknowledgement once a burst is written: at once when several stanzas wait, otherwise after
        // a short quiet period, so one-message-at-a-time traffic is not doubled by an <r/> after every stanza.
        stream.WriterIdle = () =>
        {
            if (!_sm.Enabled || AckRequested(stream) || _sm.UnackedCount == 0)
            {
                return;
            }

            if (_sm.UnackedCount >= AckBurst)
            {
                RequestAck(stream);
            }
            else
            {
                _ = RequestAckLaterAsync(stream);
            }
        };

        if (resumed)
        {
            return _sm.TakeUnacked();
        }

        // New session: restore presence first, then what the old session never confirmed.
        var resend = new List<Stanza>();
        if (_lastBroadcastPresence is { } presence)
        {
            // Our features may have changed while the link was down; the old stream's writer is gone, so updating in place is safe.
            Capabilities.Decorate(presence);
            resend.Add(presence);
        }

        foreach (var stanza in _carryOver)
        {
            if (!ReferenceEquals(stanza, _lastBroadcastPresence))
            {
                resend.Add(stanza);
            }
        }

        _carryOver = [];
        return resend;
    }

    private bool AckRequested(XmppStream stream) => ReferenceEquals(Volatile.Read(ref _ackRequest)?.Stream, stream);

    private void RequestAck(XmppStream stream)
    {
        var request = new AckRequest(stream);
        Volatile.Write(ref _ackRequest, request);
        if (stream.Enqueue(new XmppElement("r", XmppNamespaces.StreamManagement)) && _options.AckTimeout > TimeSpan.Zero)
        {
            _ = WatchAckAsync(request);
        }
    }

    private async Task RequestAckLaterAsync(XmppStream stream)
    {
        if (await WaitWhileConnectedAsync(AckDelay).ConfigureAwait(false) && IsCurrentStream(stream) && _sm.Enabled && !AckRequested(stream) && _sm.UnackedCount > 0)
        {
            RequestAck(stream);
        }
    }

    /// <summary>
    /// Closes the request's stream when the request is still unanswered after <see cref="XmppClientOptions.AckTimeout"/>.
    /// The next connection starts a new session rather than resume: a server that reads our stream but no longer answers
    /// on it (Prosody 0.12 after resuming a connection cut in the middle of a stanza parses nothing more) would take the
    /// resumed stream into the same dead end, and from here a dead link looks the same.
    /// </summary>
    private async Task WatchAckAsync(AckRequest request)
    {
        if (!await WaitWhileConnectedAsync(_options.AckTimeout).ConfigureAwait(false)
            || !ReferenceEquals(Volatile.Read(ref _ackRequest), request) || !IsCurrentStream(request.Stream))
        {
            return;
        }

        Log.AckTimedOut(Logger, _options.AckTimeout, _sm.UnackedCount);
        _sm.ForgetResumption();
        request.Stream.Abort();
    }

    private protected override bool HandleNonza(XmppStream stream, XmppElement element)
    {
        if (element.Namespace != XmppNamespaces.StreamManagement)
        {
            return false;
        }

        switch (element.Name)
        {
            case "r":
                if (!ReferenceEquals(Interlocked.Exchange(ref _ackAnswerFor, stream), stream))
                {
                    _ = AnswerAckLaterAsync(stream);
                }

                return true;
            case "a":
                ApplyAck(element.GetAttribute("h"));
                return true;
            default:
                return false;
        }
    }

    private protected override void OnStanzaReceived(XmppStream stream, Stanza stanza) => _sm.OnStanzaReceived();

    // XEP-0198 §4: an <a/> right before a graceful close, or the server takes what arrived since the last one for lost
    // (Prosody stores such messages offline again or bounces them; the next login would see them twice).
    private protected override void OnClosing(XmppStream stream)
    {
        if (_sm.Enabled)
        {
            SendAck(stream);
        }
    }

    private async Task AnswerAckLaterAsync(XmppStream stream)
    {
        var waited = await WaitWhileConnectedAsync(AckAnswerDelay).ConfigureAwait(false);
        Interlocked.CompareExchange(ref _ackAnswerFor, null, stream);

        // Not waited: disconnecting, and the close sends its own last ack.
        if (waited)
        {
            SendAck(stream);
        }
    }

    /// <summary>Waits <paramref name="delay"/>; false when the connection ended first.</summary>
    private async Task<bool> WaitWhileConnectedAsync(TimeSpan delay)
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

    private void SendAck(XmppStream stream)
    {
        var ack = new XmppElement("a", XmppNamespaces.StreamManagement);
        ack.SetAttribute("h", _sm.InboundHandled.ToString(CultureInfo.InvariantCulture));
        stream.Enqueue(ack);
    }

    private protected override IReadOnlyList<Stanza> OnStreamLost(bool willReconnect) => willReconnect ? [] : _sm.TakeUnacked();

    /// <summary>One &lt;r/&gt; of ours (compared by reference), and the stream it went out on.</summary>
    private sealed class AckRequest(XmppStream stream)
    {
        public XmppStream Stream { get; } = stream;
    }
}
