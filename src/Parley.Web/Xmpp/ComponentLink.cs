using Microsoft.Extensions.Options;
using Parley.Web.Configuration;
using Parley.Web.Storage;
using Parley.Xmpp;
using Parley.Xmpp.Accounts;
using Parley.Xmpp.Core;
using Parley.Xmpp.Profiles;
using Parley.Xmpp.Stanzas;

namespace Parley.Web.Xmpp;

/// <summary>
/// Component mode (the default): the gateway is a XEP-0114 component for a subdomain such as <c>chat.example.org</c>,
/// and every visitor is <c>&lt;visitor id&gt;@chat.example.org</c> on its one connection. The gateway itself answers for
/// its visitors' presence (the server only routes).
/// </summary>
internal sealed partial class ComponentLink : VisitorLink
{
    private readonly XmppComponent _component;
    private readonly string _domain;
    private readonly bool _confirmSent;
    private readonly bool _probePerVisitor;
    private readonly Jid _gatewayJid;
    private readonly Jid _gatewayPresenceJid;
    private readonly ContactProfiles _profiles;

    // Set when the connection drops, cleared by ConfirmSentAsync: until the outbox has asked, it sends nothing on the next
    // connection, so a message never overtakes an earlier one the lost connection took with it.
    private volatile bool _interrupted;
    private readonly Jid _owner;
    private readonly ILogger _logger;

    public ComponentLink(IOptions<GatewayOptions> options, ILoggerFactory loggerFactory)
    {
        var settings = options.Value;
        _domain = settings.Component.Domain;
        _confirmSent = settings.Component.ConfirmSent;
        _probePerVisitor = !settings.SharesOwnerPresence;
        _gatewayJid = Jid.Create(null, settings.Component.Domain);
        _gatewayPresenceJid = _gatewayJid.WithResource(GatewayResource);
        _owner = settings.OwnerJid;
        _logger = loggerFactory.CreateLogger<ComponentLink>();
        _component = new XmppComponent(
            new XmppComponentOptions
            {
                Domain = settings.Component.Domain,
                Secret = settings.Component.Secret,
                Host = settings.Component.Host,
                Port = settings.Component.Port,
                XmlLimits = settings.XmlLimits,
            },
            loggerFactory);
        _component.Disco.AddFeature(XmppNamespaces.Receipts);
        _component.Disco.AddFeature(XmppNamespaces.ChatStates);
        _component.Disco.AddFeature(ChatMarkers.Namespace);

        // PEP sends the owner's new nick and avatar to a subscriber whose caps ask for them (XEP-0163 +notify): the
        // gateway's presence to the owner carries its caps, and disco#info for that caps node is answered like the root.
        _component.Disco.AddFeature(ContactProfiles.NickNamespace + "+notify");
        _component.Disco.AddFeature(ContactProfiles.AvatarMetadataNamespace + "+notify");
        _component.Disco.NodeInfoProvider = node => node == CapsNode + "#" + CapsVer() ? _component.Disco.GetOwnInfo() : null;

        // Queries without a sender go out from the component's domain, the address the owner approved.
        _profiles = new ContactProfiles(_component);
        _component.OnMessage(OnMessageAsync);
        _component.OnPresence(OnPresenceAsync);
        _component.StateChanged += (_, e) =>
        {
            if (e.NewState == XmppConnectionState.Connected)
            {
                RaiseConnectionChanged(true);
            }
            else if (e.OldState == XmppConnectionState.Connected)
            {
                _interrupted = true;
                RaiseConnectionChanged(false);
            }
        };
    }

    private const string CapsNode = "https://parley.invalid/gateway";

    /// <summary>
    /// The resource the gateway's available presence comes from. libpurple (Pidgin, finch) asks for a contact's ad-hoc
    /// command list only when caps announce one, keeps the list per resource and drops a list that comes from an address
    /// without a resource: from the bare domain the owner's commands would never be listed.
    /// </summary>
    public const string GatewayResource = "parley";

    public override string Name => "component " + _domain;

    public override bool IsConnected => _component.State == XmppConnectionState.Connected;

    public override bool NeedsConnect => _component.State == XmppConnectionState.Disconnected;

    public override Jid? GatewayJid => _gatewayJid;

    public override ContactProfiles? OwnerProfiles => _profiles;

