using Microsoft.Extensions.Logging;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;

namespace Parley.Bots;

/// <summary>The auto-reply bot's settings.</summary>
public sealed class AutoReplyOptions
{
    /// <summary>The reply text.</summary>
    public string Text { get; set; } = string.Empty;

    /// <summary>How long one reply to a contact lasts before the next message is answered again. Default 24 h.</summary>
    public TimeSpan Period { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How long to wait for a sender's disco#info answer (to skip bots). Default 5 s.</summary>
    public TimeSpan DiscoTimeout { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>
/// Answers with a fixed text, once per contact per period, remembered across restarts. Besides the common rules
/// it never answers: a sender without a local part (a server or service), a client whose disco#info identity is
/// <c>client/bot</c> (Parley's own bots announce that) — and, through the common rules, any message marked
/// <c>Auto-Submitted</c>, which is how every Parley bot marks its own replies. So two auto-responders cannot loop.
/// </summary>
public sealed partial class AutoReplyBot : Bot
{
    private const int MaxKnownBots = 10_000;
    private readonly AutoReplyOptions _options;
    private readonly AutoReplyStore _store;
    private readonly Dictionary<Jid, bool> _isBot = [];

    /// <summary>Creates the bot.</summary>
    /// <param name="options">The reply and its period.</param>
    /// <param name="store">Where the last replies are remembered.</param>
    /// <exception cref="ArgumentException">The text is empty or the period not positive.</exception>
    public AutoReplyBot(AutoReplyOptions options, AutoReplyStore store)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Text, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.Period, TimeSpan.Zero, nameof(options));
        _options = options;
        _store = store;
    }

    /// <inheritdoc />
    public override string Status => _options.Text.Length <= 100 ? _options.Text : _options.Text[..100];

    /// <inheritdoc />
    public override Task StartAsync(CancellationToken cancellationToken) => _store.LoadAsync(cancellationToken);

    /// <inheritdoc />
    public override async ValueTask OnMessageAsync(Message message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var from = message.From!;
        if (from.Local is null)
        {
            LogSkipped(Context.Logger, from.ToString(), "a server or service");
            return;
        }

        if (await IsBotAsync(from, cancellationToken).ConfigureAwait(false))
        {
            LogSkipped(Context.Logger, from.ToString(), "its client says it is a bot");
            return;
        }

        if (!await _store.TryClaimAsync(from, Context.Time.GetUtcNow(), _options.Period, cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        await Context.ReplyAsync(message, _options.Text, cancellationToken).ConfigureAwait(false);
    }

    private async Task<bool> IsBotAsync(Jid from, CancellationToken cancellationToken)
    {
        if (from.IsBare)
        {
            return false; // nobody to ask
        }

        lock (_isBot)
        {
            if (_isBot.TryGetValue(from, out var known))
            {
                return known;
            }
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.DiscoTimeout);
        bool isBot;
        try
        {
            var info = await Context.Client.Disco.QueryInfoAsync(from, cancellationToken: timeout.Token).ConfigureAwait(false);
            isBot = info.Identities.Any(i => i.Category == "client" && i.Type == "bot");
        }
        catch (Exception ex) when (ex is XmppStanzaException or TimeoutException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            // A client that does not answer disco is far more likely a person's simple client than a bot.
            isBot = false;
        }

        lock (_isBot)
        {
            if (_isBot.Count >= MaxKnownBots)
            {
                _isBot.Clear();
            }

            _isBot[from] = isBot;
        }

        return isBot;
    }

    [LoggerMessage(8100, LogLevel.Debug, "Auto-reply skipped {From}: {Reason}")]
    private static partial void LogSkipped(ILogger logger, string from, string reason);
}
