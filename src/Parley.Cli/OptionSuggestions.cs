using System.CommandLine;

namespace Parley.Cli;

/// <summary>The known option nearest to a mistyped one (<c>--pasword</c> → <c>--password</c>), for the error line.</summary>
internal static class OptionSuggestions
{
    /// <summary><c> Did you mean --x?</c> when <paramref name="message"/> names an unknown option close to a known one; else empty.</summary>
    public static string For(ParseResult parsed, string message)
    {
        foreach (var token in parsed.UnmatchedTokens)
        {
            if (!token.StartsWith('-') || token.Length > 64 || !message.Contains($"'{token}'", StringComparison.Ordinal))
            {
                continue;
            }

            var typed = token.Split('=', 2)[0];
            var best = KnownOptions(parsed.CommandResult.Command)
                .Select(name => (Name: name, Distance: Distance(typed, name)))
                .Where(c => c.Distance > 0 && c.Distance <= Math.Max(1, typed.Length / 4))
                .OrderBy(c => c.Distance)
                .ThenBy(c => c.Name, StringComparer.Ordinal)
                .FirstOrDefault();
            return best.Name is null ? string.Empty : $" Did you mean {best.Name}?";
        }

        return string.Empty;
    }

    /// <summary>The command's options and those its ancestors pass down to it.</summary>
    private static IEnumerable<string> KnownOptions(Command command)
    {
        var own = command.Options.SelectMany(o => o.Aliases.Prepend(o.Name));
        var inherited = command.Parents.OfType<Command>().SelectMany(p => p.Options.Where(o => o.Recursive).SelectMany(o => o.Aliases.Prepend(o.Name)));
        return own.Concat(inherited).Distinct(StringComparer.Ordinal);
    }

    /// <summary>Levenshtein distance; option names are short, so the quadratic table is fine.</summary>
    private static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j], current[j - 1]) + 1);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
