using System.Text;

namespace Parley.Testing.Internal;

/// <summary>The outcome of a finished command: its exit code and its stdout and stderr, interleaved.</summary>
internal sealed record CommandResult(int ExitCode, string Output);

/// <summary>Runs short-lived tools (openssl, prosodyctl, ejabberdctl, chown) to completion with a time limit.</summary>
internal static class CommandRunner
{
    private const int MaxOutputChars = 64 * 1024;

    /// <summary>Runs <paramref name="spec"/> and returns its exit code and output.</summary>
    /// <exception cref="XmppTestServerException">It could not be started or did not finish within <paramref name="timeout"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled (the process is killed).</exception>
    public static async Task<CommandResult> RunAsync(LaunchSpec spec, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var output = new StringBuilder();
        void OnLine(string line)
        {
            lock (output)
            {
                if (output.Length < MaxOutputChars)
                {
                    output.AppendLine(line);
                }
            }
        }

        using var child = await ChildProcess.StartAsync(spec, OnLine, cancellationToken).ConfigureAwait(false);
        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout);
        try
        {
            await child.WaitForExitAsync(timeoutSource.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            child.KillTree(TimeSpan.FromSeconds(5));
            cancellationToken.ThrowIfCancellationRequested();
            throw new XmppTestServerException($"'{spec}' did not finish within {timeout.TotalSeconds:0} s. Output:\n{Snapshot(output)}");
        }

        return new CommandResult(child.ExitCode ?? -1, Snapshot(output));
    }

    /// <summary>Runs <paramref name="spec"/> and fails unless it exits with 0.</summary>
    /// <exception cref="XmppTestServerException">Non-zero exit, start failure or timeout; the message holds the output.</exception>
    public static async Task<string> RunCheckedAsync(LaunchSpec spec, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var result = await RunAsync(spec, timeout, cancellationToken).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw new XmppTestServerException($"'{spec}' exited with {result.ExitCode}. Output:\n{result.Output}");
        }

        return result.Output;
    }

    private static string Snapshot(StringBuilder output)
    {
        lock (output)
        {
            return output.ToString();
        }
    }
}
