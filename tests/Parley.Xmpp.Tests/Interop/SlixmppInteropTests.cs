using System.Diagnostics;
using System.Text.Json;
using Parley.Testing;
using Parley.Xmpp.Tests.Client;

namespace Parley.Xmpp.Tests.Interop;

/// <summary>Another implementation as the peer: slixmpp (Debian python3-slixmpp) chats with a Parley client on both servers.</summary>
[Collection(ServerFixture.CollectionName)]
public sealed class SlixmppInteropTests(ServerFixture servers)
{
    public static TheoryData<string> Kinds => Servers.Kinds;

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_slixmpp_client_and_a_parley_client_exchange_messages(string kind)
    {
        var server = await servers.GetAsync(kind);
        var (parley, peer) = (await server.CreateAccountAsync(), await server.CreateAccountAsync());
        await using var client = new XmppClient(server.ClientOptions(parley, "parley"));
        var received = new TaskCompletionSource<Message>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.OnMessage(async (message, ct) =>
        {
            if (message.Type == MessageType.Chat && message.Body is { } body)
            {
                received.TrySetResult(message);
                await client.SendAsync(message.CreateReply($"parley got: {body}"), ct);
            }
        });
        await client.ConnectAsync();
        await client.SendPresenceAsync();

        var script = Path.Combine(AppContext.BaseDirectory, "Interop", "slixmpp_chat.py");
        var info = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { script, $"{peer.Jid}/slix", peer.Password, server.Host, server.ClientPort.ToString(System.Globalization.CultureInfo.InvariantCulture), client.Jid!.ToString(), "héllo <&> from slixmpp" })
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(process.ExitCode == 0, await stderr);

        var inbound = await received.Task.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal("héllo <&> from slixmpp", inbound.Body);
        Assert.Equal(peer.Jid.WithResource("slix"), inbound.From);
        using var reply = JsonDocument.Parse(await stdout);
        Assert.Equal("parley got: héllo <&> from slixmpp", reply.RootElement.GetProperty("body").GetString());
        Assert.Equal(client.Jid.ToString(), reply.RootElement.GetProperty("from").GetString());
    }
}
