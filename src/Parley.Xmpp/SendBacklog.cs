using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp;

/// <summary>
/// Stanzas sent while the connection is being re-established, in order, each with its sender's completion; they go out
/// first on the next connection. Not thread-safe: the session uses it under its send lock only.
/// </summary>
internal sealed class SendBacklog
{
    private const int Capacity = 10_000;

    private readonly Queue<(Stanza Stanza, TaskCompletionSource? Completion)> _queue = new();

    /// <summary>Queues a stanza for the next connection.</summary>
    /// <exception cref="XmppTransportException">The backlog is full.</exception>
    public void Add(Stanza stanza, TaskCompletionSource completion)
    {
        if (_queue.Count >= Capacity)
        {
            throw new XmppTransportException($"Not connected, and {Capacity} stanzas already wait for the reconnect.", isTransient: true);
        }

        _queue.Enqueue((stanza, completion));
    }

    /// <summary>Puts what a dead stream's writer never wrote back in front, in order, its senders still waiting.</summary>
    public void ReturnUnwritten(List<(XmppElement Element, TaskCompletionSource? Completion)> unwritten)
    {
        if (unwritten.Count == 0)
        {
            return;
        }

        var rest = _queue.ToArray();
        _queue.Clear();
        foreach (var (element, completion) in unwritten)
        {
            if (element is Stanza stanza)
            {
                _queue.Enqueue((stanza, completion));
            }
        }

        foreach (var item in rest)
        {
            _queue.Enqueue(item);
        }
    }

    /// <summary>Hands everything queued to the new stream's writer.</summary>
    public void MoveTo(XmppStream stream)
    {
        while (_queue.TryDequeue(out var queued))
        {
            stream.Enqueue(queued.Stanza, queued.Completion);
        }
    }

    /// <summary>Empties the backlog, failing every sender with <paramref name="reason"/>; adds the stanzas to <paramref name="undelivered"/>.</summary>
    public void FailAll(Exception reason, List<Stanza> undelivered)
    {
        while (_queue.TryDequeue(out var item))
        {
            undelivered.Add(item.Stanza);
            item.Completion?.TrySetException(reason);
        }
    }
}
