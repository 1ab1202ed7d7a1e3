using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;

namespace Parley.Bots;

/// <summary>Why a message was or was not handed to a bot.</summary>
public enum MessageVerdict
{
    /// <summary>Handed to the bot.</summary>
    Accepted,
    /// <summary>An error, groupchat or headline message.</summary>
    NotChat,
    /// <summary>No body, or only white space: receipts, chat states, markers.</summary>
    NoBody,
    /// <summary>No sender, or sent by the bot's own account (an echo of ourselves, or another of our resources).</summary>
    FromSelf,
    /// <summary>A delayed (offline) message sent before the bot started.</summary>
    OldOfflineMessage,
    /// <summary>Marked as machine-generated (<see cref="AutoSubmitted"/>).</summary>
    AutoSubmitted,
    /// <summary>The sender is not on the allow-list.</summary>
    NotAllowed,
    /// <summary>The sender sent too many messages too quickly.</summary>
    RateLimited,
}

/// <summary>
/// The rules every bot follows before it sees a message: only chat/normal messages with a body; never errors,
/// groupchat, headlines, receipts or chat states alone, our own messages, machine-generated messages, or
/// offline messages older than the bot's start (unless configured); then the allow-list and the per-sender rate limit.
/// </summary>
public sealed class MessageRules
{
    private readonly AllowList _allowList;
    private readonly SenderRateLimiter? _rateLimiter;

    /// <summary>Creates the rules.</summary>
    /// <param name="allowList">Who may talk to the bot; <see cref="AllowList.Everyone"/> for anyone.</param>
    /// <param name="rateLimiter">The per-sender limit, or <see langword="null"/> for none.</param>
    /// <param name="answerOfflineMessages">Whether delayed messages sent before the start are answered too.</param>
    public MessageRules(AllowList allowList, SenderRateLimiter? rateLimiter, bool answerOfflineMessages = false)
    {
        ArgumentNullException.ThrowIfNull(allowList);
        _allowList = allowList;
        _rateLimiter = rateLimiter;
        AnswerOfflineMessages = answerOfflineMessages;
    }

    /// <summary>Whether delayed messages sent before the bot started are answered.</summary>
    public bool AnswerOfflineMessages { get; }

    /// <summary>
    /// How much earlier than the start a delay stamp may be and still count as "after the start". A message that
    /// races the bot's first presence is stored offline and delivered at once with a stamp of whole seconds
    /// (Prosody), i.e. up to a second before the start; 2 s covers that and small clock differences.
    /// </summary>
    public static TimeSpan StampTolerance { get; } = TimeSpan.FromSeconds(2);

    /// <summary>Decides whether the bot sees <paramref name="message"/>. Consumes a rate-limit token only for a message that passed every other rule.</summary>
    /// <param name="message">The message received.</param>
    /// <param name="account">The bot's own bare JID.</param>
    /// <param name="startedAt">When the bot started.</param>
    public MessageVerdict Evaluate(Message message, Jid account, DateTimeOffset startedAt) => Evaluate(message, account, startedAt, out _);

    /// <summary>Decides whether the bot sees <paramref name="message"/>, and says how the rate limit judged its sender.</summary>
    /// <param name="message">The message received.</param>
    /// <param name="account">The bot's own bare JID.</param>
    /// <param name="startedAt">When the bot started.</param>
    /// <param name="rateLimit">The rate limit's decision; <c>default</c> (allowed) when the limit was not consulted.</param>
    public MessageVerdict Evaluate(Message message, Jid account, DateTimeOffset startedAt, out RateLimitDecision rateLimit)
    {
        rateLimit = RateLimitDecision.Unlimited;
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(account);
        if (message.Type is not (MessageType.Chat or MessageType.Normal))
        {
            return MessageVerdict.NotChat;
        }

        if (string.IsNullOrWhiteSpace(message.Body))
        {
            return MessageVerdict.NoBody;
        }

        if (message.From is not { } from || from.Bare == account.Bare)
        {
            return MessageVerdict.FromSelf;
        }

        if (!AnswerOfflineMessages && message.Delay is { } delay && delay.Stamp < startedAt - StampTolerance)
        {
            return MessageVerdict.OldOfflineMessage;
        }

        if (AutoSubmitted.IsMarked(message))
        {
            return MessageVerdict.AutoSubmitted;
        }

        if (!_allowList.Allows(from))
        {
            return MessageVerdict.NotAllowed;
        }

        rateLimit = TakeRateLimit(from.Bare);
        return rateLimit.Allowed ? MessageVerdict.Accepted : MessageVerdict.RateLimited;
    }

    /// <summary>Whether the allow-list admits everyone (it is empty).</summary>
    public bool AllowsEveryone => _allowList.IsEveryone;

    /// <summary>Whether the allow-list lets <paramref name="sender"/> talk to the bot (messages and commands alike).</summary>
    /// <param name="sender">The sender, full or bare.</param>
    public bool Allows(Jid sender) => _allowList.Allows(sender);

    /// <summary>Takes a token from the sender's rate limit; allowed whenever there is no limit.</summary>
    /// <param name="sender">The sender's bare JID.</param>
    public RateLimitDecision TakeRateLimit(Jid sender) => _rateLimiter?.Take(sender) ?? RateLimitDecision.Unlimited;
}

/// <summary>Who may talk to a bot: bare JIDs (<c>alice@example.org</c>) and domains (<c>example.org</c>, which also admits its subdomains when written <c>*.example.org</c>).</summary>
public sealed class AllowList
{
    private readonly HashSet<Jid> _users = [];
    private readonly HashSet<string> _domains = new(StringComparer.Ordinal);
    private readonly List<string> _domainSuffixes = [];

    private AllowList()
    {
    }

