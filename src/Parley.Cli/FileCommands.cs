using Microsoft.Extensions.Logging;
using Parley.Xmpp;
using Parley.Xmpp.Core;
using Parley.Xmpp.FileTransfer;

namespace Parley.Cli;

/// <summary><c>parley send-file</c> and <c>parley receive</c>: file transfer from the shell, with the same connection options as every command.</summary>
internal static class FileCommands
{
    public static async Task<int> SendFileAsync(ConnectionArguments connection, Jid to, FileInfo file, CliConsole console, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        var path = file.FullName;
        await using var client = new XmppClient(connection.ToClientOptions(), loggerFactory);
        var transfers = client.AddExtension(new FileTransferManager(loggerFactory: loggerFactory));
        await client.ConnectAsync(cancellationToken).ConfigureAwait(false);

        // The peer's resources and their capabilities arrive with presence; a bare JID needs them to pick a resource.
        await client.SendPresenceAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        var bar = new TransferProgress(console.Error, file.Name, redraw: console.ErrorIsTerminal);
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
        await console.Output.WriteLineAsync($"sent {file.Name} ({result.Bytes:N0} bytes) to {to} via {via} in {result.Elapsed.TotalSeconds:0.0} s{fallback}; sha-256 {result.Sha256}").ConfigureAwait(false);
        return 0;
    }

    public static async Task<int> ReceiveAsync(ConnectionArguments connection, DirectoryInfo target, CliConsole console, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        var folder = target.FullName;
        var output = console.Output;
        try
        {
            Directory.CreateDirectory(folder);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"--to '{target}': {ex.Message}");
        }

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
        await output.WriteLineAsync($"receiving files as {client.Jid} into {folder}; Ctrl-C to stop").ConfigureAwait(false);
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
}
