using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Parley.Testing;
using Parley.Web.Storage;
using Parley.Xmpp.Stanzas;
using Xunit.Abstractions;

namespace Parley.Web.Tests;

/// <summary>
/// Visitors post while the XMPP server freezes and dies, or while the component link is cut: every message reaches the
/// owner, a message is marked sent only once the server confirmed it, and any duplicate carries the original's stanza id
/// (the one a receiver drops duplicates by).
/// </summary>
[Collection(ServerFixture.CollectionName)]
public sealed class DeliveryFaultTests(ServerFixture servers, ITestOutputHelper output)
{
    private const int Visitors = 4;
    private const int MessagesEach = 40;
    private static readonly TimeSpan PostInterval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    // The load is the point here, not the per-visitor limit that would refuse it.
    private const string Unthrottled = "--Parley:MessagesPerMinute=10000";

    [Theory]
    [MemberData(nameof(Servers.Kinds), MemberType = typeof(Servers))]
    public async Task Messages_posted_while_the_server_freezes_and_is_killed_all_reach_the_owner(string kind)
    {
        // Its own server: this test kills it.
        await using var server = Servers.Create(kind);
        await server.StartAsync();

        // The owner's account exists long before the crash: a clean restart writes it to disk (ejabberd's Mnesia would
        // lose an account created a moment before a kill -9). The owner's client comes back by itself, as clients do, and
        // answers receipt requests, as Dino, Conversations and Gajim do.
        var ownerAccount = await server.CreateAccountAsync();
        await server.StopAsync();
        await server.StartAsync();
        await using var owner = await Owner.ConnectAsync(server, ownerAccount, options => options.Reconnect = FaultyLink.FastReconnect, receipts: true);
        var received = new Received(owner);
        await using var gateway = await GatewayHost.StartAsync(server, owner.Account.Jid.ToString(), null, Unthrottled);
        await gateway.WaitConnectedAsync();
        var guests = await SignInAsync(gateway);

        var posting = PostAllAsync(guests);
        await received.WaitForAsync(count: 8);

        // A server that stops answering but keeps its sockets open takes what the gateway writes into its buffers; the
        // kill then loses it, and with it what the server had confirmed but still held in its queues. After the restart,
        // the gateway sends again what the server never confirmed, and the owner's client's receipts for each guest's
        // later messages show which confirmed ones never reached it: those go again too. So everything arrives.
        server.Suspend();
        await Task.Delay(TimeSpan.FromSeconds(1));
        server.Kill();
        await server.StartAsync();

        var posted = await posting;
        try
        {
            await received.WaitForAllAsync(posted.Keys);
            await WaitAllConfirmedAsync(guests);
        }
        catch (Exception)
        {
            output.WriteLine($"States now: {await StatesAsync(guests)}");
            throw;
        }

        // A message sent again after a gap comes after the later ones by nature: it is the only kind allowed out of order.
        var resent = await ResentAsync(gateway, guests);
        output.WriteLine($"Sent again after the owner's client acknowledged later ones: {string.Join(", ", resent)}");
        received.AssertEachOnceOrDuplicateWithSameId(posted, output, resent);
    }

    /// <summary>The texts of the messages the gateway sent a second time because the owner's client skipped them.</summary>
    private static async Task<HashSet<string>> ResentAsync(GatewayHost gateway, List<Visitor> guests)
    {
        var messages = gateway.Services.GetRequiredService<MessageRepository>();
        var texts = new HashSet<string>(StringComparer.Ordinal);
        foreach (var guest in guests)
        {
            texts.UnionWith((await messages.GetHistoryAsync(guest.Conversation!, null, MessagesEach, default)).Where(m => m.Resent).Select(m => m.Text));
        }

        return texts;
    }

    private static async Task<string> StatesAsync(List<Visitor> guests)
    {
        var states = new List<string>();
        foreach (var guest in guests)
        {
            states.AddRange((await guest.HistoryAsync()).Messages.Where(m => m.From == "visitor").Select(m => $"{m.Text}={m.State}"));
        }

        return string.Join(", ", states);
    }

    [Theory]
    [MemberData(nameof(Servers.Kinds), MemberType = typeof(Servers))]
    public async Task Messages_in_a_burst_across_a_cut_component_link_all_reach_the_owner(string kind)
    {
        var server = await servers.GetAsync(kind);
        await using var link = new FaultyLink(server.ComponentPort);
        await using var owner = await Owner.ConnectAsync(server);
        var received = new Received(owner);
        await using var gateway = await GatewayHost.StartAsync(server, owner.Account.Jid.ToString(), null, Unthrottled, $"--Parley:Component:Port={link.Port}");
        await BurstAcrossACutAsync(gateway, link, received);
    }

    [Theory]
    [MemberData(nameof(Servers.Kinds), MemberType = typeof(Servers))]
    public async Task In_account_mode_messages_in_a_burst_across_a_cut_link_all_reach_the_owner(string kind)
    {
        // Each visitor's own client session goes through the link; stream management confirms and re-sends.
        var server = await servers.GetAsync(kind);
        await using var link = new FaultyLink(server.ClientPort);
        await using var owner = await Owner.ConnectAsync(server);
        var received = new Received(owner);
        await using var gateway = await GatewayHost.StartAsync(
            server,
            owner.Account.Jid.ToString(),
            null,
            Unthrottled,
            "--Parley:Mode=Account",
            $"--Parley:Accounts:Domain={server.Domain}",
            $"--Parley:Accounts:Host={server.Host}",
            $"--Parley:Accounts:Port={link.Port}",
            $"--Parley:Accounts:CertificateSha256={server.CertificateSha256}",
            "--Parley:Accounts:Provisioning=AdminCommand",
            $"--Parley:Accounts:AdminJid={server.AdminJid}",
            $"--Parley:Accounts:AdminPassword={server.AdminPassword}");
        await BurstAcrossACutAsync(gateway, link, received);
    }

