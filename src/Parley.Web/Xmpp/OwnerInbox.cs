using Microsoft.Extensions.Options;
using Parley.Web.Configuration;
using Parley.Web.Diagnostics;
using Parley.Web.Storage;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;

namespace Parley.Web.Xmpp;

/// <summary>
/// What reaches visitors' JIDs: the owner's replies (stored, then announced by the store's change feed), receipts,
/// typing, and the owner's presence and subscription requests, answered for the visitor. Presence to the gateway's own
/// address is the owner's presence every visitor sees when it is shared. Anybody but the owner gets <c>not-allowed</c>;
/// messages to unknown visitors get <c>item-not-found</c>.
/// </summary>
internal sealed partial class OwnerInbox
{
    private readonly VisitorLink _link;
    private readonly VisitorRepository _visitors;
    private readonly MessageRepository _messages;
    private readonly PresenceTracker _presence;
    private readonly OwnerPresence _ownerPresence;
    private readonly OwnerChatStates _chatStates;
    private readonly OwnerProfileReader _profile;
    private readonly GatewayMetrics _metrics;
    private readonly ILogger<OwnerInbox> _logger;
    private readonly Jid _owner;

    public OwnerInbox(
        IOptions<GatewayOptions> options, VisitorLink link, VisitorRepository visitors, MessageRepository messages, PresenceTracker presence,
        OwnerPresence ownerPresence, OwnerChatStates chatStates, OwnerProfileReader profile, GatewayMetrics metrics, ILogger<OwnerInbox> logger)
    {
        _link = link;
        _visitors = visitors;
        _messages = messages;
        _presence = presence;
        _ownerPresence = ownerPresence;
        _chatStates = chatStates;
        _profile = profile;
        _metrics = metrics;
        _logger = logger;
        _owner = options.Value.OwnerJid;
        _link.SetHandlers(OnMessageAsync, OnPresenceAsync);
        _link.ConnectionChanged += OnLinkChanged;
        _link.VisitorLost += OnVisitorLost;
    }

    /// <summary>
    /// Raised when the owner's presence as a visitor sees it changed (visitor id, <see langword="null"/> for every visitor;
    /// <see cref="OwnerPresence.Online"/>, away or offline).
    /// </summary>
    public event Action<string?, string>? OwnerPresenceChanged;

    private void OnLinkChanged(bool connected)
    {
        if (connected)
        {
            return;
        }

        // While the link is down nobody can tell whether the owner is there (or still typing).
        _chatStates.Clear();
        foreach (var visitorId in _ownerPresence.Clear())
        {
            OwnerPresenceChanged?.Invoke(visitorId, OwnerPresence.Offline);
        }

        if (_ownerPresence.ForgetShared() is { } offline)
        {
            OwnerPresenceChanged?.Invoke(null, offline);
        }
    }

    /// <summary>A visitor's own session was lost (account mode): nobody knows the owner's presence for them any more.</summary>
    private void OnVisitorLost(string visitorId)
    {
        _chatStates.Set(visitorId, ChatStates.Active);
        PublishOwnerPresence(visitorId, _ownerPresence.Forget(visitorId));
    }

