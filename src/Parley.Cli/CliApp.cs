using System.CommandLine;
using System.CommandLine.Invocation;
using Parley.Xmpp.Core;

namespace Parley.Cli;

/// <summary>
/// Runs <c>parley</c>: parses the command line, runs the command and turns the outcome into an exit code. A failure is
/// one line on standard error starting with <c>parley: </c>.
/// </summary>
internal static class CliApp
{
    /// <summary>Exit code of a command that did what it was asked.</summary>
    public const int Success = 0;

    /// <summary>Exit code when the connection or the protocol failed (server unreachable, certificate not trusted, refused).</summary>
    public const int Failure = 1;

    /// <summary>Exit code of a command-line mistake: an unknown option, a missing or malformed value.</summary>
    public const int UsageError = 2;

    /// <summary>Exit code when the server refused the account's credentials.</summary>
    public const int AuthenticationFailed = 3;

    /// <summary>Exit code of a command stopped by Ctrl-C before it was done (128 + SIGINT, as shells report it).</summary>
    public const int Interrupted = 130;

    public static async Task<int> RunAsync(string[] args, CliConsole console)
    {
        var commands = new ParleyCommands(console);
        if (args.Length == 0)
        {
            await commands.Root.Parse(["--help"]).InvokeAsync(Invocation(console.Error, console.Error)).ConfigureAwait(false);
            return UsageError;
        }

        // No response files: a message text such as "@bob see you" is text, not the name of a file of arguments.
        var parsed = commands.Root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });

        if (parsed.Action is ParseErrorAction)
        {
            await WriteParseErrorsAsync(parsed, console.Error).ConfigureAwait(false);
            return UsageError;
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
            return await parsed.InvokeAsync(Invocation(console.Output, console.Error), cancellation.Token).ConfigureAwait(false);
        }
        catch (UsageException ex)
        {
            await console.Error.WriteLineAsync($"parley: {ex.Message} ({HelpHint(parsed)})").ConfigureAwait(false);
            return UsageError;
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            return Interrupted;
        }
        catch (Exception ex) when (ex is XmppException or TimeoutException)
        {
            await console.Error.WriteLineAsync($"parley: {OneLine(ex.Message)}").ConfigureAwait(false);
            return ex is XmppAuthenticationException ? AuthenticationFailed : Failure;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    private static InvocationConfiguration Invocation(TextWriter output, TextWriter error) => new()
    {
        Output = output,
        Error = error,

        // Exceptions reach RunAsync's catch blocks, which map them to the documented exit codes.
        EnableDefaultExceptionHandler = false,

        // Ctrl-C cancels the command's token and the command decides how to stop; the library would otherwise end the
        // process after a fixed grace period, cutting the echo bot's and the receiver's clean shutdown short.
        ProcessTerminationTimeout = null,
    };

    /// <summary>One line per mistake, the last with the command's help hint; an unknown option gets the nearest known one.</summary>
    private static async Task WriteParseErrorsAsync(ParseResult parsed, TextWriter error)
    {
        var messages = parsed.Errors.Select(e => OneLine(e.Message)).Distinct(StringComparer.Ordinal).ToList();
        for (var i = 0; i < messages.Count; i++)
        {
            var suggestion = OptionSuggestions.For(parsed, messages[i]);
            var hint = i == messages.Count - 1 ? $" ({HelpHint(parsed)})" : string.Empty;
            await error.WriteLineAsync($"parley: {messages[i]}{suggestion}{hint}").ConfigureAwait(false);
        }
    }

    private static string HelpHint(ParseResult parsed) =>
        parsed.CommandResult.Command is RootCommand ? "parley --help for usage" : $"parley {parsed.CommandResult.Command.Name} --help for usage";

    private static string OneLine(string text) => text.ReplaceLineEndings(" ");
}
