using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using System.Threading.Channels;
using Parley.Testing.Internal;
using Parley.Xmpp;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;
using Xunit.Abstractions;

namespace Parley.Web.Tests;

/// <summary>
/// <c>./scripts/run.sh</c> supervises what it starts: Prosody, the gateway and the bot host are each killed with
/// SIGKILL in turn; run.sh says so and starts that one again, the others stay up and reconnect, and everything works
/// afterwards. Ctrl-C then stops it all.
/// </summary>
public sealed class RunScriptTests(ITestOutputHelper output)
{
    private const int SigInt = 2;
    private const string Prosody = "prosody --config";
    private const string Bots = "parley-bots --contentRoot";
    private const string Gateway = "Parley.Web --urls";
    private static readonly TimeSpan Soon = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Reconnected = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Run_sh_starts_again_what_exits_and_Ctrl_C_stops_everything()
    {
        // The first run in a checkout builds Parley in Release; later ones only check that the build is current.
        var clock = Stopwatch.StartNew();
        await using var run = await RunScript.StartAsync(TimeSpan.FromMinutes(4));
        output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s: run.sh printed its summary");
        var (prosody, bots, gateway) = (run.Child(Prosody), run.Child(Bots), run.Child(Gateway));
        await using (var owner = await OwnerClient.ConnectAsync(run))
        {
            await owner.AssertEchoAnswersAsync("before any restart");
        }

        // Prosody dies: it comes back on the same port, and the gateway and the bots (same processes) reconnect to it.
        prosody = await KillAndAwaitRestartAsync(run, "prosody", prosody, Prosody);
        await run.WaitForPortAsync(run.ClientPort, Soon);
        await WaitForHealthyGatewayAsync(run);
        await using (var owner = await OwnerClient.ConnectAsync(run))
        {
            await AssertVisitorReachesOwnerAsync(run, owner, "through the restarted Prosody");
            await owner.AssertEchoAnswersAsync("after Prosody's restart");
        }

        Assert.Equal(gateway, run.Child(Gateway));
        Assert.Equal(bots, run.Child(Bots));
        output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s: Prosody restarted, the gateway and the bots reconnected");

        // The gateway dies: a new one serves on the same port.
        gateway = await KillAndAwaitRestartAsync(run, "gateway", gateway, Gateway);
        await WaitForHealthyGatewayAsync(run);
        await using (var owner = await OwnerClient.ConnectAsync(run))
        {
            await AssertVisitorReachesOwnerAsync(run, owner, "through the restarted gateway");
        }

        output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s: the gateway restarted and serves");

        // The bot host dies: the new one's echo bot answers once it is online (a message sent before its start is
        // stored offline and, being older than the bot, deliberately not answered).
        var echoOnline = run.CountInLog("bots.log", "Bot echo online as");
        bots = await KillAndAwaitRestartAsync(run, "bots", bots, Bots);
        await run.WaitUntilAsync("the new bot host's echo bot online", () => Task.FromResult(run.CountInLog("bots.log", "Bot echo online as") > echoOnline), Reconnected);
        await using (var owner = await OwnerClient.ConnectAsync(run))
        {
            await owner.AssertEchoAnswersAsync("after the bot host's restart");
        }

        Assert.Equal(prosody, run.Child(Prosody));
        Assert.Equal(gateway, run.Child(Gateway));
        output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s: the bot host restarted and its echo bot answers");

        // Ctrl-C: run.sh and everything it started end within seconds.
        var started = ProcessTree.Descendants(run.Pid);
        Assert.Contains(prosody, started);
        var stopping = Stopwatch.StartNew();
        Assert.True(run.Signal(SigInt));
        Assert.True(await run.WaitForExitAsync(TimeSpan.FromSeconds(15)), $"run.sh still runs 15 s after SIGINT. Its output:\n{run.Output}");
        output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s: run.sh stopped {stopping.Elapsed.TotalSeconds:0.0} s after SIGINT. Its output:\n{run.Output}");
        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(12), $"run.sh took {stopping.Elapsed.TotalSeconds:0.0} s to stop.");
        Assert.Equal(130, run.ExitCode);
        Assert.Contains("Stopping Parley...", run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(started, p => p.IsAlive);
    }

