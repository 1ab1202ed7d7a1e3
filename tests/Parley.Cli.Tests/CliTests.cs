using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using Parley.Testing;
using Parley.Xmpp;
using Parley.Xmpp.Stanzas;

namespace Parley.Cli.Tests;

[CollectionDefinition(ServerFixture.CollectionName)]
public sealed class ServerCollection : ICollectionFixture<ServerFixture>;

/// <summary>The <c>parley</c> command as a user runs it: a child process, real arguments, a real server.</summary>
[Collection(ServerFixture.CollectionName)]
public sealed class CliTests(ServerFixture servers)
{
    internal static readonly string ParleyDll = Path.Combine(AppContext.BaseDirectory, "parley.dll");

    [Fact]
    public async Task Parley_echo_answers_every_message_of_a_quick_burst_in_order()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        var (bot, user) = (await server.CreateAccountAsync(), await server.CreateAccountAsync());
        using var echo = Start(["echo", "--jid", $"{bot.Jid}/echo", "--server", $"{server.Host}:{server.ClientPort}", "--trust-cert", server.CertificateSha256], bot.Password);
        await WaitForLineAsync(echo, "online", TimeSpan.FromSeconds(30));
        await using var client = await ConnectCollectingAsync(server, user);

        // Without --rate-limit nothing is dropped: 20 messages 10 ms apart come back, in order.
        var sent = Enumerable.Range(1, 20).Select(i => $"ping {i} <b>&amp;</b>").ToList();
        foreach (var text in sent)
        {
            await client.Client.SendAsync(new Message(bot.Jid.WithResource("echo"), text));
            await Task.Delay(10);
        }

