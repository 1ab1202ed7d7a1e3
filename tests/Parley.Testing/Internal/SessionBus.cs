namespace Parley.Testing.Internal;

/// <summary>A private D-Bus session bus (dbus-daemon) for one GUI/terminal client under test.</summary>
internal static class SessionBus
{
    /// <summary>Starts dbus-daemon on <paramref name="address"/>; the task completes once it prints that it listens.</summary>
    public static async Task<(ChildProcess Bus, Task Ready)> StartAsync(string address, Action<string> log, CancellationToken cancellationToken)
    {
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var bus = await ChildProcess.StartAsync(
            new LaunchSpec("dbus-daemon", ["--session", "--address=" + address, "--nofork", "--nopidfile", "--print-address"]),
            line =>
            {
                log("dbus-daemon: " + line);
                if (line.StartsWith("unix:", StringComparison.Ordinal))
                {
                    ready.TrySetResult();
                }
            },
            cancellationToken).ConfigureAwait(false);
        return (bus, ready.Task);
    }
}