    public override Task<bool> TrySendAsGatewayAsync(Stanza stanza, CancellationToken cancellationToken)
    {
        stanza.From = _gatewayJid;
        if (stanza is Presence { Type: PresenceType.Available or PresenceType.Unavailable } own)
        {
            own.From = _gatewayPresenceJid;
        }

        if (stanza is Presence { Type: PresenceType.Available } presence && presence.Element("c", XmppNamespaces.Caps) is null)
        {
            presence.AddChild("c", XmppNamespaces.Caps).SetAttribute("hash", "sha-1").SetAttribute("node", CapsNode).SetAttribute("ver", CapsVer());
        }

        return SendAsync(stanza, cancellationToken);
    }

    public override Jid VisitorJid(string visitorId) => Jid.Create(visitorId, _domain);

    public override string? VisitorIdOf(Jid address)
        => address.Local is { } local && string.Equals(address.Domain, _domain, StringComparison.Ordinal) ? local : null;

    public override Task ConnectAsync(CancellationToken cancellationToken) => _component.ConnectAsync(cancellationToken);

    public override async Task<bool> AnnounceAsync(Visitor visitor, CancellationToken cancellationToken)
    {
        var from = VisitorJid(visitor.Id);
        var available = new Presence { To = _owner, From = from };
        available.Add(Nick(visitor.DisplayName));

        // The probe makes the owner's server send the owner's current presence, if the owner let this visitor see it.
        // Sharing the gateway's view of the owner, a visitor's probe would only be refused: the visitor is not subscribed.
        return await SendAsync(available, cancellationToken)
            && (!_probePerVisitor || await SendAsync(new Presence(PresenceType.Probe, _owner) { From = from }, cancellationToken));
    }

    public override async Task LeaveAsync(string visitorId, CancellationToken cancellationToken)
        => await SendAsync(new Presence(PresenceType.Unavailable, _owner) { From = VisitorJid(visitorId) }, cancellationToken);

    public override Task<bool> TrySendAsync(string visitorId, Stanza stanza, bool openSession, CancellationToken cancellationToken)
    {
        if (_interrupted)
        {
            return Task.FromResult(false);
        }

        stanza.From = VisitorJid(visitorId);
        return SendAsync(stanza, cancellationToken);
    }

    public override async Task<IReadOnlyCollection<string>> ConfirmSentAsync(IReadOnlyCollection<string> visitorIds, CancellationToken cancellationToken)
    {
        // One stream carries every visitor: one round trip confirms them all.
        _interrupted = false;
        if (!_confirmSent || visitorIds.Count == 0)
        {
            return visitorIds;
        }

        try
        {
            await _component.ConfirmSentAsync(cancellationToken);
            return visitorIds;
        }
        catch (XmppTransportException ex)
        {
            Log.NotConfirmed(_logger, visitorIds.Count, ex.Message);
            return [];
        }
    }

    /// <inheritdoc/>
    /// <remarks>The commands answer on the component's domain (and, as the server routes them alike, on visitors' addresses).</remarks>
    public override bool OfferCommands(AdHocCommandHost commands)
    {
        _component.AddExtension(commands);
        return true;
    }

    public override ValueTask DisposeAsync() => _component.DisposeAsync();

    private string CapsVer() => EntityCapabilities.ComputeVer(_component.Disco.GetOwnInfo());

    private async Task<bool> SendAsync(Stanza stanza, CancellationToken cancellationToken)
    {
        // While the component reconnects the outbox keeps what waits, not the library's backlog: a message queued there
        // would go out on the next stream ahead of one the lost stream took with it, which the outbox sends again.
        if (_component.State != XmppConnectionState.Connected)
        {
            return false;
        }

        try
        {
            await _component.SendAsync(stanza, cancellationToken);
            return true;
        }
        catch (Exception ex) when (ex is XmppTransportException)
        {
            Log.SendDeferred(_logger, ex.Message);
            return false;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 102, Level = LogLevel.Debug, Message = "Not connected, the outbox keeps the stanza for later: {Reason}")]
        public static partial void SendDeferred(ILogger logger, string reason);

        [LoggerMessage(EventId = 106, Level = LogLevel.Warning, Message = "The server did not confirm the messages of {Count} visitors; they are sent again once the link is back: {Reason}")]
        public static partial void NotConfirmed(ILogger logger, int count, string reason);
    }
}
