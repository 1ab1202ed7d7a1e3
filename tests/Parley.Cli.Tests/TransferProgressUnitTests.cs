using Parley.Xmpp.FileTransfer;

namespace Parley.Cli.Tests;

/// <summary>The progress display on its own: a redrawn bar for a terminal, whole lines for a redirected standard error.</summary>
public sealed class TransferProgressUnitTests
{
    [Fact]
    public void Redirected_progress_is_one_plain_line_every_ten_percent()
    {
        var error = new StringWriter();
        var progress = new TransferProgress(error, "a.bin", redraw: false);
        for (var sent = 0L; sent <= 1000; sent += 25)
        {
            progress.Report(new FileTransferProgress(sent, 1000, FileTransferMethod.Jingle));
        }

        progress.Finish();

        var lines = error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToArray();
        Assert.Equal(11, lines.Length);
        Assert.Equal("a.bin: 0% (0 of 1,000 bytes)", lines[0]);
        Assert.Equal("a.bin: 50% (500 of 1,000 bytes)", lines[5]);
        Assert.Equal("a.bin: 100% (1,000 of 1,000 bytes)", lines[^1]);
        Assert.DoesNotContain('\r', error.ToString().Replace(Environment.NewLine, "\n", StringComparison.Ordinal));
    }

    [Fact]
    public void Progress_on_a_terminal_is_one_bar_redrawn_in_place_then_ended_with_a_newline()
    {
        var error = new StringWriter { NewLine = "\n" };
        var progress = new TransferProgress(error, "a.bin", redraw: true);
        progress.Report(new FileTransferProgress(0, 1000, FileTransferMethod.Jingle));
        progress.Report(new FileTransferProgress(10, 1000, FileTransferMethod.Jingle)); // same 5 % step: not drawn
        progress.Report(new FileTransferProgress(500, 1000, FileTransferMethod.Jingle));
        progress.Report(new FileTransferProgress(1000, 1000, FileTransferMethod.Jingle));
        progress.Finish();

        Assert.Equal(
            "\ra.bin [....................]   0%\ra.bin [##########..........]  50%\ra.bin [####################] 100%\n",
            error.ToString());
    }

    [Fact]
    public void Nothing_reported_leaves_standard_error_empty()
    {
        var error = new StringWriter();
        new TransferProgress(error, "a.bin", redraw: true).Finish();
        Assert.Equal(string.Empty, error.ToString());
    }
}
