using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Parley.Testing;

namespace Parley.Xmpp.FileTransfer.Tests.Interop;

/// <summary>Runs <c>slixmpp_file_peer.py</c> (copied next to the test binary) under Debian's python3 with python3-slixmpp.</summary>
internal sealed class SlixmppPeer : IAsyncDisposable
{
    private const string Python = "/usr/bin/python3";
    private readonly Process _process;
    private readonly Channel<JsonElement> _events = Channel.CreateUnbounded<JsonElement>();
    private readonly StringBuilder _stderr = new();

    private SlixmppPeer(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                _events.Writer.TryComplete();
            }
            else if (e.Data.StartsWith('{'))
            {
                _events.Writer.TryWrite(JsonDocument.Parse(e.Data).RootElement.Clone());
            }
        };
        _process.ErrorDataReceived += (_, e) =>
        {
            lock (_stderr)
            {
                _stderr.AppendLine(e.Data);
            }
        };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public static SlixmppPeer Start(XmppTestServer server, TestAccount account, params string[] arguments)
    {
        var script = Path.Combine(AppContext.BaseDirectory, "Interop", "slixmpp_file_peer.py");
        var info = new ProcessStartInfo(Python)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(script);
        foreach (var argument in arguments.Concat(["--jid", account.Jid.WithResource("slix").ToString(), "--password", account.Password, "--host", server.Host, "--port", server.ClientPort.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            info.ArgumentList.Add(argument);
        }

        return new SlixmppPeer(Process.Start(info) ?? throw new InvalidOperationException($"{Python} did not start."));
    }

    /// <summary>Waits for the next event of the given name; fails with the script's stderr on an error event, exit or timeout.</summary>
    public async Task<JsonElement> WaitForAsync(string name, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            while (await _events.Reader.WaitToReadAsync(deadline.Token))
            {
                while (_events.Reader.TryRead(out var item))
                {
                    var kind = item.GetProperty("event").GetString();
                    if (kind == name)
                    {
                        return item;
                    }

                    if (kind == "error")
                    {
                        throw new InvalidOperationException($"slixmpp failed: {item}\n{Stderr}");
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"slixmpp sent no '{name}' within {timeout}.\n{Stderr}");
        }

        throw new InvalidOperationException($"slixmpp exited (code {(_process.HasExited ? _process.ExitCode : -1)}) before '{name}'.\n{Stderr}");
    }

    private string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}
