using System.Collections.Concurrent;

namespace Parley.Xmpp.Tests.Im;

/// <summary>
/// An <see cref="XmppClient"/> that never connects: stanzas arrive through <see cref="ReceiveAsync"/> (the dispatch path
/// the network would use), what the client sends is captured, and IQ requests can be answered by <see cref="Responder"/>.
/// </summary>
internal sealed class OfflineClient : IAsyncDisposable, IStanzaOutbox
{
    public static readonly Jid Account = Jid.Parse("alice@example.org");

    private readonly ConcurrentQueue<Stanza> _sent = new();
    private IqTracker? _requests;

    public OfflineClient(string account = "alice@example.org") =>
        Client = new XmppClient(
            new XmppClientOptions { Jid = Jid.Parse(account), Password = "secret", Reconnect = ReconnectPolicy.Disabled },
            loggerFactory: null,
            outbox: requests =>
            {
                _requests = requests;
                return this;
            });

    public XmppClient Client { get; }

    /// <summary>Answers IQ requests the client sends; return null to leave a request unanswered.</summary>
    public Func<Iq, Iq?>? Responder { get; set; }

    public IReadOnlyList<Stanza> Sent => [.. _sent];

    public IReadOnlyList<Iq> SentIqs(string payloadNamespace) => [.. Sent.OfType<Iq>().Where(iq => iq.Payload?.Namespace == payloadNamespace)];

    public void ClearSent() => _sent.Clear();

    public ValueTask ReceiveAsync(Stanza stanza) => Client.DispatchOneAsync(stanza, CancellationToken.None);

    /// <summary>Delivers the response to a request the client sent, as the connection's reader would.</summary>
    public void Answer(Iq response) => _requests!.Complete(response);

    /// <summary>Delivers an IQ request and returns the client's answer to it.</summary>
    public async Task<Iq> RequestAsync(Iq request)
    {
        await ReceiveAsync(request);
        return Assert.Single(Sent.OfType<Iq>(), iq => !iq.IsRequest && iq.Id == request.Id);
    }

    public ValueTask DisposeAsync() => Client.DisposeAsync();

    /// <summary>Takes what the client sends in place of its connection, and plays the server's part for IQ requests.</summary>
    Task IStanzaOutbox.EnqueueAsync(Stanza stanza, CancellationToken cancellationToken)
    {
        _sent.Enqueue(stanza);
        if (stanza is Iq { IsRequest: true } request && Responder?.Invoke(request) is { } response)
        {
            Answer(response);
        }

        return Task.CompletedTask;
    }
}

internal static class Make
{
    public static Presence PresenceFrom(string from, PresenceType type = PresenceType.Available, Action<Presence>? configure = null)
    {
        var presence = new Presence(type) { From = Jid.Parse(from) };
        configure?.Invoke(presence);
        return presence;
    }

    public static Presence WithCaps(this Presence presence, string node, string hash, string ver)
    {
        var c = presence.AddChild("c", XmppNamespaces.Caps);
        c.SetAttribute("node", node);
        c.SetAttribute("hash", hash);
        c.SetAttribute("ver", ver);
        return presence;
    }

    /// <summary>A roster push as the server sends it: an IQ set with one item.</summary>
    public static Iq RosterPush(string? from, params XmppElement[] items)
    {
        var query = new XmppElement("query", XmppNamespaces.Roster);
        foreach (var item in items)
        {
            query.Add(item);
        }

        var push = new Iq(IqType.Set, Jid.Parse("alice@example.org/desk"), query);
        push.SetAttribute("from", from);
        return push;
    }

    public static XmppElement Item(string jid, string? subscription = null, string? name = null, string? ask = null, params string[] groups)
    {
        var item = new XmppElement("item", XmppNamespaces.Roster);
        item.SetAttribute("jid", jid);
        item.SetAttribute("subscription", subscription);
        item.SetAttribute("name", name);
        item.SetAttribute("ask", ask);
        foreach (var group in groups)
        {
            item.AddChild("group", text: group);
        }

        return item;
    }
}
