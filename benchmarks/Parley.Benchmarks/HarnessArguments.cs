using System.Globalization;

namespace Parley.Benchmarks;

/// <summary>The harnesses' command line: integer options (<c>--count 1000</c>) with defaults, and <c>--no-slixmpp</c>.</summary>
internal sealed class HarnessArguments
{
    private readonly Dictionary<string, int> _values;

    private HarnessArguments(Dictionary<string, int> values, bool slixmpp)
    {
        _values = values;
        Slixmpp = slixmpp;
    }

    /// <summary>Whether to run the slixmpp side too (off with <c>--no-slixmpp</c>).</summary>
    public bool Slixmpp { get; }

    public int this[string option] => _values[option];

    /// <summary>Parses <paramref name="args"/> against the known options; prints the problem and returns null on a mistake.</summary>
    public static HarnessArguments? Parse(string[] args, params (string Option, int Default)[] options)
    {
        var values = options.ToDictionary(o => o.Option, o => o.Default, StringComparer.Ordinal);
        var slixmpp = true;
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--no-slixmpp")
            {
                slixmpp = false;
            }
            else if (values.ContainsKey(args[i]) && i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
            {
                values[args[i++]] = value;
            }
            else
            {
                Console.Error.WriteLine($"Unknown or incomplete argument '{args[i]}' (known: {string.Join(", ", values.Keys)} N, --no-slixmpp).");
                return null;
            }
        }

        return new HarnessArguments(values, slixmpp);
    }
}
