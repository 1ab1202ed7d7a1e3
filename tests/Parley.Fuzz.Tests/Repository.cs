namespace Parley.Fuzz.Tests;

/// <summary>Paths in the repository this test run was built from.</summary>
internal static class Repository
{
    public static string Root { get; } = FindRoot();

    public static string CorpusOf(string target) => Path.Combine(Root, "fuzz", "corpus", target);

    public static string RegressionsOf(string target) => Path.Combine(Root, "fuzz", "regressions", target);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Parley.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No Parley.slnx above {AppContext.BaseDirectory}.");
    }
}
