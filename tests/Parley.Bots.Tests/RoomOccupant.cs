using System.Threading.Channels;
using Parley.Testing;
using Parley.Xmpp.Core;
using Parley.Xmpp.Forms;
using Parley.Xmpp.Im;
using Parley.Xmpp.Muc;
using Parley.Xmpp.Xml;

namespace Parley.Bots.Tests;

/// <summary>
/// A person in a room: a Parley client that is not a bot, collecting what the others say in the room and, apart, the
/// messages it receives outside the room (a bot's private chat).
/// </summary>
internal sealed class RoomOccupant : IAsyncDisposable
{
    private readonly Channel<RoomMessageEventArgs> _said = Channel.CreateUnbounded<RoomMessageEventArgs>();
    private readonly Channel<Message> _private = Channel.CreateUnbounded<Message>();

    private RoomOccupant(XmppClient client) => Client = client;

    public XmppClient Client { get; }

    public Room Room { get; private set; } = null!;

    /// <summary>The client's full JID: what a room that shows real JIDs shows of this person.</summary>
    public Jid Jid => Client.Jid!;

    /// <summary>Connects a fresh account (online, so a bot can send it files) and joins <paramref name="room"/> as <paramref name="nick"/>.</summary>
    /// <param name="configure">Runs before connecting, e.g. to add a file-transfer manager.</param>
    public static async Task<RoomOccupant> JoinAsync(XmppTestServer server, Jid room, string nick, Action<XmppClient>? configure = null)
    {
        var account = await server.CreateAccountAsync();
        var options = server.ClientOptions(account, "desk");
        var client = new XmppClient(options);
        client.Disco.RemoveIdentity(new DiscoIdentity("client", "bot", options.SoftwareName));
        client.Disco.AddIdentity(new DiscoIdentity("client", "pc", "Test person"));
        configure?.Invoke(client);
        var occupant = new RoomOccupant(client);
        client.Rooms.MessageReceived += (_, e) =>
        {
            if (!e.IsOwn && !e.IsPrivate && !e.IsHistory)
            {
                occupant._said.Writer.TryWrite(e);
            }
        };
        client.OnMessage((m, _) =>
        {
            if (m.Body is not null && m.Type != MessageType.GroupChat && m.From?.Bare != room)
            {
                occupant._private.Writer.TryWrite(m);
            }

            return ValueTask.CompletedTask;
        });
        await client.ConnectAsync();
        await client.SendPresenceAsync();
        occupant.Room = await client.Rooms.JoinAsync(room, nick);
        return occupant;
    }

    /// <summary>As the room's owner: submits room configuration fields (<c>muc#roomconfig_whois</c> = <c>anyone</c> shows real JIDs to all).</summary>
    public async Task ConfigureRoomAsync(params (string Var, string Value)[] fields)
    {
        var form = new DataForm(DataFormType.Submit, "http://jabber.org/protocol/muc#roomconfig");
        foreach (var (var, value) in fields)
        {
            form.SetValue(var, value);
        }

        var query = new XmppElement("query", "http://jabber.org/protocol/muc#owner");
        query.Add(form.ToElement());
        await Client.SendIqAsync(new Iq(IqType.Set, Room.Jid, query));
    }

    public async Task WaitForOccupantAsync(string nick)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (Room.GetOccupant(nick) is null)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{nick} did not join {Room.Jid}.");
            await Task.Delay(50);
        }
    }

    public async Task<RoomMessageEventArgs> NextMessageFromOthersAsync(string? except = null)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (true)
        {
            var e = await _said.Reader.ReadAsync(timeout.Token);
            if (e.Nick != except)
            {
                return e;
            }
        }
    }

    public async Task<(string? Nick, string Body)> NextFromOthersAsync(string? except = null)
    {
        var e = await NextMessageFromOthersAsync(except);
        return (e.Nick, e.Body);
    }

    /// <summary>The next message received outside the room.</summary>
    public async Task<Message> NextPrivateAsync(double seconds = 20)
    {
        try
        {
            return await _private.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(seconds));
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{Jid} received nothing privately within {seconds} s.");
        }
    }

    /// <summary>Asserts nothing more is said in the room (but by <paramref name="except"/>) and nothing comes privately.</summary>
    public async Task AssertNothingMoreAsync(string? except = null)
    {
        await Client.PingAsync();
        await Task.Delay(1000);
        while (_said.Reader.TryRead(out var extra))
        {
            Assert.True(extra.Nick == except, $"unexpected in the room: <{extra.Nick}> {extra.Body}");
        }

        Assert.False(_private.Reader.TryRead(out var message), $"unexpected private message from {message?.From}: {message?.Body}");
    }

    public ValueTask DisposeAsync() => Client.DisposeAsync();
}