    /// <summary>Anyone.</summary>
    public static AllowList Everyone { get; } = new();

    /// <summary>Whether the list admits everyone (it is empty).</summary>
    public bool IsEveryone => _users.Count == 0 && _domains.Count == 0 && _domainSuffixes.Count == 0;

    /// <summary>Parses entries: <c>user@domain</c>, <c>domain</c> or <c>*.domain</c>. An empty list admits everyone.</summary>
    /// <param name="entries">The entries.</param>
    /// <exception cref="FormatException">An entry is not a bare JID or a domain.</exception>
    public static AllowList Parse(IEnumerable<string> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var list = new AllowList();
        foreach (var raw in entries)
        {
            var entry = raw.Trim();
            if (entry.StartsWith("*.", StringComparison.Ordinal) && Jid.TryParse(entry[2..], out var suffix) && suffix.Local is null && suffix.Resource is null)
            {
                list._domainSuffixes.Add("." + suffix.Domain);
            }
            else if (Jid.TryParse(entry, out var jid) && jid.Resource is null)
            {
                if (jid.Local is null)
                {
                    list._domains.Add(jid.Domain);
                }
                else
                {
                    list._users.Add(jid);
                }
            }
            else
            {
                throw new FormatException($"'{raw}' is not an allow-list entry (user@domain, domain or *.domain).");
            }
        }

        return list;
    }

    /// <summary>Whether <paramref name="sender"/> may talk to the bot.</summary>
    /// <param name="sender">The sender (full or bare).</param>
    public bool Allows(Jid sender)
    {
        ArgumentNullException.ThrowIfNull(sender);
        return IsEveryone || _users.Contains(sender.Bare) || _domains.Contains(sender.Domain)
            || _domainSuffixes.Exists(s => sender.Domain.EndsWith(s, StringComparison.Ordinal));
    }
}

/// <summary>A token bucket per sender: <c>burst</c> messages at once, refilled at <c>perMinute</c>. Remembers at most <c>maxSenders</c> senders (the least recently seen are forgotten).</summary>
public sealed class SenderRateLimiter
{
    private readonly double _capacity;
    private readonly double _perTick;
    private readonly int _maxSenders;
    private readonly TimeProvider _time;
    private readonly Dictionary<Jid, Bucket> _buckets = [];
    private readonly Lock _lock = new();

    /// <summary>Creates the limiter.</summary>
    /// <param name="burst">How many messages a sender may send at once (≥ 1).</param>
    /// <param name="perMinute">How many messages per minute are refilled (&gt; 0).</param>
    /// <param name="time">The clock.</param>
    /// <param name="maxSenders">How many senders are remembered (≥ 1).</param>
    /// <exception cref="ArgumentOutOfRangeException">A number is out of range.</exception>
    public SenderRateLimiter(int burst, double perMinute, TimeProvider? time = null, int maxSenders = 10_000)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(burst, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(perMinute, 0);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSenders, 1);
        _capacity = burst;
        _time = time ?? TimeProvider.System;
        _perTick = perMinute / 60.0 / _time.TimestampFrequency;
        _maxSenders = maxSenders;
    }

    /// <summary>Takes a token for <paramref name="sender"/>; false when its bucket is empty.</summary>
    /// <param name="sender">The sender's bare JID.</param>
    public bool TryTake(Jid sender) => Take(sender).Allowed;

    /// <summary>
    /// Takes a token for <paramref name="sender"/>, and says when a refused sender may send again and how many of their
    /// messages were refused in a row: the first refusal is the one worth a notice, later ones only count.
    /// </summary>
    /// <param name="sender">The sender's bare JID.</param>
    public RateLimitDecision Take(Jid sender)
    {
        ArgumentNullException.ThrowIfNull(sender);
        var now = _time.GetTimestamp();
        lock (_lock)
        {
            if (!_buckets.TryGetValue(sender, out var bucket))
            {
                if (_buckets.Count >= _maxSenders)
                {
                    var oldest = _buckets.MinBy(b => b.Value.Updated).Key;
                    _buckets.Remove(oldest);
                }

                bucket = new Bucket(_capacity, now, 0);
            }

            var tokens = Math.Min(_capacity, bucket.Tokens + ((now - bucket.Updated) * _perTick));
            if (tokens >= 1)
            {
                _buckets[sender] = new Bucket(tokens - 1, now, 0);
                return new RateLimitDecision(true, bucket.Refused, TimeSpan.Zero);
            }

            _buckets[sender] = new Bucket(tokens, now, bucket.Refused + 1);
            var retryAfter = TimeSpan.FromSeconds((1 - tokens) / (_perTick * _time.TimestampFrequency));
            return new RateLimitDecision(false, bucket.Refused + 1, retryAfter);
        }
    }

    private readonly record struct Bucket(double Tokens, long Updated, int Refused);
}

/// <summary>What a <see cref="SenderRateLimiter"/> decided for one message.</summary>
/// <param name="Allowed">Whether the message may be answered.</param>
/// <param name="Refused">
/// For a refused message, how many were refused in a row, this one included (1: the first, the one worth a notice).
/// For an allowed message, how many were refused just before it (the run of refusals that this message ends).
/// </param>
/// <param name="RetryAfter">For a refused message, when the sender may send again.</param>
public readonly record struct RateLimitDecision(bool Allowed, int Refused, TimeSpan RetryAfter)
{
    /// <summary>The decision without a limit: allowed, nothing refused.</summary>
    public static RateLimitDecision Unlimited { get; } = new(true, 0, TimeSpan.Zero);

    /// <summary>Whether this is the first refusal in a row: the one the sender is told about.</summary>
    public bool NoticeDue => !Allowed && Refused == 1;
}
