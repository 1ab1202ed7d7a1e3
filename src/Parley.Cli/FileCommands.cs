using System.Globalization;
using Microsoft.Extensions.Logging;
using Parley.Xmpp;
using Parley.Xmpp.Core;
using Parley.Xmpp.FileTransfer;

namespace Parley.Cli;

/// <summary><c>parley send-file</c> and <c>parley receive</c>: file transfer from the shell, with the same connection options as every command.</summary>
internal static class FileCommands
{
    public static async Task<int> SendFileAsync(ConnectionArguments connection, List<string> rest, TextWriter output, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        if (rest.Count != 2)
        {
            throw new UsageException("send-file needs exactly <jid> and <path>.");
        }

        if (!Jid.TryParse(rest[0], out var to))
        {
            throw new UsageException($"'{rest[0]}' is not a valid JID.");
        }

        var path = rest[1];
        if (!File.Exists(path))
        {
            throw new UsageException($"no file '{path}'.");
        }

        await using var client = new XmppClient(connection.ToClientOptions(), loggerFactory);
        var transfers = client.AddExtension(new FileTransferManager(loggerFactory: loggerFactory));
        await client.ConnectAsync(cancellationToken).ConfigureAwait(false);

        // The peer's resources and their capabilities arrive with presence; a bare JID needs them to pick a resource.
        await client.SendPresenceAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        var bar = new ProgressBar(output, Path.GetFileName(path));
        FileTransferResult result;
        try
        {
            // A FileTransferException is an XmppException: the caller prints it as the one-line reason.
            result = await transfers.SendFileAsync(to, path, progress: bar, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            bar.Finish();
        }

        var via = result.Transport == result.Method ? Describe(result.Method) : $"{Describe(result.Method)} over {Describe(result.Transport)}";
        var fallback = result.FallbackReason is null ? string.Empty : $" (after: {result.FallbackReason})";
        await output.WriteLineAsync($"sent {Path.GetFileName(path)} ({result.Bytes:N0} bytes) to {to} via {via} in {result.Elapsed.TotalSeconds:0.0} s{fallback}; sha-256 {result.Sha256}").ConfigureAwait(false);
        return 0;
    }

    public static async Task<int> ReceiveAsync(ConnectionArguments connection, List<string> rest, TextWriter output, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        string? folder = null;
        for (var i = 0; i < rest.Count; i++)
        {
            if (rest[i] == "--to" && i + 1 < rest.Count)
            {
                folder = rest[++i];
            }
            else
            {
                throw new UsageException($"receive takes --to <folder>, got '{rest[i]}'.");
            }
        }

        if (folder is null)
        {
            throw new UsageException("receive needs --to <folder>.");
        }

        Directory.CreateDirectory(folder);
        var options = connection.ToClientOptions();
        options.Reconnect = new ReconnectPolicy();
        await using var client = new XmppClient(options, loggerFactory);
        var transfers = client.AddExtension(new FileTransferManager(loggerFactory: loggerFactory));
        transfers.IncomingPolicy = (offer, _) =>
        {
            output.WriteLine($"accepting {offer.FileName} ({offer.Size:N0} bytes) from {offer.From}");
            return ValueTask.FromResult(offer.Accept(folder));
        };
        transfers.TransferReceived += (_, e) => output.WriteLine(e.Succeeded
            ? $"received {Path.GetFileName(e.Path)} ({e.Bytes:N0} bytes) from {e.Offer.From} via {Describe(e.Method ?? FileTransferMethod.InBandBytestreams)}; sha-256 {e.Sha256}"
            : $"failed {e.Offer.FileName} from {e.Offer.From}: {e.Error!.Message}");
        await client.ConnectAsync(cancellationToken).ConfigureAwait(false);
        await client.SendPresenceAsync(status: "Receiving files", cancellationToken: cancellationToken).ConfigureAwait(false);
        await output.WriteLineAsync($"receiving files as {client.Jid} into {Path.GetFullPath(folder)}; Ctrl-C to stop").ConfigureAwait(false);
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            await output.WriteLineAsync("stopping").ConfigureAwait(false);
        }

        return 0;
    }

    private static string Describe(FileTransferMethod method) => method switch
    {
        FileTransferMethod.Jingle => "Jingle",
        FileTransferMethod.Socks5Bytestreams => "SOCKS5",
        FileTransferMethod.InBandBytestreams => "in-band bytestreams",
        _ => method.ToString(),
    };

    /// <summary>A one-line progress bar, redrawn at most every 5 %.</summary>
    private sealed class ProgressBar(TextWriter output, string name) : IProgress<FileTransferProgress>
    {
        private int _lastPercent = -1;

        public void Report(FileTransferProgress value)
        {
            var percent = value.TotalBytes <= 0 ? 100 : (int)(value.BytesTransferred * 100 / value.TotalBytes);
            if (percent / 5 == _lastPercent / 5 && percent != 100)
            {
                return;
            }

            _lastPercent = percent;
            var filled = percent / 5;
            output.Write(string.Create(CultureInfo.InvariantCulture, $"\r{name} [{new string('#', filled)}{new string('.', 20 - filled)}] {percent,3}%"));
        }

        public void Finish()
        {
            if (_lastPercent >= 0)
            {
                output.WriteLine();
            }
        }
    }
}
