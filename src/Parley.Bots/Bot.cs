using Microsoft.Extensions.Logging;
using Parley.Xmpp;
using Parley.Xmpp.Core;
using Parley.Xmpp.Muc;
using Parley.Xmpp.Stanzas;

namespace Parley.Bots;

/// <summary>
/// A bot: gets the messages that passed the common rules (<see cref="MessageRules"/>) and answers through
/// <see cref="Context"/>. One instance per account, run by a <see cref="BotRunner"/>.
/// </summary>
public abstract class Bot
{
    private BotContext? _context;

    /// <summary>What the bot shows as its presence status.</summary>
    public abstract string Status { get; }

    /// <summary>The connection and helpers; set by the runner before <see cref="StartAsync"/>.</summary>
    /// <exception cref="InvalidOperationException">The bot is not attached to a runner yet.</exception>
    protected BotContext Context => _context ?? throw new InvalidOperationException("The bot is not running.");

    /// <summary>What the bot's "Help" command (XEP-0050) answers; <see langword="null"/> offers no help command.</summary>
    public virtual string? Help => null;

    /// <summary>Offers the bot's own ad-hoc commands (XEP-0050) besides "Help"; called once before the bot connects.</summary>
    /// <param name="commands">Where to add them.</param>
    protected internal virtual void AddCommands(BotCommands commands)
    {
    }

    /// <summary>Called once before the bot connects: load state, open resources.</summary>
    /// <param name="cancellationToken">Cancels the start.</param>
    public virtual Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Handles one accepted message (chat/normal, with a body, from someone else, allowed and not rate-limited).</summary>
    /// <remarks>Handlers run one at a time in arrival order; long work belongs in a background task (see the report bot).</remarks>
    /// <param name="message">The message.</param>
    /// <param name="cancellationToken">Cancelled when the bot stops.</param>
    public abstract ValueTask OnMessageAsync(Message message, CancellationToken cancellationToken);

    /// <summary>
    /// Handles one request addressed to the bot in a room (by its nickname or the command prefix), live, from a person,
    /// allowed and not rate-limited. The default ignores it: a bot answers in rooms only when it says so.
    /// </summary>
    /// <remarks>Requests run one at a time in arrival order, like <see cref="OnMessageAsync"/>.</remarks>
    /// <param name="request">The request.</param>
    /// <param name="cancellationToken">Cancelled when the bot stops.</param>
    public virtual ValueTask OnRoomRequestAsync(RoomRequest request, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <summary>Called when the host stops, before the bot disconnects: finish or cancel background work.</summary>
    /// <param name="cancellationToken">Signalled when the shutdown must end now.</param>
    public virtual Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    internal void Attach(BotContext context) => _context = context;
}

/// <summary>What a bot can use: its client, its logger, the clock, and replies marked as automatic.</summary>
public sealed class BotContext
{
    internal BotContext(string name, XmppClient client, ILogger logger, TimeProvider time, BotMetrics metrics, CancellationToken stopping)
    {
        Metrics = metrics;
        Stopping = stopping;
        Name = name;
        Client = client;
        Logger = logger;
        Time = time;
    }

    /// <summary>The bot's configured name.</summary>
    public string Name { get; }

    /// <summary>The bot's XMPP client.</summary>
    public XmppClient Client { get; }

    /// <summary>The bot's logger.</summary>
    public ILogger Logger { get; }

    /// <summary>The clock.</summary>
    public TimeProvider Time { get; }

    internal BotMetrics Metrics { get; }

    /// <summary>Cancelled when the bot must stop: background work started by the bot listens to this token.</summary>
    public CancellationToken Stopping { get; }

    /// <summary>Replies to a message with text; the reply is marked <c>Auto-Submitted: auto-replied</c> so other bots do not answer it.</summary>
    /// <param name="to">The message answered.</param>
    /// <param name="text">The reply.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <exception cref="XmppTransportException">The connection is gone.</exception>
    public Task ReplyAsync(Message to, string text, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(to);
        return SendAsync(to.CreateReply(text), cancellationToken);
    }

    /// <summary>Says something to everyone in a room, marked <c>Auto-Submitted: auto-replied</c> so other bots do not answer it.</summary>
    /// <param name="room">The room.</param>
    /// <param name="text">The text.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <exception cref="XmppTransportException">The connection is gone.</exception>
    public Task SayInRoomAsync(Room room, string text, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        ArgumentNullException.ThrowIfNull(text);
        return SendAsync(new Message(room.Jid, text, MessageType.GroupChat) { Id = Stanza.NewId() }, cancellationToken);
    }

    /// <summary>Sends a stanza marked <c>Auto-Submitted: auto-replied</c> (a message) or as is (anything else).</summary>
    /// <param name="message">The message.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <exception cref="XmppTransportException">The connection is gone.</exception>
    public Task SendAsync(Message message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        AutoSubmitted.Mark(message, AutoSubmitted.AutoReplied);
        return Client.SendAsync(message, cancellationToken);
    }
}
