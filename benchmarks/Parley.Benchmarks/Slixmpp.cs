using System.Diagnostics;
using System.Text.Json;

namespace Parley.Benchmarks;

/// <summary>Runs the slixmpp side of the comparisons: Debian's <c>python3-slixmpp</c> under <c>/usr/bin/python3</c>.</summary>
internal static class Slixmpp
{
    /// <summary>
    /// Debian's interpreter: it has <c>python3-slixmpp</c>; a pyenv <c>python3</c> earlier on <c>PATH</c> does not.
    /// </summary>
    public const string Python = "/usr/bin/python3";

    /// <summary>Checks that slixmpp can be imported; as root, installs <c>python3-slixmpp</c> with apt-get if it is missing.</summary>
    /// <returns>Whether slixmpp is usable; when not, the reason was printed.</returns>
    public static async Task<bool> EnsureInstalledAsync(CancellationToken cancellationToken = default)
    {
        if (!File.Exists(Python))
        {
            Console.WriteLine($"slixmpp comparison skipped: {Python} does not exist (install Debian's python3 and python3-slixmpp).");
            return false;
        }

        if (await RunAsync(["-c", "import slixmpp"], cancellationToken) is { ExitCode: 0 })
        {
            return true;
        }

        if (Environment.UserName != "root")
        {
            Console.WriteLine("slixmpp comparison skipped: python3-slixmpp is not installed (as root: apt-get install python3-slixmpp).");
            return false;
        }

        Console.WriteLine("python3-slixmpp is not installed; installing it with apt-get ...");
        using var apt = Process.Start(new ProcessStartInfo("apt-get", ["install", "-y", "--no-install-recommends", "python3-slixmpp"]));
        if (apt is null)
        {
            Console.WriteLine("slixmpp comparison skipped: apt-get could not be started.");
            return false;
        }

        await apt.WaitForExitAsync(cancellationToken);
        if (apt.ExitCode != 0 || await RunAsync(["-c", "import slixmpp"], cancellationToken) is not { ExitCode: 0 })
        {
            Console.WriteLine("slixmpp comparison skipped: installing python3-slixmpp failed.");
            return false;
        }

        return true;
    }

    /// <summary>Runs one of the scripts copied next to the benchmark binary and parses the JSON object it prints last.</summary>
    /// <param name="script">The script's file name.</param>
    /// <param name="arguments">Its arguments.</param>
    /// <param name="cancellationToken">Kills the script.</param>
    /// <returns>The JSON, or <see langword="null"/> when the script failed (the reason was printed).</returns>
    public static async Task<JsonDocument?> RunScriptAsync(string script, IEnumerable<string> arguments, CancellationToken cancellationToken = default)
    {
        var path = Path.Combine(AppContext.BaseDirectory, script);
        var run = await RunAsync([path, .. arguments], cancellationToken);
        if (run is not { ExitCode: 0 })
        {
            Console.WriteLine($"{script} failed (exit code {run?.ExitCode}): {run?.Error}");
            return null;
        }

        var last = run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
        if (last is null || !last.StartsWith('{'))
        {
            Console.WriteLine($"{script} printed no result: {run.Output}{run.Error}");
            return null;
        }

        return JsonDocument.Parse(last);
    }

    private static async Task<ProcessResult?> RunAsync(IEnumerable<string> arguments, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(Python, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetTempPath(),
        };
        using var process = Process.Start(start);
        if (process is null)
        {
            return null;
        }

        try
        {
            var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var error = process.StandardError.ReadToEndAsync(cancellationToken);
            await process.WaitForExitAsync(cancellationToken);
            return new ProcessResult(process.ExitCode, await output, await error);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
    }

    private sealed record ProcessResult(int ExitCode, string Output, string Error);
}
