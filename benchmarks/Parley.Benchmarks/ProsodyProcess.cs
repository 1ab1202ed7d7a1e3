using System.Globalization;

namespace Parley.Benchmarks;

/// <summary>The Prosody process of a test server instance, found in /proc, for reading its CPU time.</summary>
internal sealed class ProsodyProcess(int pid)
{
    /// <summary>Linux reports process times in USER_HZ ticks, which is 100 on every mainstream kernel configuration.</summary>
    private const double TicksPerSecond = 100;

    public int Pid { get; } = pid;

    /// <summary>Finds the process whose command line names the instance folder (its configuration file lives there).</summary>
    public static ProsodyProcess? Find(string instanceDirectory)
    {
        foreach (var entry in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                var commandLine = File.ReadAllText(Path.Combine(entry, "cmdline")).Replace('\0', ' ');
                if (commandLine.Contains("prosody", StringComparison.Ordinal) && !commandLine.Contains("prosodyctl", StringComparison.Ordinal)
                    && commandLine.Contains(instanceDirectory, StringComparison.Ordinal))
                {
                    return new ProsodyProcess(pid);
                }
            }
            catch (IOException)
            {
                // The process ended while we looked.
            }
            catch (UnauthorizedAccessException)
            {
                // Not ours.
            }
        }

        return null;
    }

    /// <summary>User + system CPU seconds so far, from /proc/PID/stat.</summary>
    public double CpuTime()
    {
        var stat = File.ReadAllText($"/proc/{Pid}/stat");

        // The command name (field 2) is in parentheses and may contain spaces; fields 14 and 15 follow it.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var utime = long.Parse(fields[11], CultureInfo.InvariantCulture);
        var stime = long.Parse(fields[12], CultureInfo.InvariantCulture);
        return (utime + stime) / TicksPerSecond;
    }
}
