using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Web.Xmpp;

/// <summary>Chat state notifications (XEP-0085): the five states and how they travel in a message.</summary>
internal static class ChatStates
{
    public const string Active = "active";
    public const string Composing = "composing";
    public const string Paused = "paused";
    public const string Inactive = "inactive";
    public const string Gone = "gone";

    /// <summary>XEP-0334 hints: a bare notification is not worth archiving or delivering offline.</summary>
    public const string HintsNamespace = "urn:xmpp:hints";

    /// <summary>The chat state a message carries, or <see langword="null"/> when it carries none (or an unknown one).</summary>
    public static string? Of(Message message)
    {
        foreach (var child in message.Children)
        {
            if (child.Namespace == XmppNamespaces.ChatStates && Normalize(child.Name) is { } state)
            {
                return state;
            }
        }

        return null;
    }

    /// <summary>The state's canonical name, or <see langword="null"/> for anything that is not one of the five.</summary>
    public static string? Normalize(string? name) => name switch
    {
        Active => Active,
        Composing => Composing,
        Paused => Paused,
        Inactive => Inactive,
        Gone => Gone,
        _ => null,
    };

    /// <summary>The element that carries a state, to add to a message.</summary>
    public static XmppElement Element(string state) => new(state, XmppNamespaces.ChatStates);

    /// <summary>A standalone notification (no body), marked so servers neither archive it nor keep it for an offline owner.</summary>
    public static Message Notification(Jid from, Jid to, string state)
    {
        var message = new Message { From = from, To = to, Type = MessageType.Chat };
        message.Add(Element(state));
        message.Add(new XmppElement("no-store", HintsNamespace));
        return message;
    }
}

/// <summary>
/// The owner's chat state towards each visitor (composing, paused, …), kept only while it is not <c>active</c>; the
/// visitor's push streams are woken through <see cref="Changed"/> and then read their visitor's state. Nothing here is stored.
/// </summary>
internal sealed class OwnerChatStates
{
    private const int MaxTracked = 10_000;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, string> _byVisitor = new(StringComparer.Ordinal);

    /// <summary>
    /// Raised (outside the lock, after the new state can be read with <see cref="For"/>) when the state towards a
    /// visitor changed; the argument is the visitor id, or <see langword="null"/> when every state was forgotten.
    /// </summary>
    public event Action<string?>? Changed;

    /// <summary>The owner's state towards a visitor; <c>active</c> when nothing else is known.</summary>
    public string For(string visitorId)
    {
        lock (_lock)
        {
            return _byVisitor.GetValueOrDefault(visitorId, ChatStates.Active);
        }
    }

    /// <summary>Records the owner's state towards a visitor and wakes the push streams when it changed.</summary>
    public void Set(string visitorId, string state)
    {
        lock (_lock)
        {
            var before = _byVisitor.GetValueOrDefault(visitorId, ChatStates.Active);
            if (before == state)
            {
                return;
            }

            if (state == ChatStates.Active)
            {
                _byVisitor.Remove(visitorId);
            }
            else if (_byVisitor.Count < MaxTracked || _byVisitor.ContainsKey(visitorId))
            {
                _byVisitor[visitorId] = state;
            }
            else
            {
                return;
            }
        }

        Changed?.Invoke(visitorId);
    }

    /// <summary>Forgets every state (the XMPP link went down: nobody knows whether the owner still types).</summary>
    public void Clear()
    {
        lock (_lock)
        {
            if (_byVisitor.Count == 0)
            {
                return;
            }

            _byVisitor.Clear();
        }

        Changed?.Invoke(null);
    }
}

/// <summary>
/// Decides which of a visitor's typing notifications go to the owner: a repeated state is dropped, <c>composing</c>
/// goes out at most once per <see cref="ComposingInterval"/> (a flapping page cannot flood the owner's client), and
/// <c>paused</c> only after <c>composing</c>. Sending a message counts as <c>active</c>.
/// </summary>
internal sealed class VisitorTypingThrottle(TimeProvider time)
{
    public static readonly TimeSpan ComposingInterval = TimeSpan.FromSeconds(3);

    /// <summary>After this long a repeated <c>composing</c> is sent again (the owner's client may have timed it out).</summary>
    public static readonly TimeSpan Refresh = TimeSpan.FromSeconds(30);

    private const int MaxTracked = 10_000;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, Entry> _byVisitor = new(StringComparer.Ordinal);

    /// <summary>Whether a notification of <paramref name="state"/> (composing or paused) from the visitor should be sent now; if so, records it.</summary>
    public bool TryTake(string visitorId, string state)
    {
        var now = time.GetUtcNow();
        lock (_lock)
        {
            var last = _byVisitor.GetValueOrDefault(visitorId);
            var allowed = state switch
            {
                ChatStates.Composing => last.State != ChatStates.Composing
                    ? now - last.LastComposing >= ComposingInterval
                    : now - last.LastComposing >= Refresh,
                ChatStates.Paused => last.State == ChatStates.Composing,
                _ => false,
            };
            if (!allowed)
            {
                return false;
            }

            if (_byVisitor.Count >= MaxTracked && !_byVisitor.ContainsKey(visitorId))
            {
                Prune(now);
                if (_byVisitor.Count >= MaxTracked)
                {
                    return false;
                }
            }

            _byVisitor[visitorId] = new Entry(state, state == ChatStates.Composing ? now : last.LastComposing);
            return true;
        }
    }

    /// <summary>Records that a message (which carries <c>active</c>) went to the owner.</summary>
    public void MarkActive(string visitorId)
    {
        lock (_lock)
        {
            if (_byVisitor.TryGetValue(visitorId, out var last))
            {
                _byVisitor[visitorId] = last with { State = ChatStates.Active };
            }
        }
    }

    private void Prune(DateTimeOffset now)
    {
        foreach (var (visitorId, entry) in _byVisitor)
        {
            if (now - entry.LastComposing > Refresh)
            {
                _byVisitor.Remove(visitorId);
            }
        }
    }

    private readonly record struct Entry(string? State, DateTimeOffset LastComposing);
}
