using Parley.Fuzz;
using SharpFuzz;

// parley-fuzz <target>                    run under afl-fuzz (scripts/fuzz.sh); the input comes on standard input
// parley-fuzz replay <target> <path>...   run files (or every file of folders) in this process; exit 1 if any fails
// parley-fuzz list                        the targets
if (args is ["list"])
{
    foreach (var target in FuzzTargets.All)
    {
        Console.WriteLine($"{target.Name,-10} {target.Description}");
    }

    return 0;
}

if (args is ["replay", var replayName, .. var paths] && paths.Length > 0)
{
    var target = FuzzTargets.Find(replayName);
    if (target is null)
    {
        return Usage($"Unknown target '{replayName}'.");
    }

    var files = Replay.Files(paths);
    var failures = Replay.Run(target, files);
    foreach (var failure in failures)
    {
        Console.WriteLine($"FAIL {failure.File}: {failure.Exception}");
    }

    Console.WriteLine($"{target.Name}: {files.Count} inputs, {failures.Count} failed");
    return failures.Count == 0 ? 0 : 1;
}

if (args is [var name] && FuzzTargets.Find(name) is { } fuzzed)
{
    // Out of process: a stack overflow or a fatal runtime error in the target is reported as a crash instead of
    // ending the run.
    Fuzzer.OutOfProcess.Run(stream =>
    {
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        fuzzed.Run(copy.ToArray());
    });
    return 0;
}

return Usage(args.Length == 0 ? "No target given." : $"Unknown arguments: {string.Join(' ', args)}");

static int Usage(string problem)
{
    Console.Error.WriteLine(problem);
    Console.Error.WriteLine("usage: Parley.Fuzz <target> | replay <target> <file-or-folder>... | list");
    Console.Error.WriteLine("targets: " + string.Join(", ", FuzzTargets.All.Select(t => t.Name)));
    return 2;
}