    private async ValueTask OnMessageAsync(Message message, CancellationToken cancellationToken)
    {
        var to = message.To;
        var from = message.From;
        // PEP notifies the address whose caps asked for it: the gateway's presence comes from its resource.
        if (to is not null && to.Bare == _link.GatewayJid && from?.Bare == _owner)
        {
            _profile.PepNotified(message);
            return;
        }

        if (to is null || _link.VisitorIdOf(to) is not { } visitorId || from is null)
        {
            return;
        }

        if (message.Type == MessageType.Error)
        {
            await OnBounceAsync(visitorId, message, cancellationToken);
            return;
        }

        if (from.Bare != _owner)
        {
            Log.RefusedStranger(_logger, from.Bare.ToString());
            if (from.Local is not null)
            {
                // Servers and services get no error back (a server's welcome or notice message is not worth a bounce).
                await ReplyErrorAsync(visitorId, message, new StanzaError("not-allowed", StanzaErrorType.Cancel, "This address only talks to its owner."), cancellationToken);
            }

            return;
        }

        try
        {
            var visitor = await _visitors.FindAsync(visitorId, cancellationToken);
            if (visitor is null)
            {
                await ReplyErrorAsync(visitorId, message, StanzaError.ItemNotFound("No such visitor."), cancellationToken);
                return;
            }

            if (message.Element("received", XmppNamespaces.Receipts)?.GetAttribute("id") is { } receiptFor)
            {
                await OnAcknowledgedAsync(visitor.Id, receiptFor, cancellationToken);
            }

            if (ChatMarkers.Of(message) is { } marker)
            {
                await OnMarkerAsync(visitor.Id, marker, cancellationToken);
            }

            // A message with a body means the owner is active again even if the client did not say so.
            var hasBody = message.Body is { Length: > 0 } && message.Type is MessageType.Chat or MessageType.Normal;
            if (ChatStates.Of(message) is { } state)
            {
                _chatStates.Set(visitor.Id, state);
            }
            else if (hasBody)
            {
                _chatStates.Set(visitor.Id, ChatStates.Active);
            }

            if (hasBody && message.Body is { } body)
            {
                var stored = await _messages.AddOwnerMessageAsync(
                    visitor.Id, body, message.Id ?? Stanza.NewId(), OwnerFiles.Find(message, body), ChatMarkers.IsMarkable(message), cancellationToken);
                if (stored is not null)
                {
                    _metrics.MessageToVisitor();
                    if (stored.Attachment is not null)
                    {
                        _metrics.File("to_visitor");
                    }

                    Log.OwnerReplied(_logger, visitor.Id, stored.Id);
                }

                // XEP-0184: the reply is stored (now or, for a copy sent again, before), so every tab will show it.
                if (message.Id is { Length: > 0 } id && message.Element("request", XmppNamespaces.Receipts) is not null)
                {
                    await AcknowledgeAsync(visitor.Id, from, id, cancellationToken);
                }
            }
        }
        catch (ChatStoreException ex)
        {
            // Not stored: tell the owner's client, so the reply is not silently lost (RFC 6120 8.3.3.18, type wait).
            XmppSideLog.StoreFailed(_logger, ex.Message);
            await ReplyErrorAsync(visitorId, message, new StanzaError("resource-constraint", StanzaErrorType.Wait, "The gateway cannot store messages right now; send it again later."), cancellationToken);
        }
    }

    /// <summary>
    /// A chat marker from the owner's client (XEP-0333), naming one of the visitor's messages by the stanza id the gateway
    /// sent it with: <c>received</c> counts as a receipt; <c>displayed</c> and <c>acknowledged</c> make it and the
    /// visitor's earlier messages seen. A marker naming no message of this visitor changes nothing.
    /// </summary>
    private async Task OnMarkerAsync(string visitorId, ChatMarkers.Marker marker, CancellationToken cancellationToken)
    {
        if (marker.MeansSeen)
        {
            var seen = await _messages.MarkSeenAsync(visitorId, marker.Id, cancellationToken);
            Log.MarkedSeen(_logger, visitorId, marker.Id, seen.Count);
        }
        else
        {
            await OnAcknowledgedAsync(visitorId, marker.Id, cancellationToken);
        }
    }

    /// <summary>
    /// The owner's client acknowledged the visitor's message with this stanza id (a receipt, or a <c>received</c>
    /// marker): it is delivered, and the visitor's earlier messages it skipped go again (see <see cref="MessageRepository.ResendGapBeforeAsync"/>).
    /// </summary>
    private async Task OnAcknowledgedAsync(string visitorId, string stanzaId, CancellationToken cancellationToken)
    {
        if (await _messages.MarkDeliveredAsync(visitorId, stanzaId, cancellationToken) is { } delivered
            && await _messages.ResendGapBeforeAsync(delivered, cancellationToken) is { Count: > 0 } resent)
        {
            Log.ResendingSkipped(_logger, visitorId, resent.Count, stanzaId);
        }
    }

