using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Parley.Testing;

namespace Parley.Web.Tests;

/// <summary>
/// The owner as slixmpp, a real XMPP client: one of the scripts in <c>Interop/</c>, signed in as the owner's account on
/// the harness server. It prints one JSON value when it is done.
/// </summary>
internal sealed class SlixmppOwner : IAsyncDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    private readonly Process _process;
    private readonly Task<string> _stdout;
    private Task<string>? _stderr;

    private SlixmppOwner(Process process)
    {
        _process = process;
        _stdout = process.StandardOutput.ReadToEndAsync();
    }

    /// <summary>Starts <paramref name="script"/> with the account's JID, password and the server's client address before <paramref name="args"/>.</summary>
    /// <param name="waitForReady">Return once the script wrote <c>ready</c> to standard error (its session is up), so a message finds it online.</param>
    public static async Task<SlixmppOwner> StartAsync(XmppTestServer server, TestAccount account, string script, bool waitForReady, params string[] args)
    {
        var info = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Interop", script));
        foreach (var arg in new[] { $"{account.Jid}/slix", account.Password, server.Host, server.ClientPort.ToString(CultureInfo.InvariantCulture) }.Concat(args))
        {
            info.ArgumentList.Add(arg);
        }

        var owner = new SlixmppOwner(Process.Start(info)!);
        if (waitForReady)
        {
            string? line;
            do
            {
                line = await owner._process.StandardError.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
            }
            while (line is not null && line != "ready");
        }

        owner._stderr = owner._process.StandardError.ReadToEndAsync();
        return owner;
    }

    /// <summary>Waits for the script to end; it must succeed. Returns what it printed.</summary>
    public async Task<JsonElement> ResultAsync()
    {
        await _process.WaitForExitAsync().WaitAsync(Patience);
        Assert.True(_process.ExitCode == 0, await _stdout + await _stderr!);
        return JsonDocument.Parse(await _stdout).RootElement;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