    /// <summary>Every guest posts as fast as it can; once ten messages reached the owner, the link is cut under the rest.</summary>
    private async Task BurstAcrossACutAsync(GatewayHost gateway, FaultyLink link, Received received)
    {
        await gateway.WaitConnectedAsync();
        var guests = await SignInAsync(gateway);

        var posting = PostAllAsync(guests, interval: TimeSpan.Zero);
        await received.WaitForAsync(count: 10);
        link.DropAll();

        var posted = await posting;
        await received.WaitForAllAsync(posted.Keys);
        await WaitAllConfirmedAsync(guests);
        received.AssertEachOnceOrDuplicateWithSameId(posted, output);
    }

    private static async Task<List<Visitor>> SignInAsync(GatewayHost gateway)
    {
        var guests = new List<Visitor>();
        for (var i = 0; i < Visitors; i++)
        {
            var guest = gateway.NewVisitor();
            (await guest.SignInAsGuestAsync($"Guest {i}")).EnsureSuccessStatusCode();
            guests.Add(guest);
        }

        return guests;
    }

    /// <summary>Every guest posts its numbered messages; returns each text with the id the gateway stored it under.</summary>
    private static async Task<Dictionary<string, long>> PostAllAsync(List<Visitor> guests, TimeSpan? interval = null)
    {
        var posted = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        await Task.WhenAll(guests.Select((guest, g) => Task.Run(async () =>
        {
            for (var i = 0; i < MessagesEach; i++)
            {
                var text = $"guest {g} message {i}";
                posted[text] = (await guest.SendAsync(text)).Id;
                await Task.Delay(interval ?? PostInterval);
            }
        })));
        return new Dictionary<string, long>(posted, StringComparer.Ordinal);
    }

    /// <summary>Waits until no guest's history holds a message the server has not confirmed.</summary>
    private static async Task WaitAllConfirmedAsync(List<Visitor> guests)
    {
        using var timeout = new CancellationTokenSource(Patience);
        foreach (var guest in guests)
        {
            while (true)
            {
                var history = await guest.HistoryAsync();
                Assert.Equal(MessagesEach, history.Messages.Count(m => m.From == "visitor"));
                if (history.Messages.All(m => m.State is "sent" or "delivered"))
                {
                    break;
                }

                await Task.Delay(100, timeout.Token);
            }
        }
    }

    /// <summary>What reaches the owner's client: every chat message with a body, in arrival order.</summary>
    private sealed class Received
    {
        private readonly ConcurrentQueue<(string Body, string? Id, bool Stored)> _messages = new();
        private readonly SemaphoreSlim _arrived = new(0);

        public Received(Owner owner) => owner.Client.OnMessage((message, _) =>
        {
            if (message.Body is { } body && message.Type == MessageType.Chat)
            {
                _messages.Enqueue((body, message.Id, Delay.FromStanza(message) is not null));
                _arrived.Release();
            }

            return ValueTask.CompletedTask;
        });

        public async Task WaitForAsync(int count)
        {
            using var timeout = new CancellationTokenSource(Patience);
            while (_messages.Count < count)
            {
                await _arrived.WaitAsync(timeout.Token);
            }
        }

        public async Task WaitForAllAsync(IEnumerable<string> bodies)
        {
            var missing = bodies.ToHashSet(StringComparer.Ordinal);
            using var timeout = new CancellationTokenSource(Patience);
            try
            {
                while (true)
                {
                    missing.ExceptWith(_messages.Select(m => m.Body));
                    if (missing.Count == 0)
                    {
                        return;
                    }

                    await _arrived.WaitAsync(timeout.Token);
                }
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"{missing.Count} messages never reached the owner, e.g. {string.Join(", ", missing.Order(StringComparer.Ordinal).Take(10))}.");
            }
        }

        public void AssertEachOnceOrDuplicateWithSameId(Dictionary<string, long> posted, ITestOutputHelper output, IReadOnlySet<string>? resent = null)
        {
            var byBody = _messages.GroupBy(m => m.Body, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
            Assert.Empty(byBody.Keys.Except(posted.Keys, StringComparer.Ordinal));
            var duplicates = byBody.Values.Where(copies => copies.Count > 1).ToList();
            foreach (var copies in duplicates)
            {
                Assert.True(copies[0].Id is { Length: > 0 }, $"'{copies[0].Body}' arrived without a stanza id.");
                Assert.All(copies, copy => Assert.Equal(copies[0].Id, copy.Id));
            }

            // Order per visitor and per route: among the messages delivered live, and among those the server stored while
            // the owner was away (XEP-0203 delay; the server hands them out while live ones may already flow), each
            // message's first arrival comes after the one before it; a message sent again after a gap is the exception.
            foreach (var stored in new[] { false, true })
            {
                var firstArrival = _messages.Select((m, index) => (m.Body, m.Stored, index)).Where(m => m.Stored == stored)
                    .GroupBy(m => m.Body).ToDictionary(g => g.Key, g => g.Min(m => m.index), StringComparer.Ordinal);
                foreach (var guest in Enumerable.Range(0, Visitors))
                {
                    var order = Enumerable.Range(0, MessagesEach).Select(i => $"guest {guest} message {i}")
                        .Where(body => firstArrival.ContainsKey(body) && resent?.Contains(body) != true).Select(body => firstArrival[body]).ToList();
                    Assert.Equal(order.Order().ToList(), order);
                }
            }

            output.WriteLine($"{posted.Count} posted, {_messages.Count} arrived, {duplicates.Count} sent twice (same stanza id)");
        }
    }
}
