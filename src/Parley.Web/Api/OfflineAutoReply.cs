using Microsoft.Extensions.Options;
using Parley.Web.Configuration;
using Parley.Web.Storage;
using Parley.Web.Xmpp;

namespace Parley.Web.Api;

/// <summary>
/// The optional automatic answer (<c>Parley:OfflineAutoReply</c>) to a visitor who writes while the owner is offline:
/// stored in the conversation as the owner's, marked automatic, at most once per visitor per period. It stays in the
/// page; the owner's XMPP client is not told.
/// </summary>
internal sealed class OfflineAutoReply(IOptions<GatewayOptions> options, MessageRepository messages, OwnerPresence ownerPresence, TimeProvider time)
{
    private const int RecentMessages = 50;
    private const int MaxTracked = 100_000;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, DateTimeOffset> _lastReply = new(StringComparer.Ordinal);

    /// <summary>Stores the automatic reply for a visitor who just wrote, if one is configured, the owner is offline and none was sent within the period.</summary>
    /// <returns>The stored reply, or <see langword="null"/> when none was due.</returns>
    public async Task<ChatMessage?> ReplyIfDueAsync(string visitorId, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (settings.OfflineAutoReply.Length == 0
            || ownerPresence.For(visitorId) != OwnerPresence.Offline
            || ownerPresence.IsAvailableToAnyVisitor)
        {
            return null;
        }

        var now = time.GetUtcNow();
        lock (_lock)
        {
            if (_lastReply.TryGetValue(visitorId, out var last) && now - last < settings.OfflineAutoReplyPeriod)
            {
                return null;
            }

            if (_lastReply.Count >= MaxTracked)
            {
                foreach (var (id, at) in _lastReply)
                {
                    if (now - at >= settings.OfflineAutoReplyPeriod)
                    {
                        _lastReply.Remove(id);
                    }
                }
            }

            // Claimed before the awaits below, so two messages at once do not both get a reply.
            _lastReply[visitorId] = now;
        }

        // After a restart the memory is empty; the conversation itself says when the last reply went out.
        var recent = await messages.GetHistoryAsync(visitorId, null, RecentMessages, cancellationToken);
        var earlier = recent.LastOrDefault(static m => m.Automatic);
        if (earlier is not null && now - earlier.Timestamp < settings.OfflineAutoReplyPeriod)
        {
            lock (_lock)
            {
                _lastReply[visitorId] = earlier.Timestamp;
            }

            return null;
        }

        return await messages.AddAutomaticReplyAsync(visitorId, settings.OfflineAutoReply, cancellationToken);
    }
}
