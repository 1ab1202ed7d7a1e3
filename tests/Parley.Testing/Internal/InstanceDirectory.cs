using System.Globalization;
using System.Security.Cryptography;

namespace Parley.Testing.Internal;

/// <summary>
/// The private folder of one server instance (config, data, certificate, logs) under a common root,
/// plus the bookkeeping that lets a later test run clean up after a crashed one.
/// </summary>
/// <remarks>
/// Each folder holds <c>owner</c> (pid and start time of the test process) and, while a server runs,
/// <c>pids</c> (its process tree). The first instance created in a process sweeps the root: folders whose
/// owner is gone get their recorded processes killed and are deleted, unless they hold a <c>kept</c>
/// marker (PARLEY_KEEP_SERVERS=1).
/// </remarks>
internal sealed class InstanceDirectory
{
    public const string KeepVariable = "PARLEY_KEEP_SERVERS";
    public const string RootVariable = "PARLEY_SERVERS_DIR";
    internal const string OwnerFile = "owner";
    internal const string PidsFile = "pids";
    internal const string KeptFile = "kept";
    private static int s_swept;

    private InstanceDirectory(string path) => Path = path;

    /// <summary>The root folder: $PARLEY_SERVERS_DIR, else /tmp/parley-servers-&lt;uid&gt; (per user, so users don't collide).</summary>
    public static string Root { get; } = Environment.GetEnvironmentVariable(RootVariable) is { Length: > 0 } configured
        ? System.IO.Path.GetFullPath(configured)
        : System.IO.Path.Combine(System.IO.Path.GetTempPath(), string.Create(CultureInfo.InvariantCulture, $"parley-servers-{Posix.GetEffectiveUserId()}"));

    public static bool KeepRequested => Environment.GetEnvironmentVariable(KeepVariable) is "1" or "true";

    public string Path { get; }

    /// <summary>Creates a fresh folder named after <paramref name="kind"/>.</summary>
    /// <exception cref="PlatformNotSupportedException">Not on Linux.</exception>
    public static InstanceDirectory Create(string kind)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("The XMPP test servers run on Linux only.");
        }

        if (Interlocked.Exchange(ref s_swept, 1) == 0)
        {
            SweepLeftovers(Root);
        }

        // Other system users (ejabberd) must be able to reach their instance folder.
        const UnixFileMode Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
        Directory.CreateDirectory(Root, Mode);
        var name = string.Create(CultureInfo.InvariantCulture, $"{kind}-{DateTime.UtcNow:MMddHHmmss}-{RandomNumberGenerator.GetHexString(6, lowercase: true)}");
        var path = System.IO.Path.Combine(Root, name);
        Directory.CreateDirectory(path, Mode);
        System.IO.File.WriteAllText(System.IO.Path.Combine(path, OwnerFile), ProcessTree.Self + "\n");
        return new InstanceDirectory(path);
    }

    public string File(string relative) => System.IO.Path.Combine(Path, relative);

    /// <summary>Records the server's process tree so that a later run can kill it if this one crashes.</summary>
    public void RecordProcesses(IEnumerable<ProcessIdentity> processes) =>
        System.IO.File.WriteAllLines(File(PidsFile), processes.Select(p => p.ToString()));

    /// <summary>Deletes the folder, or marks it kept when PARLEY_KEEP_SERVERS=1.</summary>
    public void Release()
    {
        if (!Directory.Exists(Path))
        {
            return;
        }

        if (KeepRequested)
        {
            System.IO.File.WriteAllText(File(KeptFile), "kept because PARLEY_KEEP_SERVERS=1\n");
            return;
        }

        DeleteTree(Path);
    }

    /// <summary>Kills the recorded processes of folders under <paramref name="root"/> whose owner is gone, and deletes those folders unless kept.</summary>
    internal static void SweepLeftovers(string root)
    {
        if (!Directory.Exists(root))
        {
            return;
        }

        foreach (var directory in Directory.EnumerateDirectories(root))
        {
            var owner = ReadIdentities(System.IO.Path.Combine(directory, OwnerFile));
            if (owner.Count == 1 ? owner[0].IsAlive : Directory.GetLastWriteTimeUtc(directory) > DateTime.UtcNow.AddHours(-1))
            {
                continue; // In use by a running test process (or being created right now).
            }

            foreach (var process in ReadIdentities(System.IO.Path.Combine(directory, PidsFile)))
            {
                // The start time check makes sure a recycled pid is never hit.
                if (process.IsAlive)
                {
                    Posix.Signal(process.Pid, Posix.SigKill);
                }
            }

            if (!System.IO.File.Exists(System.IO.Path.Combine(directory, KeptFile)))
            {
                DeleteTree(directory);
            }
        }
    }

    private static List<ProcessIdentity> ReadIdentities(string path)
    {
        var result = new List<ProcessIdentity>();
        try
        {
            foreach (var line in System.IO.File.ReadLines(path).Take(1000))
            {
                if (ProcessIdentity.TryParse(line, out var identity))
                {
                    result.Add(identity);
                }
            }
        }
        catch (IOException)
        {
            // Missing or unreadable: treated as "no record".
        }

        return result;
    }

    private static void DeleteTree(string path)
    {
        // A process killed a moment ago may still be writing its last log lines; retry briefly.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                Directory.Delete(path, recursive: true);
                return;
            }
            catch (DirectoryNotFoundException)
            {
                return;
            }
            catch (IOException) when (attempt < 5)
            {
                Thread.Sleep(100);
            }
        }
    }
}
