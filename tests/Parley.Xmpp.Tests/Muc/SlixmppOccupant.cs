using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Parley.Testing;

namespace Parley.Xmpp.Tests.Muc;

/// <summary>
/// slixmpp (Debian python3-slixmpp) as another occupant: <c>slixmpp_muc.py</c> runs as a child process, takes JSON commands
/// on stdin (join, say, kick, …) and reports what it sees as JSON lines, which the test waits for.
/// </summary>
internal sealed class SlixmppOccupant : IAsyncDisposable
{
    private static readonly TimeSpan DefaultWait = TimeSpan.FromSeconds(20);

    private readonly Process _process;
    private readonly List<JsonElement> _events = [];
    private readonly StringBuilder _stderr = new();
    private readonly Lock _lock = new();
    private readonly Task _reader;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _nextId;

    private SlixmppOccupant(Process process, Jid jid)
    {
        _process = process;
        Jid = jid;
        _reader = Task.Run(ReadAsync);
        process.ErrorDataReceived += (_, e) =>
        {
            lock (_lock)
            {
                if (e.Data is not null && _stderr.Length < 64 * 1024)
                {
                    _stderr.AppendLine(e.Data);
                }
            }
        };
        process.BeginErrorReadLine();
    }

    public Jid Jid { get; }

    /// <summary>Starts the occupant and waits until it is online.</summary>
    public static async Task<SlixmppOccupant> StartAsync(XmppTestServer server, TestAccount account, string resource = "slix")
    {
        var script = Path.Combine(AppContext.BaseDirectory, "Muc", "slixmpp_muc.py");
        var info = new ProcessStartInfo("/usr/bin/python3")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
        };
        var jid = account.Jid.WithResource(resource);
        foreach (var arg in new[] { script, jid.ToString(), account.Password, server.Host, server.ClientPort.ToString(CultureInfo.InvariantCulture) })
        {
            info.ArgumentList.Add(arg);
        }

        var occupant = new SlixmppOccupant(Process.Start(info)!, jid);
        try
        {
            await occupant.WaitForAsync(e => e.Str("event") == "ready");
        }
        catch
        {
            await occupant.DisposeAsync();
            throw;
        }

        return occupant;
    }

    /// <summary>How many events arrived so far; pass it to <see cref="WaitForAsync"/> to look only at later ones.</summary>
    public int Mark()
    {
        lock (_lock)
        {
            return _events.Count;
        }
    }

    /// <summary>Runs a command and fails the test if slixmpp reports an error.</summary>
    public async Task RunAsync(object command)
    {
        var error = await TryRunAsync(command);
        Assert.True(error is null, $"slixmpp {JsonSerializer.Serialize(command)} failed: {error}\n{Stderr}");
    }

    /// <summary>Runs a command; returns slixmpp's error (a condition or an exception text), or null.</summary>
    public async Task<string?> TryRunAsync(object command)
    {
        var node = JsonSerializer.SerializeToNode(command)!.AsObject();
        var id = Interlocked.Increment(ref _nextId);
        node["id"] = id;
        var mark = Mark();
        await _process.StandardInput.WriteLineAsync(node.ToJsonString());
        await _process.StandardInput.FlushAsync();
        var done = await WaitForAsync(e => e.Str("event") == "done" && e.GetProperty("id").GetInt32() == id, mark, TimeSpan.FromSeconds(40));
        return done.GetProperty("error").ValueKind == JsonValueKind.Null ? null : done.GetProperty("error").ToString();
    }

    /// <summary>Waits for the first event (from <paramref name="since"/> on) that matches.</summary>
    public async Task<JsonElement> WaitForAsync(Func<JsonElement, bool> match, int since = 0, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultWait);
        while (true)
        {
            Task changed;
            lock (_lock)
            {
                for (var i = since; i < _events.Count; i++)
                {
                    if (match(_events[i]))
                    {
                        return _events[i];
                    }
                }

                changed = _changed.Task;
            }

            try
            {
                await changed.WaitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"slixmpp did not report the event in time. Events:\n{string.Join('\n', Events.Select(e => e.GetRawText()))}\nstderr:\n{Stderr}");
            }
        }
    }

    /// <summary>The messages slixmpp received from a room (type groupchat), in order.</summary>
    public IReadOnlyList<JsonElement> RoomMessages(string room) =>
        [.. Events.Where(e => e.Str("event") == "message" && e.Str("type") == "groupchat" && e.Str("room") == room)];

    public IReadOnlyList<JsonElement> Events
    {
        get
        {
            lock (_lock)
            {
                return [.. _events];
            }
        }
    }

    private string Stderr
    {
        get
        {
            lock (_lock)
            {
                return _stderr.ToString();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                await _process.StandardInput.WriteLineAsync("{\"op\": \"quit\"}");
                await _process.StandardInput.FlushAsync();
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
        }
        catch (Exception ex) when (ex is TimeoutException or IOException)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _reader.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _process.Dispose();
    }

    private async Task ReadAsync()
    {
        while (await _process.StandardOutput.ReadLineAsync() is { } line)
        {
            if (line.Length == 0 || line[0] != '{')
            {
                continue;
            }

            var element = JsonDocument.Parse(line).RootElement.Clone();
            lock (_lock)
            {
                _events.Add(element);
                _changed.TrySetResult();
                _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
    }
}

internal static class JsonEvents
{
    public static string? Str(this JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    public static bool Flag(this JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.True;

    public static IReadOnlyList<int> Codes(this JsonElement element) =>
        element.TryGetProperty("codes", out var value) && value.ValueKind == JsonValueKind.Array ? [.. value.EnumerateArray().Select(v => v.GetInt32())] : [];
}