    /// <summary>
    /// The owner's server bounced a visitor's message (the owner blocked the visitor with XEP-0191, or the account is
    /// gone): the visitor's page shows it as not delivered. Errors from anybody else change nothing.
    /// </summary>
    private async Task OnBounceAsync(string visitorId, Message error, CancellationToken cancellationToken)
    {
        if (error.From?.Bare != _owner || error.Id is not { Length: > 0 } id)
        {
            return;
        }

        try
        {
            if (await _messages.MarkUndeliveredAsync(visitorId, id, cancellationToken) is not null)
            {
                Log.Bounced(_logger, visitorId, id, error.Error?.Condition ?? "error");
            }
        }
        catch (ChatStoreException ex)
        {
            XmppSideLog.StoreFailed(_logger, ex.Message);
        }
    }

    private async ValueTask OnPresenceAsync(Presence presence, CancellationToken cancellationToken)
    {
        var to = presence.To;
        var from = presence.From;
        if (to is not null && from is not null && to.Bare == _link.GatewayJid)
        {
            await OnGatewayPresenceAsync(presence, from, cancellationToken);
            return;
        }

        if (to is null || _link.VisitorIdOf(to) is not { } visitorId || from is null)
        {
            return;
        }

        var visitor = from.Bare == _owner ? await _visitors.FindAsync(visitorId, cancellationToken) : null;
        if (visitor is null)
        {
            // Only the owner may subscribe to visitors, and only to visitors that exist.
            if (presence.Type == PresenceType.Subscribe)
            {
                await _link.TrySendAsync(visitorId, new Presence(PresenceType.Unsubscribed, from.Bare), openSession: false, cancellationToken);
            }

            return;
        }

        switch (presence.Type)
        {
            case PresenceType.Subscribe:
                var subscribed = new Presence(PresenceType.Subscribed, _owner);
                subscribed.Add(VisitorLink.Nick(visitor.DisplayName));
                await _link.TrySendAsync(visitor.Id, subscribed, openSession: false, cancellationToken);
                await SendCurrentPresenceAsync(visitor, cancellationToken);
                break;
            case PresenceType.Unsubscribe:
                await _link.TrySendAsync(visitor.Id, new Presence(PresenceType.Unsubscribed, _owner), openSession: false, cancellationToken);
                break;
            case PresenceType.Probe:
                await SendCurrentPresenceAsync(visitor, cancellationToken);
                break;
            case PresenceType.Available or PresenceType.Unavailable or PresenceType.Unsubscribed when _ownerPresence.IsShared:
                // Every visitor sees the presence the gateway's own address receives; a directed presence to one visitor changes nothing.
                break;
            case PresenceType.Available:
                PublishOwnerPresence(visitor.Id, _ownerPresence.Apply(visitor.Id, from.Resource ?? "", presence.Show));
                break;
            case PresenceType.Unavailable:
            case PresenceType.Unsubscribed:
                PublishOwnerPresence(visitor.Id, presence.Type == PresenceType.Unsubscribed
                    ? _ownerPresence.Forget(visitor.Id)
                    : _ownerPresence.Apply(visitor.Id, from.Resource ?? "", null));
                break;
            default:
                break;
        }
    }

    /// <summary>
    /// The gateway's own address: the owner's presence through its one subscription, and the owner's client adding the
    /// gateway back (it is answered as available while it runs). Anybody else's subscription request is refused.
    /// </summary>
    private async ValueTask OnGatewayPresenceAsync(Presence presence, Jid from, CancellationToken cancellationToken)
    {
        if (from.Bare != _owner)
        {
            if (presence.Type == PresenceType.Subscribe)
            {
                await _link.TrySendAsGatewayAsync(new Presence(PresenceType.Unsubscribed, from.Bare), cancellationToken);
            }

            return;
        }

        switch (presence.Type)
        {
            case PresenceType.Subscribe:
                await _link.TrySendAsGatewayAsync(new Presence(PresenceType.Subscribed, _owner), cancellationToken);
                await _link.TrySendAsGatewayAsync(new Presence { To = _owner }, cancellationToken);
                break;
            case PresenceType.Probe:
            case PresenceType.Subscribed:
                // Approved just now: the owner's server learns the gateway's caps (and so sends PEP changes) from this.
                await _link.TrySendAsGatewayAsync(new Presence { To = _owner }, cancellationToken);
                break;
            case PresenceType.Unsubscribe:
                await _link.TrySendAsGatewayAsync(new Presence(PresenceType.Unsubscribed, _owner), cancellationToken);
                break;
            case PresenceType.Available when _ownerPresence.IsShared:
                var before = _ownerPresence.For("");
                PublishOwnerPresence(null, _ownerPresence.ApplyShared(from.Resource ?? "", presence.Show));
                _profile.OwnerPresenceSeen(presence, cameOnline: before == OwnerPresence.Offline);
                break;
            case PresenceType.Unavailable when _ownerPresence.IsShared:
                PublishOwnerPresence(null, _ownerPresence.ApplyShared(from.Resource ?? "", null));
                _profile.OwnerPresenceSeen(presence, cameOnline: false);
                break;
            case PresenceType.Unsubscribed when _ownerPresence.IsShared:
                Log.GatewayRefused(_logger, _owner.ToString());
                PublishOwnerPresence(null, _ownerPresence.ForgetShared());
                _profile.OwnerPresenceSeen(presence, cameOnline: false);
                break;
            default:
                break;
        }
    }

