using System.Threading.Channels;
using Parley.Testing;
using Parley.Xmpp;
using Parley.Xmpp.Stanzas;

namespace Parley.Cli.Tests;

/// <summary>A client of the receiving account that collects the messages with a body.</summary>
internal sealed class Inbox : IAsyncDisposable
{
    private readonly XmppClient _client;
    private readonly Channel<Message> _messages = Channel.CreateUnbounded<Message>();

    private Inbox(XmppClient client) => _client = client;

    public string Jid => _client.Jid!.ToString();

    public static async Task<Inbox> OpenAsync(XmppTestServer server, TestAccount account)
    {
        var inbox = new Inbox(new XmppClient(server.ClientOptions(account, "inbox")));
        inbox._client.OnMessage((m, _) =>
        {
            if (m.Body is not null)
            {
                inbox._messages.Writer.TryWrite(m);
            }

            return ValueTask.CompletedTask;
        });
        await inbox._client.ConnectAsync();
        await inbox._client.SendPresenceAsync();
        return inbox;
    }

    public async Task<Message> NextAsync() => await _messages.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(15));

    public ValueTask DisposeAsync() => _client.DisposeAsync();
}
