using System.Globalization;

namespace Parley.Benchmarks;

/// <summary>
/// Samples this process's resident set (<c>/proc/self/status</c> VmRSS) and the GC heap every few milliseconds on a
/// dedicated thread, keeping the peaks; resets the kernel's peak (VmHWM) at the start so it covers only the sampled span.
/// </summary>
internal sealed class MemorySampler : IDisposable
{
    private readonly Thread _thread;
    private readonly TimeSpan _interval;
    private volatile bool _stop;

    private MemorySampler(TimeSpan interval)
    {
        _interval = interval;
        _thread = new Thread(Run) { IsBackground = true, Name = "memory sampler" };
    }

    /// <summary>Whether writing 5 to /proc/self/clear_refs reset VmHWM (Linux 4.0+; may be refused in a container).</summary>
    public bool HighWaterMarkReset { get; private set; }

    public long PeakRssBytes { get; private set; }

    public long PeakGcHeapBytes { get; private set; }

    public long PeakGcCommittedBytes { get; private set; }

    public int Samples { get; private set; }

    /// <summary>Starts sampling now.</summary>
    public static MemorySampler Start(TimeSpan interval)
    {
        var sampler = new MemorySampler(interval);
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            sampler.HighWaterMarkReset = true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            sampler.HighWaterMarkReset = false;
        }

        sampler.Sample();
        sampler._thread.Start();
        return sampler;
    }

    /// <summary>VmRSS and VmHWM in bytes, from /proc/self/status.</summary>
    public static (long Rss, long HighWaterMark) ReadStatus()
    {
        long rss = 0, hwm = 0;
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = Kilobytes(line) * 1024;
            }
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                hwm = Kilobytes(line) * 1024;
            }
        }

        return (rss, hwm);
    }

    /// <summary>Stops sampling and takes one last sample.</summary>
    public void Dispose()
    {
        _stop = true;
        _thread.Join();
        Sample();
    }

    private static long Kilobytes(string line) =>
        long.Parse(line.AsSpan(line.IndexOf(':', StringComparison.Ordinal) + 1).Trim().TrimEnd("kB").Trim(), NumberStyles.None, CultureInfo.InvariantCulture);

    private void Run()
    {
        while (!_stop)
        {
            Thread.Sleep(_interval);
            Sample();
        }
    }

    private void Sample()
    {
        var (rss, _) = ReadStatus();
        var gc = GC.GetGCMemoryInfo();
        PeakRssBytes = Math.Max(PeakRssBytes, rss);

        // GetTotalMemory(false) is the live estimate now; HeapSizeBytes is as of the last collection.
        PeakGcHeapBytes = Math.Max(PeakGcHeapBytes, Math.Max(GC.GetTotalMemory(false), gc.HeapSizeBytes));
        PeakGcCommittedBytes = Math.Max(PeakGcCommittedBytes, gc.TotalCommittedBytes);
        Samples++;
    }
}
