using System.Globalization;
using Parley.Web.Benchmarks;

if (Options.Parse(args) is not { } options)
{
    return 2;
}

return await WebHarness.RunAsync(options);

namespace Parley.Web.Benchmarks
{
    /// <summary>The command line: <c>--name N</c> integers with defaults, and <c>--gateway PATH</c>.</summary>
    internal sealed record Options(int Warmup, int RoundTrips, int PollingRoundTrips, int OpenVisitors, int LoadVisitors, int LoadRoundTrips, int SignInParallel, string GatewayAssembly, string? DumpDirectory, IReadOnlyList<string> GatewayEnvironment)
    {
        private const string Usage = """
            usage: dotnet run -c Release --project benchmarks/Parley.Web.Benchmarks -- [--warmup 1000] [--roundtrips 2000]
                   [--polling-roundtrips 60] [--open-visitors 10000] [--load-visitors 100] [--load-roundtrips 1000] [--signin-parallel 1]
                   [--gateway PATH/Parley.Web.dll] [--dump DIR]
                   [--gateway-env NAME=VALUE]...
            --gateway-env: an environment variable for the gateway process, e.g. DOTNET_gcServer=0 (repeatable).
            --dump DIR: heap dumps of the gateway (createdump --withheap) before and after the sessions opened, for
            a per-type comparison (e.g. with ClrMD); they are large.
            """;

        public static Options? Parse(string[] args)
        {
            var values = new Dictionary<string, int>(StringComparer.Ordinal)
            {
                ["--warmup"] = 1000,
                ["--roundtrips"] = 2000,
                ["--polling-roundtrips"] = 60,
                ["--open-visitors"] = 10_000,
                ["--load-visitors"] = 100,
                ["--load-roundtrips"] = 1000,
                ["--signin-parallel"] = 1,
            };
            var gateway = GatewayProcess.DefaultAssemblyPath;
            string? dumps = null;
            List<string> environment = [];
            for (var i = 0; i < args.Length; i++)
            {
                if (args[i] == "--gateway" && i + 1 < args.Length)
                {
                    gateway = Path.GetFullPath(args[++i]);
                }
                else if (args[i] == "--gateway-env" && i + 1 < args.Length && args[i + 1].IndexOf('=', StringComparison.Ordinal) > 0)
                {
                    environment.Add(args[++i]);
                }
                else if (args[i] == "--dump" && i + 1 < args.Length)
                {
                    dumps = Directory.CreateDirectory(args[++i]).FullName;
                }
                else if (values.ContainsKey(args[i]) && i + 1 < args.Length
                    && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value <= 100_000)
                {
                    values[args[i++]] = value;
                }
                else
                {
                    Console.Error.WriteLine($"Unknown or incomplete argument '{args[i]}' (numbers 0-100000).");
                    Console.Error.WriteLine(Usage);
                    return null;
                }
            }

            if (values["--roundtrips"] < 1 || values["--polling-roundtrips"] < 1 || values["--load-visitors"] < 1 || values["--load-roundtrips"] < 1 || values["--signin-parallel"] < 1)
            {
                Console.Error.WriteLine("--roundtrips, --polling-roundtrips, --load-visitors and --load-roundtrips must be at least 1.");
                return null;
            }

            return new Options(values["--warmup"], values["--roundtrips"], values["--polling-roundtrips"], values["--open-visitors"], values["--load-visitors"], values["--load-roundtrips"], values["--signin-parallel"], gateway, dumps, environment);
        }
    }
}
