using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp.Muc;

/// <summary>Joining, joining again, and the self-ping (XEP-0410) that notices a room that dropped us without a word.</summary>
public sealed partial class Room
{
    /// <summary>How long to wait for the subject after our own presence; rooms send it last (XEP-0045 §7.2.15), but not every room sends one.</summary>
    private static readonly TimeSpan SubjectGrace = TimeSpan.FromSeconds(5);

    /// <summary>How far before the last message seen a rejoin's history starts, against clock differences; replays already seen are dropped.</summary>
    private static readonly TimeSpan RejoinOverlap = TimeSpan.FromSeconds(5);

    private JoinAttempt? _attempt;
    private TaskCompletionSource? _leaving;
    private DateTimeOffset? _lastMessageAt;
    private DateTimeOffset _joinedAt;
    private long _lastActivity;
    private CancellationTokenSource? _selfPing;
    private int _rejoinRunning;
    private int _rejoinAgain;

    /// <summary>The outcome of one self-ping.</summary>
    internal enum SelfPingResult
    {
        Joined,
        NotJoined,
        Unknown,
    }

    /// <summary>Sends join presences until the room lets us in (trying the next nickname after a conflict if allowed).</summary>
    internal async Task JoinCoreAsync(string nick, RoomHistory history, CancellationToken cancellationToken)
    {
        for (var attemptNumber = 1; ; attemptNumber++)
        {
            var candidate = attemptNumber == 1 ? nick : nick + attemptNumber.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var attempt = new JoinAttempt(candidate);
            lock (_lock)
            {
                if (_state == RoomState.Left)
                {
                    throw new OperationCanceledException($"{Jid} was left while joining.");
                }

                _attempt = attempt;
            }

            try
            {
                await RunAttemptAsync(attempt, history, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (RoomNickConflictException) when (Options.NickConflict == NickConflictPolicy.TakeNext && attemptNumber < Options.MaxNickAttempts
                && (nick.Length + 3) <= RoomJoinOptions.MaxNickLength)
            {
                MucLog.NickTaken(_manager.Client.Logger, Jid.ToString(), candidate);
            }
            finally
            {
                lock (_lock)
                {
                    if (_attempt == attempt)
                    {
                        _attempt = null;
                    }
                }
            }
        }
    }

    private async Task RunAttemptAsync(JoinAttempt attempt, RoomHistory history, CancellationToken cancellationToken)
    {
        var presence = MucStanzas.Join(Jid.WithResource(attempt.Nick), history, Options.Password);
        _manager.Client.Capabilities.Decorate(presence);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Options.JoinTimeout);
        try
        {
            await _manager.Client.SendAsync(presence, timeout.Token).ConfigureAwait(false);
            await attempt.Self.WaitAsync(timeout.Token).ConfigureAwait(false);
            await Task.WhenAny(attempt.Subject, Task.Delay(SubjectGrace, _manager.Time, timeout.Token)).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"{Jid} did not confirm the join as '{attempt.Nick}' within {Options.JoinTimeout}.");
        }

        lock (_lock)
        {
            if (_state == RoomState.Left)
            {
                throw new OperationCanceledException($"{Jid} was left while joining.");
            }

            _state = RoomState.Joined;
            _joinedAt = _manager.Time.GetUtcNow();
        }

        Touch();
        StartSelfPing();
    }

    /// <summary>
    /// Joins again under the same nickname, asking only for history since the last message seen (or none if we saw none
    /// and asked for none). Failures other than a lost connection remove the room (<see cref="Removed"/>).
    /// </summary>
    internal async Task RejoinAsync(string why)
    {
        if (Interlocked.Exchange(ref _rejoinRunning, 1) == 1)
        {
            // A rejoin is under way; run once more after it, for the session that asked now.
            Volatile.Write(ref _rejoinAgain, 1);
            return;
        }

        try
        {
            do
            {
                Volatile.Write(ref _rejoinAgain, 0);
                await RejoinOnceAsync(why).ConfigureAwait(false);
            }
            while (Volatile.Read(ref _rejoinAgain) == 1 && State == RoomState.Rejoining);
        }
        finally
        {
            Volatile.Write(ref _rejoinRunning, 0);
        }
    }

    private async Task RejoinOnceAsync(string why)
    {
        string nick;
        RoomHistory history;
        lock (_lock)
        {
            if (_state is not (RoomState.Joined or RoomState.Rejoining))
            {
                return;
            }

            _state = RoomState.Rejoining;
            _stale ??= [.. _occupants.Keys];
            nick = _nick;
            history = _lastMessageAt is { } last ? RoomHistory.SentSince(last - RejoinOverlap)
                : Options.History.MaxStanzas == 0 ? RoomHistory.None : RoomHistory.SentSince(_joinedAt - RejoinOverlap);
        }

        StopSelfPing();
        MucLog.Rejoining(_manager.Client.Logger, Jid.ToString(), nick, why, history.ToString());
        try
        {
            await JoinCoreAsync(nick, history, _manager.Client.Lifetime).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is XmppTransportException or OperationCanceledException)
        {
            // The connection went away (again): the next session rejoins.
            MucLog.RejoinInterrupted(_manager.Client.Logger, Jid.ToString(), ex.Message);
            return;
        }
        catch (Exception ex) when (ex is RoomJoinException or TimeoutException)
        {
            lock (_lock)
            {
                if (_state == RoomState.Left)
                {
                    return;
                }

                _state = RoomState.Left;
            }

            _manager.Forget(this);
            MucLog.RejoinFailed(_manager.Client.Logger, Jid.ToString(), ex.Message);
            RaiseRemoved(new RoomRemovedEventArgs(this, RoomExitReason.RejoinFailed, ex.Message, null, ex));
            return;
        }

        EventInvoker.Raise(Rejoined, this, _manager.Client.Logger, "room Rejoined");
    }

