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
    internal sealed record Options(int Warmup, int RoundTrips, int SeedRoundTrips, int Sessions, int LoadVisitors, int LoadRoundTrips, string GatewayAssembly)
    {
        private const string Usage = """
            usage: dotnet run -c Release --project benchmarks/Parley.Web.Benchmarks -- [--warmup 200] [--roundtrips 2000]
                   [--seed-roundtrips 60] [--sessions 10000] [--load-visitors 100] [--load-roundtrips 1000] [--gateway PATH/Parley.Web.dll]
            """;

        public static Options? Parse(string[] args)
        {
            var values = new Dictionary<string, int>(StringComparer.Ordinal)
            {
                ["--warmup"] = 200,
                ["--roundtrips"] = 2000,
                ["--seed-roundtrips"] = 60,
                ["--sessions"] = 10_000,
                ["--load-visitors"] = 100,
                ["--load-roundtrips"] = 1000,
            };
            var gateway = GatewayProcess.DefaultAssemblyPath;
            for (var i = 0; i < args.Length; i++)
            {
                if (args[i] == "--gateway" && i + 1 < args.Length)
                {
                    gateway = Path.GetFullPath(args[++i]);
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

            if (values["--roundtrips"] < 1 || values["--seed-roundtrips"] < 1 || values["--load-visitors"] < 1 || values["--load-roundtrips"] < 1)
            {
                Console.Error.WriteLine("--roundtrips, --seed-roundtrips, --load-visitors and --load-roundtrips must be at least 1.");
                return null;
            }

            return new Options(values["--warmup"], values["--roundtrips"], values["--seed-roundtrips"], values["--sessions"], values["--load-visitors"], values["--load-roundtrips"], gateway);
        }
    }
}
