using System.Diagnostics;
using Parley.Testing.Internal;

namespace Parley.Xmpp.Tests.Harness;

/// <summary>The clean-up after a crashed test run: leftover server processes are killed by recorded pid and start time.</summary>
public sealed class InstanceDirectoryUnitTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "parley-sweep-test-" + Guid.NewGuid().ToString("N"));
    private readonly List<Process> _processes = [];

    [Fact]
    public void Sweep_kills_the_processes_of_dead_owners_and_deletes_their_folders_but_spares_live_owners_and_kept_folders()
    {
        // Our own pid with a wrong start time: exactly what a recycled pid looks like, so "owner gone".
        var deadOwner = new ProcessIdentity(Environment.ProcessId, ProcessTree.Self.StartTime + 1);
        var orphan = StartSleeper();
        var keptOrphan = StartSleeper();
        var stillOwned = StartSleeper();
        var crashed = Folder("prosody-crashed", deadOwner, orphan);
        var kept = Folder("ejabberd-kept", deadOwner, keptOrphan);
        File.WriteAllText(Path.Combine(kept, InstanceDirectory.KeptFile), "kept\n");
        var running = Folder("prosody-running", ProcessTree.Self, stillOwned);

        InstanceDirectory.SweepLeftovers(_root);

        Assert.True(WaitForExit(orphan));
        Assert.False(Directory.Exists(crashed));
        Assert.True(WaitForExit(keptOrphan));
        Assert.True(Directory.Exists(kept));
        Assert.False(stillOwned.HasExited);
        Assert.True(Directory.Exists(running));
    }

    [Fact]
    public void Sweep_never_kills_a_recycled_pid()
    {
        var bystander = StartSleeper();
        var identity = ProcessTree.Identify(bystander.Id)!.Value;
        // The recorded process had this pid but started at another time: a different process.
        Folder("ejabberd-old", new ProcessIdentity(Environment.ProcessId, ProcessTree.Self.StartTime + 1),
            identity with { StartTime = identity.StartTime + 1 });

        InstanceDirectory.SweepLeftovers(_root);

        Assert.False(bystander.WaitForExit(200));
    }

    public void Dispose()
    {
        foreach (var process in _processes)
        {
            process.Kill();
            process.WaitForExit();
            process.Dispose();
        }

        Directory.Delete(_root, recursive: true);
    }

    private Process StartSleeper()
    {
        var process = Process.Start(new ProcessStartInfo("sleep", "60") { UseShellExecute = false })!;
        _processes.Add(process);
        return process;
    }

    private string Folder(string name, ProcessIdentity owner, Process recorded) =>
        Folder(name, owner, ProcessTree.Identify(recorded.Id)!.Value);

    private string Folder(string name, ProcessIdentity owner, ProcessIdentity recorded)
    {
        var path = Path.Combine(_root, name);
        Directory.CreateDirectory(path);
        File.WriteAllText(Path.Combine(path, InstanceDirectory.OwnerFile), owner + "\n");
        File.WriteAllText(Path.Combine(path, InstanceDirectory.PidsFile), recorded + "\n");
        return path;
    }

    private static bool WaitForExit(Process process) => process.WaitForExit(5000);
}
