using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Parley.Xmpp;
using Parley.Xmpp.Core;
using Parley.Xmpp.Muc;

namespace Parley.Bots;

/// <summary>The runner's group chat: joining the configured rooms and handing requests addressed to the bot to it.</summary>
public sealed partial class BotRunner
{
    /// <summary>How many room messages may wait for the bot; further ones are dropped with a log line (a flood, not a conversation).</summary>
    private const int MaxQueuedRoomMessages = 256;

    private readonly Channel<(RoomMessageEventArgs Message, Jid? RealJid)> _roomInbox = Channel.CreateBounded<(RoomMessageEventArgs, Jid?)>(
        new BoundedChannelOptions(MaxQueuedRoomMessages) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });

    private readonly Dictionary<Jid, DateTimeOffset> _roomNoticeUntil = [];
    private Task _roomLoop = Task.CompletedTask;

    /// <summary>The rooms joined after connecting (history: none). After a reconnect the library joins them again.</summary>
    public IReadOnlyList<BotRoom> Rooms { get; init; } = [];

    /// <summary>The prefix that addresses the bot in a room besides its nickname ("!report 1234"); <see langword="null"/> for none.</summary>
    public string? CommandPrefix { get; init; } = "!";

    /// <summary>Subscribes to room messages before connecting, so group chat is in the caps from the first presence.</summary>
    private void PrepareRooms()
    {
        if (Rooms.Count == 0)
        {
            return;
        }

        Client.Rooms.MessageReceived += OnRoomMessage;
        _roomLoop = ReadRoomMessagesAsync(_stopping.Token);
    }

    private async Task JoinRoomsAsync(CancellationToken cancellationToken)
    {
        foreach (var room in Rooms)
        {
            try
            {
                var joined = await Client.Rooms.JoinAsync(room.Jid, room.Nick, new RoomJoinOptions { Password = room.Password, History = RoomHistory.None }, cancellationToken).ConfigureAwait(false);
                LogJoined(_logger, Name, room.Jid.ToString(), joined.Nick);
            }
            catch (Exception ex) when (ex is RoomJoinException or TimeoutException or XmppException or InvalidOperationException)
            {
                // One room refusing must not keep the bot from its other rooms and its chats.
                LogJoinFailed(_logger, Name, room.Jid.ToString(), ex.Message);
            }
        }
    }

    private void StopRooms()
    {
        if (Rooms.Count > 0)
        {
            Client.Rooms.MessageReceived -= OnRoomMessage;
        }

        _roomInbox.Writer.TryComplete();
    }

    private void OnRoomMessage(object? sender, RoomMessageEventArgs e)
    {
        // The sender's real JID as the room showed it when the message came: this handler runs on the dispatch loop, in
        // order with the room's presences, whereas by the time the queued message is handled the nickname may belong
        // to someone else, who must not receive what the asker asked for.
        var realJid = e.Nick is null || e.IsOwn ? null : e.Room.GetOccupant(e.Nick)?.RealJid;
        if (!_roomInbox.Writer.TryWrite((e, realJid)) && !e.IsOwn)
        {
            LogRoomQueueFull(_logger, Name, e.Room.Jid.ToString());
        }
    }

    private async Task ReadRoomMessagesAsync(CancellationToken cancellationToken)
    {
        await Task.Yield();
        try
        {
            await foreach (var (e, realJid) in _roomInbox.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                try
                {
                    await HandleRoomMessageAsync(e, realJid, cancellationToken).ConfigureAwait(false);
                }
                catch (XmppException ex)
                {
                    LogRoomAnswerFailed(_logger, Name, e.Room.Jid.ToString(), ex.Message);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // stopping
        }
    }

    private async Task HandleRoomMessageAsync(RoomMessageEventArgs e, Jid? realJid, CancellationToken cancellationToken)
    {
        var verdict = RoomAddressing.Classify(e, CommandPrefix, out var text, out var isMention);
        var rateLimit = RateLimitDecision.Unlimited;
        if (verdict == RoomVerdict.Accepted)
        {
            if (realJid is null ? !_rules.AllowsEveryone : !_rules.Allows(realJid))
            {
                verdict = RoomVerdict.NotAllowed;
            }
            else
            {
                // Per person when the room shows who it is, so a new nickname does not reset the limit; else per occupant.
                rateLimit = _rules.TakeRateLimit(realJid?.Bare ?? e.Room.Jid.WithResource(e.Nick!));
                verdict = rateLimit.Allowed ? RoomVerdict.Accepted : RoomVerdict.RateLimited;
            }
        }

        if (verdict == RoomVerdict.RateLimited)
        {
            await RoomNoticeAsync(e, rateLimit, cancellationToken).ConfigureAwait(false);
            return;
        }

        if (verdict != RoomVerdict.Accepted)
        {
            if (verdict is not (RoomVerdict.Own or RoomVerdict.NotAddressed))
            {
                LogRoomIgnored(_logger, Name, e.Room.Jid.ToString(), e.Nick ?? "(room)", verdict);
            }

            return;
        }

        await _bot.OnRoomRequestAsync(new RoomRequest(e.Room, e.Nick!, realJid, text!, isMention, e.Message), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>At most one notice per room while the limit lasts: a flood by several occupants gets one, not one each.</summary>
    private async Task RoomNoticeAsync(RoomMessageEventArgs e, RateLimitDecision rateLimit, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var due = rateLimit.NoticeDue;
        if (due)
        {
            lock (_roomNoticeUntil)
            {
                due = !_roomNoticeUntil.TryGetValue(e.Room.Jid, out var until) || now >= until;
                if (due)
                {
                    _roomNoticeUntil[e.Room.Jid] = now + rateLimit.RetryAfter;
                }
            }
        }

        if (!due)
        {
            LogRoomIgnored(_logger, Name, e.Room.Jid.ToString(), e.Nick!, RoomVerdict.RateLimited);
            return;
        }

        LogLimited(_logger, Name, $"{e.Room.Jid}/{e.Nick}", (int)Math.Ceiling(rateLimit.RetryAfter.TotalSeconds));
        await _context.SayInRoomAsync(e.Room, $"{e.Nick}: {BotCommands.RateLimitNotice(rateLimit)}", cancellationToken).ConfigureAwait(false);
    }

    [LoggerMessage(8010, LogLevel.Information, "Bot {Bot} joined {Room} as {Nick}")]
    private static partial void LogJoined(ILogger logger, string bot, string room, string nick);

    [LoggerMessage(8011, LogLevel.Error, "Bot {Bot} could not join {Room}: {Reason}")]
    private static partial void LogJoinFailed(ILogger logger, string bot, string room, string reason);

    [LoggerMessage(8012, LogLevel.Debug, "Bot {Bot} ignored a message in {Room} from {Nick}: {Verdict}")]
    private static partial void LogRoomIgnored(ILogger logger, string bot, string room, string nick, RoomVerdict verdict);

    [LoggerMessage(8013, LogLevel.Warning, "Bot {Bot} dropped a message in {Room}: too many waiting")]
    private static partial void LogRoomQueueFull(ILogger logger, string bot, string room);

    [LoggerMessage(8014, LogLevel.Warning, "Bot {Bot} could not answer in {Room}: {Reason}")]
    private static partial void LogRoomAnswerFailed(ILogger logger, string bot, string room, string reason);
}