    private void PublishOwnerPresence(string? visitorId, string? changed)
    {
        if (changed is not null)
        {
            if (changed == OwnerPresence.Offline)
            {
                if (visitorId is null)
                {
                    _chatStates.Clear();
                }
                else
                {
                    _chatStates.Set(visitorId, ChatStates.Active);
                }
            }

            OwnerPresenceChanged?.Invoke(visitorId, changed);
        }
    }

    private async Task SendCurrentPresenceAsync(Visitor visitor, CancellationToken cancellationToken)
    {
        var online = _presence.IsAnnounced(visitor.Id);
        var presence = new Presence(online ? PresenceType.Available : PresenceType.Unavailable, _owner);
        if (online)
        {
            presence.Add(VisitorLink.Nick(visitor.DisplayName));
        }

        await _link.TrySendAsync(visitor.Id, presence, openSession: false, cancellationToken);
    }

    private async Task AcknowledgeAsync(string visitorId, Jid owner, string messageId, CancellationToken cancellationToken)
    {
        var receipt = new Message { To = owner };
        receipt.AddChild("received", XmppNamespaces.Receipts).SetAttribute("id", messageId);
        await _link.TrySendAsync(visitorId, receipt, openSession: false, cancellationToken);
    }

    private async Task ReplyErrorAsync(string visitorId, Message message, StanzaError error, CancellationToken cancellationToken)
    {
        var reply = new Message { To = message.From, Id = message.Id, TypeName = "error" };
        reply.Add(error.ToElement());
        await _link.TrySendAsync(visitorId, reply, openSession: false, cancellationToken);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 103, Level = LogLevel.Debug, Message = "Refused a message from {Sender}: visitors only talk to the owner")]
        public static partial void RefusedStranger(ILogger logger, string sender);

        [LoggerMessage(EventId = 104, Level = LogLevel.Debug, Message = "The owner replied to visitor {Visitor} (message {MessageId})")]
        public static partial void OwnerReplied(ILogger logger, string visitor, long messageId);

        [LoggerMessage(EventId = 107, Level = LogLevel.Information, Message = "The owner's server bounced visitor {Visitor}'s message {StanzaId} ({Condition}); shown as not delivered")]
        public static partial void Bounced(ILogger logger, string visitor, string stanzaId, string condition);

        [LoggerMessage(EventId = 111, Level = LogLevel.Debug, Message = "The owner's client displayed visitor {Visitor}'s message {StanzaId}: {Count} message(s) now seen")]
        public static partial void MarkedSeen(ILogger logger, string visitor, string stanzaId, int count);

        [LoggerMessage(EventId = 112, Level = LogLevel.Warning, Message = "The owner's client acknowledged visitor {Visitor}'s message {StanzaId} but not {Count} earlier one(s) the server had confirmed: they go again")]
        public static partial void ResendingSkipped(ILogger logger, string visitor, int count, string stanzaId);

        [LoggerMessage(EventId = 110, Level = LogLevel.Warning, Message = "{Owner} refused or revoked the gateway's presence subscription: every visitor sees the owner as offline until it is approved")]
        public static partial void GatewayRefused(ILogger logger, string owner);
    }
}
