using System.Diagnostics;
using Xunit.Abstractions;

namespace Parley.Fuzz.Tests;

/// <summary>
/// Each target under afl-fuzz for a short fixed time (scripts/fuzz.sh on this build, instrumented): fails when afl
/// finds a crash or cannot start. Needs afl++ (scripts/install-deps.sh installs it); never skipped.
/// </summary>
public sealed class AflFuzzTests(ITestOutputHelper output)
{
    private const int Seconds = 15;

#if DEBUG
    private const string Configuration = "Debug";
#else
    private const string Configuration = "Release";
#endif

    public static TheoryData<string> Targets() => [.. FuzzTargets.All.Select(t => t.Name)];

    [Theory]
    [MemberData(nameof(Targets))]
    public async Task Afl_finds_no_crash_in_a_short_run(string target)
    {
        var start = new ProcessStartInfo(Path.Combine(Repository.Root, "scripts", "fuzz.sh"))
        {
            ArgumentList = { target, Seconds.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment = { ["FUZZ_NO_BUILD"] = "1", ["FUZZ_CONFIGURATION"] = Configuration },
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(Seconds + 150));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"fuzz.sh {target} did not finish in {Seconds + 150} s.");
        }

        var text = await stdout + await stderr;
        output.WriteLine(text);
        Assert.True(process.ExitCode == 0, $"fuzz.sh {target} exited with {process.ExitCode}:\n{text}");
        Assert.Contains($"fuzz.sh: {target}: ", text, StringComparison.Ordinal);
    }
}
