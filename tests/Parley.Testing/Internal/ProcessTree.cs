using System.Globalization;

namespace Parley.Testing.Internal;

/// <summary>A process identity that survives pid reuse: the pid plus its start time (clock ticks after boot).</summary>
internal readonly record struct ProcessIdentity(int Pid, ulong StartTime)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Pid} {StartTime}");

    public static bool TryParse(string line, out ProcessIdentity identity)
    {
        identity = default;
        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 2
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
            || !ulong.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var start))
        {
            return false;
        }

        identity = new ProcessIdentity(pid, start);
        return true;
    }

    /// <summary>Whether this very process (not a later one with the same pid) is still alive.</summary>
    public bool IsAlive => ProcessTree.TryReadStat(Pid, out _, out var start, out var state) && start == StartTime && state != 'Z';
}

/// <summary>Reads the process table from /proc (Linux only).</summary>
internal static class ProcessTree
{
    public static ProcessIdentity Self { get; } = Identify(Environment.ProcessId)
        ?? throw new PlatformNotSupportedException("Parley.Testing needs Linux /proc.");

    public static ProcessIdentity? Identify(int pid) =>
        TryReadStat(pid, out _, out var start, out _) ? new ProcessIdentity(pid, start) : null;

    /// <summary>All live descendants of <paramref name="rootPid"/>, parents before children.</summary>
    public static List<ProcessIdentity> Descendants(int rootPid)
    {
        var children = new Dictionary<int, List<ProcessIdentity>>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                || !TryReadStat(pid, out var parent, out var start, out var state)
                || state == 'Z')
            {
                continue;
            }

            if (!children.TryGetValue(parent, out var list))
            {
                children[parent] = list = [];
            }

            list.Add(new ProcessIdentity(pid, start));
        }

        var result = new List<ProcessIdentity>();
        var queue = new Queue<int>();
        queue.Enqueue(rootPid);
        while (queue.Count > 0 && result.Count < 10_000)
        {
            if (children.TryGetValue(queue.Dequeue(), out var list))
            {
                foreach (var child in list)
                {
                    result.Add(child);
                    queue.Enqueue(child.Pid);
                }
            }
        }

        return result;
    }

    /// <summary>The command line of <paramref name="pid"/> with NULs as spaces, or null when it is gone.</summary>
    public static string? CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    public static bool TryReadStat(int pid, out int parentPid, out ulong startTime, out char state)
    {
        parentPid = 0;
        startTime = 0;
        state = '?';
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }

        // "pid (comm) state ppid ... starttime(22nd field) ..."; comm may contain spaces and ')'.
        var close = stat.LastIndexOf(')');
        if (close < 0)
        {
            return false;
        }

        var fields = stat[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        // fields[0] is field 3 (state), so field N is fields[N - 3].
        if (fields.Length < 20
            || !int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out parentPid)
            || !ulong.TryParse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture, out startTime))
        {
            return false;
        }

        state = fields[0][0];
        return true;
    }
}
