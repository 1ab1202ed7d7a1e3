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
}
