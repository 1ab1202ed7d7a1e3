using Microsoft.Extensions.Logging;
using Parley.Bots;
using Parley.Xmpp;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;

namespace Parley.Cli;

/// <summary>The <c>parley</c> command: sends a message, runs the echo bot. One line on failure, non-zero exit code.</summary>
internal static class CliApp
{
    private const string Usage = """
        usage: parley <command> [options]

        commands:
          send <jid> <text>     send one chat message and exit
          echo                  run the echo bot until Ctrl-C
          send-file <jid> <path>  send a file (Jingle, SI over SOCKS5 or in-band: what the peer supports)
          receive --to <folder>   accept incoming files into <folder> until Ctrl-C

        connection options (every command):
          --jid <user@domain[/resource]>   the account (or PARLEY_JID); a full JID keeps its resource
          --password <secret>              the password (or PARLEY_PASSWORD)
          --server <host[:port]>           connect here instead of the domain's SRV records
          --trust-cert <sha256>            trust the server certificate with this SHA-256 (hex, colons optional)
          --direct-tls                     TLS from the first byte (XEP-0368) instead of STARTTLS
          -v, --verbose                    log connection events; --trace logs the XML (secrets redacted)
        """;

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, Func<string, string?> environment)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            await output.WriteLineAsync(Usage).ConfigureAwait(false);
            return args.Length == 0 ? 2 : 0;
        }

        using var cancellation = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            cancellation.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            var (connection, rest) = ConnectionArguments.Parse(args[1..], environment);
            using var loggerFactory = LoggerFactory.Create(builder =>
            {
                builder.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(connection.Trace ? LogLevel.Trace : connection.Verbose ? LogLevel.Debug : LogLevel.Warning);
                builder.AddFilter("Parley.Xmpp.Traffic", connection.Trace ? LogLevel.Trace : LogLevel.None);
            });
            return args[0] switch
            {
                "send" => await SendAsync(connection, rest, output, loggerFactory, cancellation.Token).ConfigureAwait(false),
                "echo" => await EchoAsync(connection, rest, output, loggerFactory, cancellation.Token).ConfigureAwait(false),
                "send-file" => await FileCommands.SendFileAsync(connection, rest, output, loggerFactory, cancellation.Token).ConfigureAwait(false),
                "receive" => await FileCommands.ReceiveAsync(connection, rest, output, loggerFactory, cancellation.Token).ConfigureAwait(false),
                _ => throw new UsageException($"unknown command '{args[0]}'."),
            };
        }
        catch (UsageException ex)
        {
            await error.WriteLineAsync($"parley: {ex.Message} (parley --help for usage)").ConfigureAwait(false);
            return 2;
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            return 130;
        }
        catch (Exception ex) when (ex is XmppException or TimeoutException)
        {
            await error.WriteLineAsync($"parley: {OneLine(ex.Message)}").ConfigureAwait(false);
            return ex is XmppAuthenticationException ? 3 : 1;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    private static async Task<int> SendAsync(ConnectionArguments connection, List<string> rest, TextWriter output, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        if (rest.Count != 2)
        {
            throw new UsageException("send needs exactly <jid> and <text> (quote the text).");
        }

        if (!Jid.TryParse(rest[0], out var to))
        {
            throw new UsageException($"'{rest[0]}' is not a valid JID.");
        }

        await using var client = new XmppClient(connection.ToClientOptions(), loggerFactory);
        await client.ConnectAsync(cancellationToken).ConfigureAwait(false);
        await client.SendAsync(new Message(to, rest[1]), cancellationToken).ConfigureAwait(false);

        // A ping round trip proves the server processed the message before we close.
        await client.PingAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        await output.WriteLineAsync($"sent to {to}").ConfigureAwait(false);
        return 0;
    }

    private static async Task<int> EchoAsync(ConnectionArguments connection, List<string> rest, TextWriter output, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        if (rest.Count != 0)
        {
            throw new UsageException($"echo takes no arguments, got '{rest[0]}'.");
        }

        var options = connection.ToClientOptions();
        options.Reconnect = new ReconnectPolicy();

        // The same echo bot and message rules as the bot host (Parley.Bots), with its default rate limit.
        var rules = new MessageRules(AllowList.Everyone, new SenderRateLimiter(burst: 5, perMinute: 12));
        await using var runner = new BotRunner("echo", new XmppClient(options, loggerFactory), new EchoBot(), rules, loggerFactory);
        await runner.StartAsync(cancellationToken).ConfigureAwait(false);
        await output.WriteLineAsync($"echo bot online as {runner.Client.Jid}; Ctrl-C to stop").ConfigureAwait(false);
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            await output.WriteLineAsync("stopping").ConfigureAwait(false);
        }

        await runner.StopAsync(CancellationToken.None).ConfigureAwait(false);
        return 0;
    }

    private static string OneLine(string text) => text.ReplaceLineEndings(" ");
}