    /// <summary>A first join that failed: the room is forgotten without a word to it.</summary>
    internal void Abandon()
    {
        lock (_lock)
        {
            _state = RoomState.Left;
        }

        StopSelfPing();
        _manager.Forget(this);
    }

    /// <summary>The client disconnected for good: the room is gone with the session.</summary>
    internal void OnDisconnected()
    {
        JoinAttempt? attempt;
        lock (_lock)
        {
            if (_state == RoomState.Left)
            {
                return;
            }

            _state = RoomState.Left;
            attempt = _attempt;
        }

        StopSelfPing();
        attempt?.Fail(new XmppNotConnectedException(XmppConnectionState.Disconnected, $"Disconnected while joining {Jid}."));
        RaiseRemoved(new RoomRemovedEventArgs(this, RoomExitReason.Disconnected, null, null, null));
    }

    /// <summary>Pings our own occupant JID: the room answers (or forwards to us) while we are in, and refuses once it dropped us.</summary>
    internal async Task<SelfPingResult> PingSelfAsync(CancellationToken cancellationToken)
    {
        var ping = new Iq(IqType.Get, Jid.WithResource(Nick), new XmppElement("ping", XmppNamespaces.Ping));
        try
        {
            await _manager.Client.SendIqAsync(ping, _manager.Client.ConnectionOptions.DefaultIqTimeout, cancellationToken).ConfigureAwait(false);
            return SelfPingResult.Joined;
        }
        catch (XmppStanzaException ex)
        {
            return ex.Condition switch
            {
                // XEP-0410 §3: the room answers these itself when the occupant JID is not ours (any more).
                "not-acceptable" or "item-not-found" => SelfPingResult.NotJoined,

                // Forwarded to a client that does not know ping: we are still in.
                "service-unavailable" or "feature-not-implemented" => SelfPingResult.Joined,
                _ => SelfPingResult.Unknown,
            };
        }
        catch (TimeoutException)
        {
            return SelfPingResult.Unknown;
        }
    }

    private void StartSelfPing()
    {
        if (Options.SelfPingInterval == Timeout.InfiniteTimeSpan)
        {
            return;
        }

        var cts = CancellationTokenSource.CreateLinkedTokenSource(_manager.Client.Lifetime);
        Interlocked.Exchange(ref _selfPing, cts)?.Cancel();
        _manager.RunInBackground(() => SelfPingLoopAsync(cts.Token), Jid);
    }

    private void StopSelfPing() => Interlocked.Exchange(ref _selfPing, null)?.Cancel();

    private async Task SelfPingLoopAsync(CancellationToken cancellationToken)
    {
        var interval = Options.SelfPingInterval;
        try
        {
            while (true)
            {
                var idle = _manager.Time.GetElapsedTime(Volatile.Read(ref _lastActivity));
                if (idle < interval)
                {
                    await Task.Delay(interval - idle, _manager.Time, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                SelfPingResult result;
                try
                {
                    result = await PingSelfAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (XmppTransportException ex)
                {
                    // The link dropped under the ping. A resumed session keeps the room, so the loop goes on; a new
                    // session rejoins, which cancels this loop and starts another.
                    MucLog.SelfPingFailed(_manager.Client.Logger, Jid.ToString(), ex.Message);
                    result = SelfPingResult.Unknown;
                }

                Touch();
                if (result == SelfPingResult.NotJoined)
                {
                    MucLog.SelfPingNotJoined(_manager.Client.Logger, Jid.ToString());
                    _manager.RunInBackground(() => RejoinAsync("self-ping: not in the room"), Jid);
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private void Touch() => Volatile.Write(ref _lastActivity, _manager.Time.GetTimestamp());

    /// <summary>One join presence and what the room answered to it.</summary>
    private sealed class JoinAttempt(string nick)
    {
        private readonly TaskCompletionSource _self = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _subject = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string Nick { get; } = nick;

        public bool SelfSeen => _self.Task.IsCompleted;

        /// <summary>Completes when the room sent our own presence; fails with the room's refusal.</summary>
        public Task Self => _self.Task;

        /// <summary>Completes when the room sent the subject after our presence: the end of the history.</summary>
        public Task Subject => _subject.Task;

        public void OnSelfPresence() => _self.TrySetResult();

        public void OnSubject() => _subject.TrySetResult();

        public void Fail(Exception error)
        {
            _self.TrySetException(error);
            _subject.TrySetResult();
        }
    }
}
