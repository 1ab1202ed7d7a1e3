using System.Runtime.InteropServices;

namespace Parley.Testing.Internal;

/// <summary>The few libc calls .NET has no managed API for (sending SIGTERM, the real user id).</summary>
internal static partial class Posix
{
    public const int SigTerm = 15;
    public const int SigKill = 9;
    public const int SigStop = 19;
    public const int SigCont = 18;
    private const int Esrch = 3;

    public static bool IsRoot => GetEffectiveUserId() == 0;

    public static uint GetEffectiveUserId() => geteuid();

    /// <summary>Sends <paramref name="signal"/> to <paramref name="pid"/>; false when the process no longer exists.</summary>
    /// <exception cref="InvalidOperationException">kill(2) failed for another reason (e.g. EPERM).</exception>
    public static bool Signal(int pid, int signal)
    {
        if (kill(pid, signal) == 0)
        {
            return true;
        }

        var errno = Marshal.GetLastPInvokeError();
        if (errno == Esrch)
        {
            return false;
        }

        throw new InvalidOperationException($"kill({pid}, {signal}) failed with errno {errno}.");
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int sig);

    [LibraryImport("libc")]
    private static partial uint geteuid();
}
