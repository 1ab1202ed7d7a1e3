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

    /// <summary>In a room, repeats the request (without the mention or prefix) to the asker, only when addressed.</summary>
    /// <param name="request">The request.</param>
    /// <param name="cancellationToken">Cancelled when the bot stops.</param>
    public override async ValueTask OnRoomRequestAsync(RoomRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var text = request.Text.StartsWith("echo ", StringComparison.OrdinalIgnoreCase) ? request.Text[5..].TrimStart() : request.Text;
        await Context.SayInRoomAsync(request.Room, $"{request.Nick}: {text}", cancellationToken).ConfigureAwait(false);
    }
}
