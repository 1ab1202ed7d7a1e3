using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;

namespace Parley.Xmpp.Muc;

/// <summary>What the room sends us: occupants' presence, our own, messages and the subject. Called from the dispatch loop only.</summary>
public sealed partial class Room
{
    /// <summary>The nicknames seen before a rejoin and not yet announced again; those left over when the rejoin completes went away meanwhile.</summary>
    private HashSet<string>? _stale;

    internal void HandlePresence(Presence presence, Jid from)
    {
        Touch();
        var info = MucUserInfo.Read(presence);
        if (presence.Type == PresenceType.Error)
        {
            OnErrorPresence(presence, from);
            return;
        }

        if (from.Resource is not { } nick)
        {
            return;
        }

        bool isSelf;
        lock (_lock)
        {
            // Status 110 marks our own presence; a room that leaves it out still uses our nickname.
            isSelf = info.IsSelf || (_attempt is { } attempt ? attempt.Nick == nick : _nick == nick);
        }

        if (presence.Type == PresenceType.Unavailable)
        {
            if (isSelf)
            {
                OnSelfUnavailable(info, nick);
            }
            else
            {
                OnOccupantUnavailable(info, nick);
            }
        }
        else if (presence.Type == PresenceType.Available)
        {
            OnOccupantAvailable(presence, info, nick, isSelf);
        }
    }

    internal void HandleGroupChat(Message message, Jid from)
    {
        Touch();
        if (message.Type == MessageType.Error)
        {
            MucLog.RoomMessageError(_manager.Client.Logger, Jid.ToString(), message.Error?.ToString() ?? "(no error)");
            return;
        }

        // A message with a subject and no body is a subject change (XEP-0045 §8.1); on join it ends the history.
        if (message.Subject is { } subject && message.Body is null)
        {
            OnSubject(subject, from.Resource);
            return;
        }

        if (message.Body is null)
        {
            return;
        }

        var key = MucStanzas.DedupeKey(Jid, from.Resource, message);
        RoomMessageEventArgs args;
        bool firstJoin;
        lock (_lock)
        {
            args = new RoomMessageEventArgs(this, from.Resource, message, isPrivate: false, isOwn: from.Resource is { } nick && nick == _nick);

            // History replayed after a rejoin overlaps what we saw before; a live message is never a replay.
            var fresh = _seen.Add(string.Empty, key);
            if (!fresh && args.IsHistory)
            {
                MucLog.ReplayedMessageDropped(_manager.Client.Logger, Jid.ToString());
                return;
            }

            var stamp = args.Delay?.Stamp ?? _manager.Time.GetUtcNow();
            if (_lastMessageAt is null || stamp > _lastMessageAt)
            {
                _lastMessageAt = stamp;
            }

            firstJoin = _state == RoomState.Joining;
            if (firstJoin && _history.Count < RoomHistory.MaxMessages)
            {
                _history.Add(args);
            }
        }

        if (!firstJoin)
        {
            EventInvoker.Raise(MessageReceived, this, args, _manager.Client.Logger, "room MessageReceived");
            _manager.RaiseMessage(args);
        }
    }

    internal void HandlePrivate(Message message, Jid from)
    {
        Touch();
        if (message.Body is null || message.Type == MessageType.Error)
        {
            return;
        }

        var args = new RoomMessageEventArgs(this, from.Resource, message, isPrivate: true);
        EventInvoker.Raise(PrivateMessageReceived, this, args, _manager.Client.Logger, "room PrivateMessageReceived");
        _manager.RaiseMessage(args);
    }

    private void OnErrorPresence(Presence presence, Jid from)
    {
        var error = presence.Error ?? new StanzaError("undefined-condition", StanzaErrorType.Cancel);
        JoinAttempt? attempt;
        lock (_lock)
        {
            attempt = _attempt;
        }

        if (attempt is not null && (from.IsBare || from.Resource == attempt.Nick))
        {
            attempt.Fail(RoomJoinException.From(Jid, attempt.Nick, error));
            return;
        }

        MucLog.RoomPresenceError(_manager.Client.Logger, Jid.ToString(), error.ToString());
    }

