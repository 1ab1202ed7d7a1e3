using System.Globalization;
using System.Net.Sockets;
using System.Runtime;
using System.Text;

#pragma warning disable CA1050 // The runtime looks for exactly "StartupHook" in the global namespace.

/// <summary>
/// Loaded into the gateway process by the runtime (<c>DOTNET_STARTUP_HOOKS</c>), so the gateway's own code exposes nothing
/// new. Answers on a Unix socket (<c>PARLEY_BENCH_PROBE</c>): <c>gc</c> = a full blocking, compacting collection, then
/// the heap; <c>peek</c> = the same numbers without collecting. One line in, one line of <c>key=value</c> pairs out.
/// </summary>
public static class StartupHook
{
    /// <summary>Called by the runtime before the gateway's Main; starts the probe listener on a background thread.</summary>
    public static void Initialize()
    {
        var path = Environment.GetEnvironmentVariable("PARLEY_BENCH_PROBE");
        if (string.IsNullOrEmpty(path))
        {
            return;
        }

        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(4);
        new Thread(() => Serve(listener)) { IsBackground = true, Name = "bench probe" }.Start();
    }

    private static void Serve(Socket listener)
    {
        while (true)
        {
            using var connection = listener.Accept();
            using var stream = new NetworkStream(connection);
            using var reader = new StreamReader(stream, Encoding.ASCII);
            using var writer = new StreamWriter(stream, Encoding.ASCII) { AutoFlush = true, NewLine = "\n" };
            while (reader.ReadLine() is { } command)
            {
                if (command == "gc")
                {
                    GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
                    GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
                    GC.WaitForPendingFinalizers();
                    GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
                }

                writer.WriteLine(Snapshot());
            }
        }
    }

    private static string Snapshot()
    {
        var info = GC.GetGCMemoryInfo(GCKind.Any);
        var ephemeral = GC.GetGCMemoryInfo(GCKind.Ephemeral);
        var process = System.Diagnostics.Process.GetCurrentProcess();
        return string.Join(' ',
            Pair("heap", GC.GetTotalMemory(forceFullCollection: false)),
            Pair("heapSize", info.HeapSizeBytes),
            Pair("committed", info.TotalCommittedBytes),
            Pair("fragmented", info.FragmentedBytes),
            Pair("allocated", GC.GetTotalAllocatedBytes(precise: true)),
            Pair("gen0", GC.CollectionCount(0)),
            Pair("gen1", GC.CollectionCount(1)),
            Pair("gen2", GC.CollectionCount(2)),
            Pair("pauseMicroseconds", (long)GC.GetTotalPauseDuration().TotalMicroseconds),
            Pair("jitMethods", System.Runtime.JitInfo.GetCompiledMethodCount()),
            Pair("jitMicroseconds", (long)System.Runtime.JitInfo.GetCompilationTime().TotalMicroseconds),
            Pair("threads", process.Threads.Count),
            Pair("poolThreads", ThreadPool.ThreadCount),
            Pair("serverGc", GCSettings.IsServerGC ? 1 : 0),
            Pair("lastEphemeralIndex", ephemeral.Index),
            Pair("lastEphemeralPauseMicroseconds", (long)ephemeral.PauseDurations[0].TotalMicroseconds));
    }

    private static string Pair(string key, long value) => key + "=" + value.ToString(CultureInfo.InvariantCulture);
}
