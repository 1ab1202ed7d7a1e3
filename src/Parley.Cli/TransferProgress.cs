using System.Globalization;
using Parley.Xmpp.FileTransfer;

namespace Parley.Cli;

/// <summary>
/// Progress of one transfer on standard error: a bar redrawn in place on a terminal (every 5 %), and a plain line every
/// 10 % when standard error is redirected, so a log file gets whole lines rather than carriage returns.
/// </summary>
internal sealed class TransferProgress(TextWriter error, string name, bool redraw) : IProgress<FileTransferProgress>
{
    private readonly object _gate = new();
    private int _lastStep = -1;

    public void Report(FileTransferProgress value)
    {
        var percent = value.TotalBytes <= 0 ? 100 : (int)Math.Clamp(value.BytesTransferred * 100 / value.TotalBytes, 0, 100);
        var step = percent / (redraw ? 5 : 10);
        lock (_gate)
        {
            if (step <= _lastStep)
            {
                return;
            }

            _lastStep = step;
            if (redraw)
            {
                var filled = percent / 5;
                error.Write(string.Create(CultureInfo.InvariantCulture, $"\r{name} [{new string('#', filled)}{new string('.', 20 - filled)}] {percent,3}%"));
            }
            else
            {
                error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name}: {percent}% ({value.BytesTransferred:N0} of {value.TotalBytes:N0} bytes)"));
            }

            error.Flush();
        }
    }

    /// <summary>Ends the redrawn bar's line, so what follows starts on a line of its own.</summary>
    public void Finish()
    {
        lock (_gate)
        {
            if (redraw && _lastStep >= 0)
            {
                error.WriteLine();
            }
        }
    }
}
