using System.Diagnostics;
using System.Text;
using System.Threading.Channels;

namespace Parley.Xmpp.FileTransfer.Tests.Packaging;

/// <summary>A running README sample: its output line by line, its standard input, its exit.</summary>
internal sealed class SampleProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly StringBuilder _transcript = new();

    public SampleProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => Received(e.Data, "");
        _process.ErrorDataReceived += (_, e) => Received(e.Data, "stderr: ");
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>Everything the sample printed so far, stderr lines marked, for failure messages.</summary>
    public string Transcript
    {
        get
        {
            lock (_transcript)
            {
                return _transcript.ToString();
            }
        }
    }

    /// <summary>Waits for the next standard output line that matches <paramref name="match"/>, skipping others.</summary>
    /// <exception cref="TimeoutException">None came within <paramref name="timeout"/>, or the sample ended first.</exception>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout)
    {
        using var timer = new CancellationTokenSource(timeout);
        try
        {
            await foreach (var line in _lines.Reader.ReadAllAsync(timer.Token))
            {
                if (match(line))
                {
                    return line;
                }
            }
        }
        catch (OperationCanceledException) when (timer.IsCancellationRequested)
        {
            throw new TimeoutException($"No expected line from the sample within {timeout.TotalSeconds:0} s. It printed:\n{Transcript}");
        }

        throw new TimeoutException($"The sample ended (exit code {_process.ExitCode}) before the expected line. It printed:\n{Transcript}");
    }

    /// <summary>Presses Enter (what the samples stop at) and waits for the exit code.</summary>
    public async Task<int> StopAsync(TimeSpan timeout)
    {
        await _process.StandardInput.WriteLineAsync();
        _process.StandardInput.Close();
        using var timer = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(timer.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"The sample did not end within {timeout.TotalSeconds:0} s after Enter. It printed:\n{Transcript}");
        }

        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private void Received(string? line, string prefix)
    {
        if (line is null)
        {
            if (prefix.Length == 0)
            {
                _lines.Writer.TryComplete();
            }

            return;
        }

        lock (_transcript)
        {
            _transcript.Append(prefix).AppendLine(line);
        }

        if (prefix.Length == 0)
        {
            _lines.Writer.TryWrite(line);
        }
    }
}
