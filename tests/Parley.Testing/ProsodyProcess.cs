using System.Globalization;

namespace Parley.Testing;

/// <summary>The Prosody process of a test server instance, found in /proc, for reading its CPU time (benchmarks).</summary>
/// <param name="pid">The process id.</param>
public sealed class ProsodyProcess(int pid)
{
    /// <summary>Linux reports process times in USER_HZ ticks, which is 100 on every mainstream kernel configuration.</summary>
    private const double TicksPerSecond = 100;

    /// <summary>The process id.</summary>
    public int Pid { get; } = pid;

    /// <summary>Finds the process whose command line names the instance folder (its configuration file lives there).</summary>
    /// <param name="instanceDirectory">The server instance's folder (<see cref="XmppTestServer.DirectoryPath"/>).</param>
    /// <returns>The process, or <see langword="null"/> when none runs (or /proc is not there).</returns>
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

    /// <summary>User + system CPU seconds of this process so far, from /proc/PID/stat.</summary>
    /// <exception cref="IOException">The process has ended.</exception>
    public double CpuTime() => CpuTime(Pid);

    /// <summary>User + system CPU seconds of process <paramref name="pid"/> so far, from /proc/PID/stat.</summary>
    /// <param name="pid">Any process id.</param>
    /// <exception cref="IOException">The process has ended.</exception>
    public static double CpuTime(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");

        // The command name (field 2) is in parentheses and may contain spaces; fields 14 and 15 follow it.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var utime = long.Parse(fields[11], CultureInfo.InvariantCulture);
        var stime = long.Parse(fields[12], CultureInfo.InvariantCulture);
        return (utime + stime) / TicksPerSecond;
    }
}
