namespace Parley.Cli;

/// <summary>What a command reads and writes besides its arguments: the standard streams and the environment.</summary>
/// <param name="Output">Results: what was sent, what arrived.</param>
/// <param name="Error">Error lines and progress.</param>
/// <param name="Input">Standard input, read only for <c>--password-stdin</c>.</param>
/// <param name="ErrorIsTerminal">Progress is a redrawn bar on a terminal and plain lines when standard error is redirected.</param>
/// <param name="Environment">Looks up an environment variable; null when unset.</param>
internal sealed record CliConsole(TextWriter Output, TextWriter Error, TextReader Input, bool ErrorIsTerminal, Func<string, string?> Environment);