        var answers = new List<Message>();
        for (var i = 0; i < sent.Count; i++)
        {
            answers.Add(await client.Replies.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(15)));
        }

        Assert.Equal(sent, answers.Select(a => a.Body));
        Assert.All(answers, a => Assert.Equal(bot.Jid.WithResource("echo"), a.From));

        // Ctrl-C stops it cleanly.
        Assert.Equal(0, Interrupt(echo.Id));
        Assert.True(echo.WaitForExit(15_000));
        Assert.Equal(0, echo.ExitCode);
    }

    [Fact]
    public async Task Parley_echo_with_a_rate_limit_answers_that_many_and_then_says_when_it_answers_again()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        var (bot, user) = (await server.CreateAccountAsync(), await server.CreateAccountAsync());
        using var echo = Start(["echo", "--rate-limit=2", "--jid", $"{bot.Jid}/echo", "--server", $"{server.Host}:{server.ClientPort}", "--trust-cert", server.CertificateSha256], bot.Password);
        await WaitForLineAsync(echo, "online", TimeSpan.FromSeconds(30));
        await using var client = await ConnectCollectingAsync(server, user);

        for (var i = 1; i <= 5; i++)
        {
            await client.Client.SendAsync(new Message(bot.Jid.WithResource("echo"), $"flood {i}"));
        }

        // The bot's answers come in order; the last one proves nothing more is on its way.
        async Task<string?> NextAsync() => (await client.Replies.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(15))).Body;
        Assert.Equal("flood 1", await NextAsync());
        Assert.Equal("flood 2", await NextAsync());
        Assert.Matches(@"^Too many messages — I answer again in \d+ s\.$", await NextAsync());
        await client.Client.PingAsync(bot.Jid.WithResource("echo"));
        Assert.False(client.Replies.Reader.TryRead(out _));
        Assert.Equal(0, Interrupt(echo.Id));
        Assert.True(echo.WaitForExit(15_000));
    }

    /// <summary>A client that collects the bodies of the messages it receives.</summary>
    private sealed class Collecting(XmppClient client) : IAsyncDisposable
    {
        public XmppClient Client { get; } = client;

        public Channel<Message> Replies { get; } = Channel.CreateUnbounded<Message>();

        public ValueTask DisposeAsync() => Client.DisposeAsync();
    }

    private static async Task<Collecting> ConnectCollectingAsync(XmppTestServer server, TestAccount user)
    {
        var collecting = new Collecting(new XmppClient(server.ClientOptions(user, "t")));
        collecting.Client.OnMessage((m, _) =>
        {
            if (m.Body is not null)
            {
                collecting.Replies.Writer.TryWrite(m);
            }

            return ValueTask.CompletedTask;
        });
        await collecting.Client.ConnectAsync();
        return collecting;
    }

    [Fact]
    public async Task Parley_send_delivers_and_exits_zero()
    {
        var server = await servers.GetAsync(Servers.Ejabberd);
        var (sender, receiver) = (await server.CreateAccountAsync(), await server.CreateAccountAsync());
        await using var client = new XmppClient(server.ClientOptions(receiver, "r"));
        var got = new TaskCompletionSource<Message>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.OnMessage((m, _) =>
        {
            got.TrySetResult(m);
            return ValueTask.CompletedTask;
        });
        await client.ConnectAsync();
        await client.SendPresenceAsync();

        var (code, stdout, stderr) = await RunAsync(["send", client.Jid!.ToString(), "hello from the CLI", "--jid", sender.Jid.ToString(), "--server", $"{server.Host}:{server.ClientPort}", "--trust-cert", server.CertificateSha256], sender.Password);
        Assert.True(code == 0, stderr);
        Assert.Contains("sent to", stdout, StringComparison.Ordinal);
        var message = await got.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("hello from the CLI", message.Body);
    }

    [Fact]
    public async Task Parley_receive_accepts_what_parley_send_file_sends()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        var (receiver, sender) = (await server.CreateAccountAsync(), await server.CreateAccountAsync());
        var folder = Directory.CreateTempSubdirectory("parley-cli-receive-").FullName;
        var source = Path.Combine(Directory.CreateTempSubdirectory("parley-cli-send-").FullName, "report 42.bin");
        var bytes = new byte[3_000_000];
        new Random(42).NextBytes(bytes);
        await File.WriteAllBytesAsync(source, bytes);
        var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));
        try
        {
            string[] connect = ["--server", $"{server.Host}:{server.ClientPort}", "--trust-cert", server.CertificateSha256];
            using var receive = Start(["receive", "--to", folder, "--jid", $"{receiver.Jid}/inbox", .. connect], receiver.Password);
            await WaitForLineAsync(receive, "receiving files", TimeSpan.FromSeconds(30));

            var (code, stdout, stderr) = await RunAsync(["send-file", $"{receiver.Jid}/inbox", source, "--jid", sender.Jid.ToString(), .. connect], sender.Password);
            Assert.True(code == 0, stderr + stdout);
            Assert.Contains($"sha-256 {sha}", stdout, StringComparison.Ordinal);
            // Standard error is a pipe here: progress comes as whole lines, none of it on standard output.
            Assert.Contains("report 42.bin: 100% (3,000,000 of 3,000,000 bytes)", stderr.Split('\n'));
            Assert.DoesNotContain('\r', stderr);
            Assert.DoesNotContain("%", stdout, StringComparison.Ordinal);
            await WaitForLineAsync(receive, "received report 42.bin", TimeSpan.FromSeconds(30));
            Assert.Equal(sha, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(await File.ReadAllBytesAsync(Path.Combine(folder, "report 42.bin")))));

            Assert.Equal(0, Interrupt(receive.Id));
            Assert.True(receive.WaitForExit(15_000));
            Assert.Equal(0, receive.ExitCode);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
            Directory.Delete(Path.GetDirectoryName(source)!, recursive: true);
        }
    }

    [Fact]
    public async Task Parley_send_file_delivers_to_a_running_libpurple()
    {
        // finch (libpurple 2.14, Pidgin's engine) takes only SI: the CLI must pick it from finch's caps by itself.
        var server = await servers.GetAsync(Servers.Prosody);
        var (sender, user) = (await server.CreateAccountAsync(), await server.CreateAccountAsync());
        await server.AddRosterItemAsync(sender.Localpart, user.Jid.ToString(), "user");
        await server.AddRosterItemAsync(user.Localpart, sender.Jid.ToString(), "sender");
        var folder = Directory.CreateTempSubdirectory("parley-cli-purple-").FullName;
        var source = Path.Combine(folder, "status 1234.pdf");
        var bytes = System.Security.Cryptography.RandomNumberGenerator.GetBytes(700_000);
        await File.WriteAllBytesAsync(source, bytes);
        var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));
        try
        {
            await using var purple = await LibpurpleClient.StartAsync(server, user, [sender.Jid]);
            var (code, stdout, stderr) = await RunAsync(
                ["send-file", $"{user.Jid}/finch", source, "--jid", sender.Jid.ToString(), "--server", $"{server.Host}:{server.ClientPort}", "--trust-cert", server.CertificateSha256],
                sender.Password);
            Assert.True(code == 0, stderr + stdout + purple.Diagnostics());
            Assert.Contains($"sha-256 {sha}", stdout, StringComparison.Ordinal);

            // Pidgin's autoaccept plugin saves under purple_escape_filename(name): the space arrives, and is stored as %20.
            var saved = await purple.WaitForReceivedFileAsync("status%201234.pdf", bytes.Length, TimeSpan.FromSeconds(60));
            Assert.Equal(sha, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(await File.ReadAllBytesAsync(saved))));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task A_wrong_password_exits_3_with_one_line()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        var account = await server.CreateAccountAsync();
        var (code, _, stderr) = await RunAsync(["send", "x@" + server.Domain, "hi", "--jid", account.Jid.ToString(), "--server", $"{server.Host}:{server.ClientPort}", "--trust-cert", server.CertificateSha256], "wrong");
        Assert.Equal(3, code);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("parley: Authentication of", line, StringComparison.Ordinal);
        Assert.Contains("not-authorized", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_untrusted_certificate_exits_1_and_prints_the_fingerprint_to_trust()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        var account = await server.CreateAccountAsync();
        var (code, _, stderr) = await RunAsync(["send", "x@" + server.Domain, "hi", "--jid", account.Jid.ToString(), "--server", $"{server.Host}:{server.ClientPort}"], account.Password);
        Assert.Equal(1, code);
        Assert.Contains(server.CertificateSha256, stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "send", "a@b.test" }, "Required argument missing for command: 'send'")]
    [InlineData(new[] { "send", "a@b.test", "hi", "--jid", "not a jid" }, "--jid")]
    [InlineData(new[] { "send", "a@b.test", "hi", "--jid", "a@b.test", "--server", "host:99999" }, "is not a port")]
    [InlineData(new[] { "send", "a@b.test", "hi", "--jid=a@b.test", "--server=host:0" }, "--server 'host:0': '0' is not a port")]
    [InlineData(new[] { "send", "a@b.test", "hi", "--jid", "a@b.test", "--trust-cert", "abc" }, "--trust-cert")]
    [InlineData(new[] { "send", "a@b.test", "hi", "--jid", "a@b.test", "--password", "x", "--password-stdin" }, "give only one of --password, --password-file and --password-stdin")]
    [InlineData(new[] { "send", "a@b.test", "hi", "--jid", "a@b.test", "--password-file", "/nonexistent/parley-password" }, "--password-file '/nonexistent/parley-password'")]
    [InlineData(new[] { "send-file", "a@b.test", "/nonexistent/report.pdf" }, "/nonexistent/report.pdf")]
    [InlineData(new[] { "receive" }, "'--to' is required")]
    [InlineData(new[] { "echo", "--direct-tls=maybe" }, "maybe")]
    [InlineData(new[] { "echo", "--rate-limit", "0" }, "--rate-limit takes a number of messages a minute")]
    [InlineData(new[] { "frobnicate" }, "Unrecognized command or argument 'frobnicate'")]
    [InlineData(new[] { "--jid", "a@b.test" }, "name a command")]
    public async Task Usage_mistakes_exit_2_with_one_line(string[] args, string expected)
    {
        var (code, stdout, stderr) = await RunAsync(args, "pw");
        Assert.Equal(2, code);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("parley: ", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.EndsWith("--help for usage)", line, StringComparison.Ordinal);
        Assert.Equal(string.Empty, stdout);
    }

    private static Process Start(IEnumerable<string> args, string? password, string? executable = null) =>
        Start(args, password is null ? [] : new Dictionary<string, string> { ["PARLEY_PASSWORD"] = password }, executable);

    /// <summary>Starts parley (the built parley.dll, or <paramref name="executable"/>) with these variables added to the environment.</summary>
    internal static Process Start(IEnumerable<string> args, IReadOnlyDictionary<string, string> environment, string? executable = null)
    {
        var info = new ProcessStartInfo(executable ?? "dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (executable is null)
        {
            info.ArgumentList.Add(ParleyDll);
        }

        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        // A PARLEY_* variable of the machine running the tests must not stand in for what a test gives.
        info.Environment.Remove("PARLEY_PASSWORD");
        info.Environment.Remove("PARLEY_JID");
        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        return Process.Start(info) ?? throw new InvalidOperationException("could not start parley");
    }

    internal static Task<(int Code, string Stdout, string Stderr)> RunAsync(IEnumerable<string> args, string? password) =>
        RunAsync(Start(args, password), standardInput: null);

    /// <summary>Waits for a started parley to exit, after writing <paramref name="standardInput"/> (if any) and closing its input.</summary>
    internal static async Task<(int Code, string Stdout, string Stderr)> RunAsync(Process process, string? standardInput)
    {
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (standardInput is not null)
            {
                await process.StandardInput.WriteAsync(standardInput);
            }

            process.StandardInput.Close();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
            return (process.ExitCode, await stdout, await stderr);
        }
    }

    private static async Task WaitForLineAsync(Process process, string marker, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (await process.StandardOutput.ReadLineAsync(cts.Token) is { } line)
        {
            if (line.Contains(marker, StringComparison.Ordinal))
            {
                return;
            }
        }

        Assert.Fail($"parley exited before printing '{marker}': {await process.StandardError.ReadToEndAsync()}");
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);

    internal static int Interrupt(int pid) => kill(pid, 2);
}
