using System.Diagnostics;
using Parley.Testing;
using Parley.Xmpp;
using Parley.Xmpp.Stanzas;

namespace Parley.Cli.Tests;

/// <summary>
/// The command line itself, run as a child process: option spelling, help, version, completions and where the password
/// comes from. The password tests sign in to a real Prosody, so a password that was not read fails authentication.
/// </summary>
[Collection(ServerFixture.CollectionName)]
public sealed class CommandLineTests(ServerFixture servers)
{
    [Fact]
    public async Task A_mistyped_option_is_refused_by_name_with_the_nearest_known_one()
    {
        var (code, stdout, stderr) = await CliTests.RunAsync(["send", "a@b.test", "hi", "--jid", "a@b.test", "--pasword", "secret"], password: null);

        Assert.Equal(2, code);
        Assert.Equal(string.Empty, stdout);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("parley: Unrecognized command or argument '--pasword'. Did you mean --password?", lines);

        // The value that followed the mistyped option is reported too, never taken for the message text.
        Assert.Contains(lines, l => l.Contains("'secret'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_mistyped_option_written_with_an_equals_sign_is_refused_by_name()
    {
        var (code, _, stderr) = await CliTests.RunAsync(["send", "a@b.test", "hi", "--jid=a@b.test", "--sever=example.org"], password: "pw");

        Assert.Equal(2, code);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("parley: Unrecognized command or argument '--sever=example.org'. Did you mean --server?", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Version_prints_the_assembly_version_and_exits_zero()
    {
        var (code, stdout, stderr) = await CliTests.RunAsync(["--version"], password: null);

        Assert.True(code == 0, stderr);
        Assert.Equal(ExpectedVersion(), stdout.Trim());
        Assert.StartsWith("0.1.0", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_of_a_command_lists_its_arguments_and_warns_that_a_password_on_the_command_line_shows_in_ps()
    {
        var (code, stdout, _) = await CliTests.RunAsync(["send", "--help"], password: null);

        Assert.Equal(0, code);
        Assert.Contains("parley send <jid> <text> [options]", stdout, StringComparison.Ordinal);
        var passwordLine = Assert.Single(stdout.Split('\n'), l => l.TrimStart().StartsWith("--password <secret>", StringComparison.Ordinal));
        Assert.Contains("`ps`", passwordLine, StringComparison.Ordinal);
        Assert.Contains("--password-file <path>", stdout, StringComparison.Ordinal);
        Assert.Contains("--password-stdin", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task No_arguments_prints_the_help_on_standard_error_and_exits_2()
    {
        var (code, stdout, stderr) = await CliTests.RunAsync([], password: null);

        Assert.Equal(2, code);
        Assert.Equal(string.Empty, stdout);
        Assert.Contains("send-file <jid> <path>", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_suggest_directive_completes_commands_and_options()
    {
        var (_, commands, _) = await CliTests.RunAsync(["[suggest]", "se"], password: null);
        // The library offers every name that contains the word, not only those that start with it.
        Assert.Equal(["send", "send-file", "--server", "--verbose"], commands.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

        var (_, options, _) = await CliTests.RunAsync(["[suggest]", "send", "--passw"], password: null);
        Assert.Equal(["--password", "--password-file", "--password-stdin"], options.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }

    [Fact]
    public async Task Texts_that_start_with_an_at_sign_or_follow_a_double_dash_are_sent_as_text_and_options_take_equals_signs()
    {
        // --opt=value for every connection option, and "@…" is not read as a response file.
        var server = await servers.GetAsync(Servers.Prosody);
        var (sender, receiver) = (await server.CreateAccountAsync(), await server.CreateAccountAsync());
        await using var inbox = await Inbox.OpenAsync(server, receiver);

        var (code, stdout, stderr) = await CliTests.RunAsync(
            ["send", inbox.Jid, "@bob see you at 5", $"--jid={sender.Jid}", $"--server={server.Host}:{server.ClientPort}", $"--trust-cert={server.CertificateSha256}"],
            sender.Password);

        Assert.True(code == 0, stderr);
        Assert.Contains("sent to", stdout, StringComparison.Ordinal);
        Assert.Equal("@bob see you at 5", (await inbox.NextAsync()).Body);

        // After "--" a word that looks like an option is text.
        (code, _, stderr) = await CliTests.RunAsync(["send", $"--jid={sender.Jid}", .. Connect(server), inbox.Jid, "--", "--verbose is text here"], sender.Password);
        Assert.True(code == 0, stderr);
        Assert.Equal("--verbose is text here", (await inbox.NextAsync()).Body);
    }

    [Fact]
    public async Task The_password_is_read_from_a_file()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        var (sender, receiver) = (await server.CreateAccountAsync(), await server.CreateAccountAsync());
        await using var inbox = await Inbox.OpenAsync(server, receiver);
        var file = Path.Combine(Directory.CreateTempSubdirectory("parley-cli-password-").FullName, "password");
        await File.WriteAllTextAsync(file, sender.Password + "\n");
        try
        {
            // The variable holds a wrong password: the file, given explicitly, is what counts.
            using var process = CliTests.Start(
                ["send", inbox.Jid, "from a password file", "--jid", sender.Jid.ToString(), "--password-file", file, .. Connect(server)],
                new Dictionary<string, string> { ["PARLEY_PASSWORD"] = "wrong" });
            var (code, _, stderr) = await CliTests.RunAsync(process, standardInput: null);

            Assert.True(code == 0, stderr);
            Assert.Equal("from a password file", (await inbox.NextAsync()).Body);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(file)!, recursive: true);
        }
    }

    [Fact]
    public async Task The_password_is_read_from_standard_input()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        var (sender, receiver) = (await server.CreateAccountAsync(), await server.CreateAccountAsync());
        await using var inbox = await Inbox.OpenAsync(server, receiver);

        using var process = CliTests.Start(
            ["send", inbox.Jid, "from standard input", "--jid", sender.Jid.ToString(), "--password-stdin", .. Connect(server)],
            new Dictionary<string, string> { ["PARLEY_PASSWORD"] = "wrong" });
        var (code, _, stderr) = await CliTests.RunAsync(process, standardInput: sender.Password + "\r\nnot read\n");

        Assert.True(code == 0, stderr);
        Assert.Equal("from standard input", (await inbox.NextAsync()).Body);
    }

    [Fact]
    public async Task The_password_is_read_from_the_environment_and_the_account_too()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        var (sender, receiver) = (await server.CreateAccountAsync(), await server.CreateAccountAsync());
        await using var inbox = await Inbox.OpenAsync(server, receiver);

        using var process = CliTests.Start(
            ["send", inbox.Jid, "from the environment", .. Connect(server)],
            new Dictionary<string, string> { ["PARLEY_PASSWORD"] = sender.Password, ["PARLEY_JID"] = sender.Jid.ToString() });
        var (code, _, stderr) = await CliTests.RunAsync(process, standardInput: null);

        Assert.True(code == 0, stderr);
        Assert.Equal("from the environment", (await inbox.NextAsync()).Body);
    }

    [Fact]
    public async Task A_password_on_the_command_line_still_works()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        var (sender, receiver) = (await server.CreateAccountAsync(), await server.CreateAccountAsync());
        await using var inbox = await Inbox.OpenAsync(server, receiver);

        var (code, _, stderr) = await CliTests.RunAsync(
            ["send", inbox.Jid, "from the command line", "--jid", sender.Jid.ToString(), "--password", sender.Password, .. Connect(server)],
            password: "wrong");

        Assert.True(code == 0, stderr);
        Assert.Equal("from the command line", (await inbox.NextAsync()).Body);
    }

    [Fact]
    public async Task Empty_standard_input_is_a_usage_error_before_any_connection()
    {
        using var process = CliTests.Start(["send", "a@b.test", "hi", "--jid", "a@b.test", "--password-stdin", "--server", "127.0.0.1:1"], new Dictionary<string, string>());
        var (code, _, stderr) = await CliTests.RunAsync(process, standardInput: string.Empty);

        Assert.Equal(2, code);
        Assert.StartsWith("parley: standard input holds no password on its first line.", Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
    }

    internal static string ExpectedVersion() => FileVersionInfo.GetVersionInfo(CliTests.ParleyDll).ProductVersion
        ?? throw new InvalidOperationException("parley.dll has no product version");

    internal static string[] Connect(XmppTestServer server) => ["--server", $"{server.Host}:{server.ClientPort}", "--trust-cert", server.CertificateSha256];
}