    /// <summary>SIGKILLs one service; run.sh must report it with its exit status and start it again.</summary>
    private static async Task<ProcessIdentity> KillAndAwaitRestartAsync(RunScript run, string service, ProcessIdentity process, string marker)
    {
        Assert.True(Posix.Signal(process.Pid, Posix.SigKill));
        await run.WaitForLineAsync(
            new Regex($@"^\d\d:\d\d:\d\d {service} \(pid {process.Pid}\) exited with status 137 \(SIGKILL\); starting it again in 1 s, at \d\d:\d\d:\d\d$"), Soon);
        var restarted = int.Parse((await run.WaitForLineAsync(new Regex($@"^\d\d:\d\d:\d\d {service} started again \(pid (\d+)\)$"), Soon)).Groups[1].Value);
        var again = run.Child(marker);
        Assert.Equal(restarted, again.Pid);
        Assert.False(process.IsAlive);
        return again;
    }

    private static async Task WaitForHealthyGatewayAsync(RunScript run)
    {
        using var visitor = new Visitor(run.WebAddress);
        await run.WaitUntilAsync("the gateway's /healthz says Healthy (its XMPP link is up)", async () =>
        {
            try
            {
                return await visitor.HealthAsync() is (HttpStatusCode.OK, "Healthy");
            }
            catch (HttpRequestException)
            {
                return false; // not listening yet
            }
        }, Reconnected);
    }

    /// <summary>A guest signs in on the chat page, sees the owner online and sends a message; the owner receives it from the visitor's JID.</summary>
    private static async Task AssertVisitorReachesOwnerAsync(RunScript run, OwnerClient owner, string text)
    {
        using var visitor = new Visitor(run.WebAddress);
        using (var signIn = await visitor.SignInAsGuestAsync("Supervised"))
        {
            Assert.True(signIn.IsSuccessStatusCode, $"Guest sign-in answered {signIn.StatusCode}.");
        }

        // run.sh approved the gateway's presence subscription in the owner's roster: the new guest sees the owner online.
        await using (var tab = await visitor.OpenTabAsync())
        {
            await tab.WaitPresenceAsync("online", Reconnected);
        }

        await visitor.SendAsync(text);
        var received = await owner.NextMessageAsync(m => m.Body == text, Reconnected);
        Assert.Equal("chat.localhost", received.From?.Domain);
    }

    /// <summary>The owner account of the run, as an XMPP client collecting what it receives.</summary>
    private sealed class OwnerClient : IAsyncDisposable
    {
        private readonly XmppClient _client;
        private readonly Channel<Message> _messages = Channel.CreateUnbounded<Message>();

        private OwnerClient(XmppClient client) => _client = client;

        public static async Task<OwnerClient> ConnectAsync(RunScript run)
        {
            var options = new XmppClientOptions
            {
                Jid = Jid.Parse("owner@localhost/test"),
                Password = run.OwnerPassword,
                Host = "127.0.0.1",
                Port = run.ClientPort,
                Reconnect = ReconnectPolicy.Disabled,
            };
            options.TrustCertificate(run.CertificateSha256);
            var owner = new OwnerClient(new XmppClient(options));
            owner._client.OnMessage((message, _) =>
            {
                owner._messages.Writer.TryWrite(message);
                return ValueTask.CompletedTask;
            });
            await owner._client.ConnectAsync();
            await owner._client.SendPresenceAsync();
            return owner;
        }

        /// <summary>Sends <paramref name="text"/> to the echo bot and waits for the same text back from it.</summary>
        public async Task AssertEchoAnswersAsync(string text)
        {
            var echo = Jid.Parse("echo@localhost");
            await _client.SendAsync(new Message(echo, text));
            var answer = await NextMessageAsync(m => m.Body == text, Reconnected);
            Assert.Equal(echo, answer.From?.Bare);
        }

        public async Task<Message> NextMessageAsync(Func<Message, bool> match, TimeSpan timeout)
        {
            using var cts = new CancellationTokenSource(timeout);
            try
            {
                while (true)
                {
                    var message = await _messages.Reader.ReadAsync(cts.Token);
                    if (message.Type != MessageType.Error && match(message))
                    {
                        return message;
                    }
                }
            }
            catch (OperationCanceledException) when (cts.IsCancellationRequested)
            {
                Assert.Fail($"The owner received no matching message within {timeout.TotalSeconds} s.");
                throw;
            }
        }

        public ValueTask DisposeAsync() => _client.DisposeAsync();
    }
}
