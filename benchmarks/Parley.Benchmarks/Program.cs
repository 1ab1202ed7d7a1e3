using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Parley.Benchmarks;

switch (args.FirstOrDefault())
{
    case "parse":
        return await ParseHarness.RunAsync(args[1..], dispatch: false);
    case "dispatch":
        return await ParseHarness.RunAsync(args[1..], dispatch: true);
    case "throughput":
        return await ThroughputHarness.RunAsync(args[1..]);
    case "filetransfer":
        return await FileTransferHarness.RunAsync(args[1..]);
    case "bdn":
        // In-process: the benchmarks need no separate build of a generated project (this machine builds offline).
        var config = DefaultConfig.Instance.AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance));
        BenchmarkSwitcher.FromAssembly(typeof(XmlParseBenchmarks).Assembly).Run(args[1..], config);
        return 0;
    default:
        Console.Error.WriteLine("""
            usage:
              dotnet run -c Release --project benchmarks/Parley.Benchmarks -- parse    [--count N] [--chunk BYTES] [--runs N] [--slixmpp-runs N] [--no-slixmpp]
              dotnet run -c Release --project benchmarks/Parley.Benchmarks -- dispatch [--count N] [--chunk BYTES] [--runs N] [--slixmpp-runs N] [--no-slixmpp]
              dotnet run -c Release --project benchmarks/Parley.Benchmarks -- throughput [--count N] [--warmup N] [--roundtrips N] [--rounds N] [--no-slixmpp]
              dotnet run -c Release --project benchmarks/Parley.Benchmarks -- filetransfer [--size-mb N] [--ibb-size-mb N] [--block BYTES] [--parley-block BYTES]
                  [--window N] [--parley-sm 0|1] [--runs N] [--socks5 0|1] [--ibb 0|1] [--raw 0|1] [--no-slixmpp]
              dotnet run -c Release --project benchmarks/Parley.Benchmarks -- bdn [BenchmarkDotNet arguments, e.g. --filter '*Parse*']
            See README.md for what each mode measures.
            """);
        return 2;
}
