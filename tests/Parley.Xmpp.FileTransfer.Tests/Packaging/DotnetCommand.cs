using System.Diagnostics;
using System.Text;

namespace Parley.Xmpp.FileTransfer.Tests.Packaging;

/// <summary>One run of the <c>dotnet</c> command: its exit code and everything it printed.</summary>
internal sealed record DotnetCommand(string Display, int ExitCode, string Output)
{
    /// <summary>Runs <c>dotnet</c> with <paramref name="arguments"/> in <paramref name="workingDirectory"/>; killed after <paramref name="timeout"/>.</summary>
    public static async Task<DotnetCommand> RunAsync(string workingDirectory, TimeSpan timeout, IReadOnlyList<string> arguments)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        var output = new StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var timer = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(timer.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            Append(output, $"(killed after {timeout.TotalSeconds:0} s)");
        }

        // WaitForExitAsync also waits for the end of both redirected streams.
        var display = "dotnet " + string.Join(' ', arguments);
        lock (output)
        {
            return new DotnetCommand(display, process.ExitCode, output.ToString());
        }
    }

    public void AssertSucceeded(string what) =>
        Assert.True(ExitCode == 0, $"{what} failed (exit code {ExitCode}): {Display}\n{Output}");

    private static void Append(StringBuilder output, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (output)
        {
            output.AppendLine(line);
        }
    }
}
