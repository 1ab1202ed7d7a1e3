using Parley.Xmpp.Accounts;
using Parley.Xmpp.Core;

namespace Parley.Bots;

/// <summary>
/// The ad-hoc commands (XEP-0050) a bot offers, for clients that show them as a menu (Gajim, Psi, Pidgin's buddy
/// menu). A command runs under the same rules as a message: only for senders on the allow-list (others get
/// <c>forbidden</c>), and its first stage takes a token from the sender's rate limit.
/// </summary>
public sealed class BotCommands
{
    private readonly AdHocCommandHost _host;
    private readonly MessageRules _rules;

    internal BotCommands(AdHocCommandHost host, MessageRules rules)
    {
        _host = host;
        _rules = rules;
    }

    /// <summary>Offers a command.</summary>
    /// <param name="node">Its node, unique for the bot.</param>
    /// <param name="name">What clients show.</param>
    /// <param name="handler">Runs each stage.</param>
    /// <exception cref="InvalidOperationException">A command with that node exists.</exception>
    public void Add(string node, string name, AdHocCommandHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        _host.AddCommand(node, name, async (request, cancellationToken) =>
        {
            if (request.IsFirstStage && _rules.TakeRateLimit(request.From.Bare) is { Allowed: false } limited)
            {
                return AdHocResponse.Failed(RateLimitNotice(limited));
            }

            return await handler(request, cancellationToken).ConfigureAwait(false);
        }, _rules.Allows);
    }

    /// <summary>What a limited sender is told, in a chat or as a command's answer.</summary>
    internal static string RateLimitNotice(RateLimitDecision decision)
        => $"Too many messages — I answer again in {(int)Math.Ceiling(decision.RetryAfter.TotalSeconds)} s.";
}
