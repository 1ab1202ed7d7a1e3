using System.Globalization;
using Microsoft.Extensions.Logging;
using Parley.Xmpp.Core;
using Parley.Xmpp.Sasl;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp;

/// <summary>
/// The client's side of the engine (RFC 6120/6121, XEP-0198): connects and secures the stream, authenticates with SASL,
/// binds the resource, enables or resumes stream management, and on a new session restores the last presence and re-sends
/// what the old one never confirmed. Acknowledgement timing is in <c>ClientSession.Acks.cs</c>.
/// </summary>
internal sealed partial class ClientSession : XmppSession
{
    private readonly XmppClientOptions _options;
    private readonly StreamManagement _sm = new();
    private Jid? _boundJid;
    private Presence? _lastBroadcastPresence;
    private List<Stanza> _carryOver = [];

    public ClientSession(XmppClientOptions options, ISessionEvents events, ILogger logger, ILogger trafficLogger)
        : base(options, events, logger, trafficLogger) => _options = options;

    /// <summary>The full JID the server bound, or <see langword="null"/> before the first connection.</summary>
    public override Jid? Jid => _boundJid;

    /// <summary>The account's bare JID (what roster pushes must come from).</summary>
    public Jid AccountJid => _options.Jid.Bare;

    public override Jid ServerAddress => Jid.Create(null, _options.Jid.Domain);

    /// <summary>Whether the server announced roster versioning (RFC 6121 §2.6) on the current connection.</summary>
    public bool RosterVersioningOffered { get; set; }

    /// <summary>The last broadcast available presence, or <see langword="null"/> when the last broadcast was unavailable or none was sent.</summary>
    public Presence? LastBroadcastPresence => _lastBroadcastPresence;

    /// <summary>Whether stream management (XEP-0198) is active on the current connection.</summary>
    public bool IsStreamManagementEnabled => _sm.Enabled;

    /// <summary>Adds our entity capabilities to an available presence (set by the client once its capabilities exist).</summary>
    public Action<Presence>? DecoratePresence { get; set; }

    protected override void PrepareOutgoing(Stanza stanza)
    {
        if (stanza is Presence { To: null } presence && presence.Type is PresenceType.Available or PresenceType.Unavailable)
        {
            if (presence.Type == PresenceType.Available)
            {
                DecoratePresence?.Invoke(presence);
            }

            _lastBroadcastPresence = presence.Type == PresenceType.Available ? presence : null;
        }
    }

    protected override async Task<XmppStream> EstablishStreamAsync(bool isReconnect, CancellationToken cancellationToken)
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

    protected override IReadOnlyList<Stanza> OnActivating(XmppStream stream, bool resumed)
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
            DecoratePresence?.Invoke(presence);
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
}
