using System.Diagnostics;
using System.Text.RegularExpressions;
using Parley.Testing.Internal;

namespace Parley.Testing;

/// <summary>finch's screen: what a user sees and the keys a user presses, through the private tmux server.</summary>
public sealed partial class LibpurpleClient
{
    /// <summary>The text finch shows now (tmux <c>capture-pane</c>, 200 × 50 characters, without colours).</summary>
    /// <param name="cancellationToken">Stops waiting for tmux.</param>
    /// <exception cref="XmppTestServerException">tmux failed.</exception>
    public async Task<string> ScreenAsync(CancellationToken cancellationToken = default) =>
        await CommandRunner.RunCheckedAsync(Tmux(["capture-pane", "-p", "-t", "finch"]), TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);

    /// <summary>Presses keys in finch, in tmux's key names (<c>Down</c>, <c>Enter</c>, <c>C-x</c>, <c>F11</c>, <c>M-1</c>…).</summary>
    /// <param name="keys">The keys, one tmux key name each (at most 50).</param>
    /// <param name="cancellationToken">Stops waiting for tmux.</param>
    /// <exception cref="ArgumentException">A key is not a tmux key name this harness allows.</exception>
    /// <exception cref="XmppTestServerException">tmux failed.</exception>
    public async Task PressAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (keys.Count is 0 or > 50 || keys.Any(k => !KeyPattern().IsMatch(k)))
        {
            throw new ArgumentException("Between 1 and 50 tmux key names (letters, digits, '-').", nameof(keys));
        }

        Log("keys: " + string.Join(' ', keys));

        // One key per send-keys, with a pause: gnt reads an escape sequence and the next key as one when they come together.
        foreach (var key in keys)
        {
            await CommandRunner.RunCheckedAsync(Tmux(["send-keys", "-t", "finch", key]), TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
            await Task.Delay(TimeSpan.FromMilliseconds(150), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Waits until finch's screen satisfies <paramref name="condition"/> and returns that screen.</summary>
    /// <param name="condition">What the screen must show.</param>
    /// <param name="what">Said in the timeout's message.</param>
    /// <param name="timeout">How long to wait.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <exception cref="TimeoutException">Not shown in time; the message quotes the last screen.</exception>
    /// <exception cref="XmppTestServerException">tmux failed.</exception>
    public async Task<string> WaitForScreenAsync(Func<string, bool> condition, string what, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            var screen = await ScreenAsync(cancellationToken).ConfigureAwait(false);
            if (condition(screen))
            {
                return screen;
            }

            if (stopwatch.Elapsed > timeout)
            {
                throw new TimeoutException($"finch did not show {what} within {timeout.TotalSeconds:0} s.\n{Diagnostics()}");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken).ConfigureAwait(false);
        }
    }

    [GeneratedRegex("^[A-Za-z0-9-]{1,16}$")]
    private static partial Regex KeyPattern();
}
