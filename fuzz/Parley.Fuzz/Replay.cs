namespace Parley.Fuzz;

/// <summary>One input that failed a replay: the file and what escaped.</summary>
internal sealed record ReplayFailure(string File, Exception Exception);

/// <summary>Runs files through a target in this process, as the regression tests and <c>replay</c> do.</summary>
internal static class Replay
{
    /// <summary>The files under the given paths (a file, or every file of a folder, recursively), in a stable order.</summary>
    public static List<string> Files(IEnumerable<string> paths)
    {
        var files = new List<string>();
        foreach (var path in paths)
        {
            if (File.Exists(path))
            {
                files.Add(path);
            }
            else if (Directory.Exists(path))
            {
                files.AddRange(Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories)
                    .Where(f => !Path.GetFileName(f).StartsWith('.'))
                    .Order(StringComparer.Ordinal));
            }
            else
            {
                throw new FileNotFoundException($"No file or folder '{path}'.", path);
            }
        }

        return files;
    }

    /// <summary>Runs every file through the target and returns those that failed.</summary>
    public static List<ReplayFailure> Run(FuzzTarget target, IEnumerable<string> files)
    {
        var failures = new List<ReplayFailure>();
        foreach (var file in files)
        {
            try
            {
                target.Run(File.ReadAllBytes(file));
            }
            catch (Exception e)
            {
                failures.Add(new ReplayFailure(file, e));
            }
        }

        return failures;
    }
}
