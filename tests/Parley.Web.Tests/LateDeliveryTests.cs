using Microsoft.Extensions.Time.Testing;
using Parley.Testing;

namespace Parley.Web.Tests;

/// <summary>
/// Messages that reach the owner late: one that waited in the outbox says when the visitor wrote it; one the owner's
/// client never acknowledged, while it acknowledged a later one, goes again once (with slixmpp as the owner's client,
/// which skips the receipt for the first copy as if it had never arrived).
/// </summary>
[Collection(ServerFixture.CollectionName)]
public sealed class LateDeliveryTests(ServerFixture servers)
{
    [Fact]
    public async Task A_message_that_waited_in_the_outbox_over_a_minute_goes_out_with_the_time_it_was_written()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        await using var owner = await Owner.ConnectAsync(server);
        var written = DateTimeOffset.UtcNow;
        var database = $"--Parley:DatabasePath={StoreUnderTest.NewSqlitePath()}";
        await using (var down = await GatewayHost.StartWithClockAsync(server, owner.Account.Jid.ToString(), new FakeTimeProvider(written), database, "--Parley:Component:Secret=wrong-secret"))
        {
            using var visitor = down.NewVisitor();
            (await visitor.SignInAsGuestAsync("Patient")).EnsureSuccessStatusCode();
            Assert.Equal("pending", (await visitor.SendAsync("waited")).State);
        }

        // Two minutes later the link is up and the outbox drains: the owner's client shows the time it was written.
        await using var up = await GatewayHost.StartWithClockAsync(server, owner.Account.Jid.ToString(), new FakeTimeProvider(written.AddMinutes(2)), database);
        var message = await owner.NextMessageAsync();
        Assert.Equal("waited", message.Body);
        Assert.Equal(written.ToUnixTimeMilliseconds(), message.Delay?.Stamp.ToUnixTimeMilliseconds());
    }

    [Theory]
    [MemberData(nameof(Servers.Kinds), MemberType = typeof(Servers))]
    public async Task A_message_the_owners_client_skipped_goes_again_once_with_its_id_and_time_and_ends_delivered(string kind)
    {
        var server = await servers.GetAsync(kind);
        var ownerAccount = await server.CreateAccountAsync();
        await using var gateway = await GatewayHost.StartAsync(server, ownerAccount.Jid.ToString());
        await gateway.WaitConnectedAsync();
        await using var slixmpp = await SlixmppOwner.StartAsync(server, ownerAccount, "slixmpp_receipts.py", waitForReady: true, "skipped", "skipped", "acknowledged");

        var guest = gateway.NewVisitor();
        (await guest.SignInAsGuestAsync("Guest")).EnsureSuccessStatusCode();
        await using var tab = await guest.OpenTabAsync();
        var skipped = await guest.SendAsync("skipped");
        var acknowledged = await guest.SendAsync("acknowledged");

        var received = (await slixmpp.ResultAsync()).EnumerateArray()
            .Select(m => (Body: m.GetProperty("body").GetString(), Id: m.GetProperty("id").GetString(), Origin: m.GetProperty("origin").GetString(), Delay: m.GetProperty("delay").GetBoolean()))
            .ToList();
        Assert.Equal(["skipped", "acknowledged", "skipped"], received.Select(m => m.Body));
        Assert.All(received, m => Assert.Equal(m.Id, m.Origin));
        Assert.Equal(received[0].Id, received[2].Id);

        // The copy shows when the visitor wrote it; the first went out at once and needs no delay.
        Assert.Equal([false, false, true], received.Select(m => m.Delay));

        // The copy's receipt makes it delivered, after the later message; nothing is sent a third time.
        await tab.NextMessageAsync(m => m.Id == acknowledged.Id && m.State == "delivered", TimeSpan.FromSeconds(15));
        await tab.NextMessageAsync(m => m.Id == skipped.Id && m.State == "delivered", TimeSpan.FromSeconds(15));
        var history = await guest.HistoryAsync();
        Assert.All(history.Messages, m => Assert.Equal("delivered", m.State));
        Assert.Equal([skipped.Id, acknowledged.Id], history.Messages.Select(m => m.Id));
    }
}
