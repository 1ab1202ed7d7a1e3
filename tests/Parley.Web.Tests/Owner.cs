using System.Threading.Channels;
using Parley.Testing;
using Parley.Xmpp;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;

namespace Parley.Web.Tests;

/// <summary>The owner: a real XMPP client account on the harness server, collecting what arrives.</summary>
internal sealed class Owner : IAsyncDisposable
{
    private readonly Channel<Message> _messages = Channel.CreateUnbounded<Message>();
    private readonly Channel<Presence> _presences = Channel.CreateUnbounded<Presence>();

    private Owner(XmppClient client, TestAccount account)
    {
        Client = client;
        Account = account;
    }

    public XmppClient Client { get; }

    public TestAccount Account { get; }

    /// <param name="server">The server the owner's account is on.</param>
    /// <param name="account">The owner's account; a new one when null.</param>
    /// <param name="configure">Changes to the client's options.</param>
    /// <param name="receipts">Whether the client answers receipt requests (XEP-0184), as Dino, Conversations and Gajim do.</param>
    public static async Task<Owner> ConnectAsync(XmppTestServer server, TestAccount? account = null, Action<XmppClientOptions>? configure = null, bool receipts = false)
    {
        account ??= await server.CreateAccountAsync();
        var options = server.ClientOptions(account, "desk");
        configure?.Invoke(options);
        var client = new XmppClient(options);
        var owner = new Owner(client, account);
        client.OnMessage((message, cancellationToken) =>
        {
            owner._messages.Writer.TryWrite(message);
            if (receipts && message.From is { } from && message.Id is { Length: > 0 } id && message.Element("request", XmppNamespaces.Receipts) is not null)
            {
                // Not awaited: the handler must not hold up the client's dispatch while a lost link reconnects.
                _ = SendReceiptAsync(client, from, id);
            }

            return ValueTask.CompletedTask;
        });
        client.OnPresence((presence, _) =>
        {
            owner._presences.Writer.TryWrite(presence);
            return ValueTask.CompletedTask;
        });
        await client.ConnectAsync();
        await client.SendPresenceAsync();
        return owner;
    }

    private static async Task SendReceiptAsync(XmppClient client, Jid to, string id)
    {
        var receipt = new Message { To = to };
        receipt.AddChild("received", XmppNamespaces.Receipts).SetAttribute("id", id);
        try
        {
            await client.SendAsync(receipt);
        }
        catch (XmppException)
        {
            // The link dropped with the receipt: the gateway finds the gap and sends that message again.
        }
    }

    public Task<Message> NextMessageAsync(Func<Message, bool>? match = null)
        => NextAnyMessageAsync(m => m.Body is not null && m.Type != MessageType.Error && (match?.Invoke(m) ?? true));

    public async Task<Message> NextAnyMessageAsync(Func<Message, bool> match)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (true)
        {
            var message = await _messages.Reader.ReadAsync(cts.Token);
            if (match(message))
            {
                return message;
            }
        }
    }

    public async Task<Presence> NextPresenceAsync(Func<Presence, bool> match)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (true)
        {
            var presence = await _presences.Reader.ReadAsync(cts.Token);
            if (match(presence))
            {
                return presence;
            }
        }
    }

    /// <summary>Approves the gateway's one subscription request (from its component domain), as the client's prompt would.</summary>
    public async Task ApproveGatewayAsync(string gatewayDomain)
    {
        var gateway = Jid.Create(null, gatewayDomain);
        await NextPresenceAsync(p => p.Type == PresenceType.Subscribe && p.From?.Bare == gateway);
        await Client.Presences.ApproveSubscriptionAsync(gateway);
    }

    /// <summary>The messages received so far and not read yet, without waiting.</summary>
    public List<Message> DrainMessages()
    {
        List<Message> received = [];
        while (_messages.Reader.TryRead(out var message))
        {
            received.Add(message);
        }

        return received;
    }

    /// <summary>The presences received so far and not read yet, without waiting.</summary>
    public List<Presence> DrainPresences()
    {
        List<Presence> received = [];
        while (_presences.Reader.TryRead(out var presence))
        {
            received.Add(presence);
        }

        return received;
    }

    public ValueTask DisposeAsync() => Client.DisposeAsync();
}