    private void OnOccupantAvailable(Presence presence, MucUserInfo info, string nick, bool isSelf)
    {
        var occupant = new Occupant(nick, info.Role, info.Affiliation, info.RealJid, isSelf, (Presence)presence.Clone());
        Occupant? previous;
        JoinAttempt? attempt = null;
        List<Occupant> gone = [];
        lock (_lock)
        {
            _stale?.Remove(nick);
            if (!_occupants.TryGetValue(nick, out previous) && _occupants.Count >= Options.MaxOccupants && !isSelf)
            {
                MucLog.OccupantLimit(_manager.Client.Logger, Jid.ToString(), Options.MaxOccupants);
                return;
            }

            _occupants[nick] = occupant;
            if (isSelf)
            {
                _self = occupant;
                _nick = nick;
                if (_attempt is { SelfSeen: false } current)
                {
                    attempt = current;
                    if (_stale is { } stale)
                    {
                        foreach (var name in stale)
                        {
                            if (_occupants.Remove(name, out var old))
                            {
                                gone.Add(old);
                            }
                        }

                        _stale = null;
                    }
                }
            }
        }

        attempt?.OnSelfPresence();
        foreach (var old in gone)
        {
            RaiseOccupantLeft(new OccupantLeftEventArgs(this, old, RoomExitReason.Left, null, null, null));
        }

        if (previous is null)
        {
            EventInvoker.Raise(OccupantJoined, this, new OccupantEventArgs(this, occupant, null), _manager.Client.Logger, "room OccupantJoined");
        }
        else if (!SameStanding(previous, occupant))
        {
            EventInvoker.Raise(OccupantChanged, this, new OccupantEventArgs(this, occupant, previous), _manager.Client.Logger, "room OccupantChanged");
        }
    }

    private void OnOccupantUnavailable(MucUserInfo info, string nick)
    {
        Occupant? old;
        lock (_lock)
        {
            _stale?.Remove(nick);
            _occupants.Remove(nick, out old);
        }

        if (old is not null)
        {
            RaiseOccupantLeft(new OccupantLeftEventArgs(this, old, info.ExitReason(), info.IsDestroyed ? info.DestroyReason : info.Reason, info.Actor, info.ItemNick));
        }
    }

    private void OnSelfUnavailable(MucUserInfo info, string nick)
    {
        var reason = info.ExitReason();
        JoinAttempt? attempt;
        TaskCompletionSource? leaving;
        lock (_lock)
        {
            _occupants.Remove(nick);
            if (reason == RoomExitReason.NickChanged && info.ItemNick is { } newNick)
            {
                // The room renamed us; our presence under the new nickname follows.
                _nick = newNick;
                return;
            }

            attempt = _attempt;
            leaving = _leaving;
            _state = RoomState.Left;
        }

        StopSelfPing();
        _manager.Forget(this);
        if (leaving is not null)
        {
            leaving.TrySetResult();
            return;
        }

        var text = info.IsDestroyed ? info.DestroyReason : info.Reason;
        if (attempt is not null)
        {
            attempt.Fail(new RoomJoinException(Jid, attempt.Nick, null, $"{Jid} removed us while we joined ({reason}{(text is null ? string.Empty : ": " + text)})."));
        }

        MucLog.RemovedFromRoom(_manager.Client.Logger, Jid.ToString(), reason.ToString(), text, info.Actor);
        RaiseRemoved(new RoomRemovedEventArgs(this, reason == RoomExitReason.Left ? RoomExitReason.Error : reason, text, info.Actor, null));
    }

    private void OnSubject(string subject, string? nick)
    {
        JoinAttempt? attempt;
        lock (_lock)
        {
            _subject = subject;
            attempt = _attempt is { SelfSeen: true } current ? current : null;
            if (attempt is not null)
            {
                // The subject ends the join: everything after it is live.
                _state = RoomState.Joined;
            }
        }

        attempt?.OnSubject();
        EventInvoker.Raise(SubjectChanged, this, new RoomSubjectEventArgs(this, subject, nick), _manager.Client.Logger, "room SubjectChanged");
    }

    private void RaiseOccupantLeft(OccupantLeftEventArgs args) =>
        EventInvoker.Raise(OccupantLeft, this, args, _manager.Client.Logger, "room OccupantLeft");

    private void RaiseRemoved(RoomRemovedEventArgs args)
    {
        EventInvoker.Raise(Removed, this, args, _manager.Client.Logger, "room Removed");
        _manager.RaiseRemoved(args);
    }

    private static bool SameStanding(Occupant a, Occupant b) =>
        a.Role == b.Role && a.Affiliation == b.Affiliation && a.RealJid == b.RealJid
        && a.Presence.Show == b.Presence.Show && a.Presence.Status == b.Presence.Status;
}
