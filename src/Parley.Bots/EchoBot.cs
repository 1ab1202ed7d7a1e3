using Parley.Xmpp.Stanzas;

namespace Parley.Bots;

/// <summary>Repeats every accepted message back to its sender (same type and thread).</summary>
public sealed class EchoBot : Bot
{
    /// <inheritdoc />
    public override string Status => "Echo bot: I repeat what you say";

    /// <inheritdoc />
    public override string Help => "I send back every message you send me.";

    /// <inheritdoc />
    public override async ValueTask OnMessageAsync(Message message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        await Context.ReplyAsync(message, message.Body!, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>In a room, repeats what follows the mention ("echo: hi") or the command ("!echo hi") to the asker.</summary>
    /// <param name="request">The request.</param>
    /// <param name="cancellationToken">Cancelled when the bot stops.</param>
    public override async ValueTask OnRoomRequestAsync(RoomRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        const string Command = "echo ";
        var named = request.Text.StartsWith(Command, StringComparison.OrdinalIgnoreCase);
        if (!request.IsMention && !named)
        {
            return; // another bot's command
        }

        var text = named ? request.Text[Command.Length..].TrimStart() : request.Text;
        await Context.SayInRoomAsync(request.Room, $"{request.Nick}: {text}", cancellationToken).ConfigureAwait(false);
    }
}
