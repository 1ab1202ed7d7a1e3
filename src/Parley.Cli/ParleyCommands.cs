using System.CommandLine;
using System.CommandLine.Parsing;
using Microsoft.Extensions.Logging;
using Parley.Xmpp.Core;

namespace Parley.Cli;

/// <summary>The command tree of <c>parley</c>: the shared connection options on the root, one command per task.</summary>
internal sealed class ParleyCommands
{
    /// <summary>The longest message text <c>parley send</c> takes, in characters; servers refuse far smaller stanzas.</summary>
    public const int MaxTextLength = 65_536;

    private readonly CliConsole _console;
    private readonly ConnectionOptions _connection = new();

    public ParleyCommands(CliConsole console)
    {
        _console = console;
        Root = new RootCommand("Parley: send XMPP messages and files from the shell, or run an echo bot.");
        _connection.AddTo(Root);
        Root.SetAction((Action<ParseResult>)(_ => throw new UsageException("name a command: send, echo, send-file or receive.")));
        Root.Add(CreateSend());
        Root.Add(CreateEcho());
        Root.Add(CreateSendFile());
        Root.Add(CreateReceive());
    }

    public RootCommand Root { get; }

    private Command CreateSend()
    {
        var to = RecipientArgument("The address to send to.");
        var text = new Argument<string>("text") { Description = $"The message text (quote it); at most {MaxTextLength:N0} characters." };
        text.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string>() is { Length: > MaxTextLength })
            {
                result.AddError($"the text is longer than {MaxTextLength:N0} characters.");
            }
        });
        var command = new Command("send", "Send one chat message and exit once the server has it.") { to, text };
        SetAction(command, (result, connection, loggerFactory, cancellationToken) =>
            MessageCommands.SendAsync(connection, result.GetRequiredValue(to), result.GetRequiredValue(text), _console, loggerFactory, cancellationToken));
        return command;
    }

    private Command CreateEcho()
    {
        var rateLimit = new Option<int?>("--rate-limit")
        {
            Description = "Answer each sender at most this many messages a minute (and as many at once); the first one over it is told when the bot answers again. Default: no limit.",
            HelpName = "per-minute",
        };
        rateLimit.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int?>() is < 1 or > 10_000)
            {
                result.AddError("--rate-limit takes a number of messages a minute from 1 to 10000.");
            }
        });
        var command = new Command("echo", "Run the echo bot (the bot host's rules) until Ctrl-C.") { rateLimit };
        SetAction(command, (result, connection, loggerFactory, cancellationToken) =>
            MessageCommands.EchoAsync(connection, result.GetValue(rateLimit), _console, loggerFactory, cancellationToken));
        return command;
    }

    private Command CreateSendFile()
    {
        var to = RecipientArgument("The address to send to; a bare JID picks the resource that supports file transfer.");
        var path = new Argument<FileInfo>("path") { Description = "The file to send." };
        path.AcceptExistingOnly();
        var command = new Command("send-file", "Send a file over Jingle, SI (SOCKS5 or in-band) or an upload link, whatever the peer supports; progress on standard error.") { to, path };
        SetAction(command, (result, connection, loggerFactory, cancellationToken) =>
            FileCommands.SendFileAsync(connection, result.GetRequiredValue(to), result.GetRequiredValue(path), _console, loggerFactory, cancellationToken));
        return command;
    }

    private Command CreateReceive()
    {
        var folder = new Option<DirectoryInfo>("--to")
        {
            Description = "The folder to store received files in; created if missing.",
            HelpName = "folder",
            Required = true,
        };
        var command = new Command("receive", "Accept incoming files (Jingle, SI) into a folder until Ctrl-C.") { folder };
        SetAction(command, (result, connection, loggerFactory, cancellationToken) =>
            FileCommands.ReceiveAsync(connection, result.GetRequiredValue(folder), _console, loggerFactory, cancellationToken));
        return command;
    }

    private void SetAction(Command command, Func<ParseResult, ConnectionArguments, ILoggerFactory, CancellationToken, Task<int>> run) =>
        command.SetAction(async (result, cancellationToken) =>
        {
            var connection = await _connection.ReadAsync(result, _console, cancellationToken).ConfigureAwait(false);
            using var loggerFactory = LoggerFactory.Create(builder =>
            {
                // Logs are diagnostics: standard error, so standard output holds only the results a script reads.
                builder.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace)
                    .AddSimpleConsole(o => o.SingleLine = true)
                    .SetMinimumLevel(connection.Trace ? LogLevel.Trace : connection.Verbose ? LogLevel.Debug : LogLevel.Warning);
                builder.AddFilter("Parley.Xmpp.Traffic", connection.Trace ? LogLevel.Trace : LogLevel.None);
            });
            return await run(result, connection, loggerFactory, cancellationToken).ConfigureAwait(false);
        });

    private static Argument<Jid> RecipientArgument(string description) => new("jid")
    {
        Description = description,
        CustomParser = result =>
        {
            var text = result.Tokens[0].Value;
            if (Jid.TryParse(text, out var jid))
            {
                return jid;
            }

            result.AddError($"'{text}' is not a valid JID.");
            return null;
        },
    };
}
