using System.Diagnostics;
using System.Security.Cryptography;
using Parley.Testing;
using Parley.Xmpp;
using Parley.Xmpp.Core;
using Parley.Xmpp.FileTransfer;
using Xunit.Abstractions;

namespace Parley.Cli.Tests;

/// <summary>
/// <c>parley receive</c> into a folder on a full disk: a 1 MiB tmpfs mounted in a private user and mount namespace, so
/// only the receiver sees it and nothing on the machine fills up. A larger file must fail on both sides with the
/// reason, leave nothing in the folder, and the receiver must go on to take the next file intact.
/// </summary>
[Collection(ServerFixture.CollectionName)]
public sealed class FullDiskTests(ServerFixture servers, ITestOutputHelper output)
{
    [Theory]
    [InlineData(1_100_000)] // just over the disk: the last buffer fails, seen only when the file is completed
    [InlineData(3_000_000)] // below IncomingSink.DirectMinimumSize: written through the page cache
    [InlineData(5 << 20)] // from 4 MiB on: opened with O_DIRECT, which tmpfs accepts (Linux 6.6 and later)
    public async Task Send_file_to_a_full_disk_fails_on_both_sides_and_the_receiver_takes_the_next_file(int size)
    {
        // parley send-file picks Jingle over SOCKS5 when the peer is Parley.
        await using var disk = await FullDiskReceiver.StartAsync(await servers.GetAsync(Servers.Prosody));
        var big = disk.CreateSourceFile("big report.bin", size);

        var (code, stdout, stderr) = await CliTests.RunAsync(["send-file", disk.ReceiverJid, big, .. disk.SenderArguments], disk.Sender.Password);

        var context = $"exit {code}\nstderr: {stderr}\nstdout: {stdout}\nreceiver:\n{disk.Diagnostics()}";
        output.WriteLine(context);
        Assert.True(code == 1, context);
        // Standard error also carries the progress lines; the failure is the one line that starts with "parley: ".
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("parley: ", StringComparison.Ordinal));
        Assert.True(line.Contains("could not store big report.bin: No space left on device", StringComparison.OrdinalIgnoreCase), context);
        Assert.DoesNotContain(disk.Folder, line, StringComparison.Ordinal);
        Assert.DoesNotContain("sent big report.bin", stdout, StringComparison.Ordinal);
        await disk.AssertFailedAndEmptyAsync("big report.bin");
        await disk.AssertReceivesASmallFileAsync();
    }

    [Theory]
    [InlineData(FileTransferMethod.InBandBytestreams)] // SI (XEP-0096) over in-band bytestreams
    [InlineData(FileTransferMethod.Jingle, FileTransferMethod.InBandBytestreams)] // Jingle over in-band bytestreams (XEP-0261)
    public async Task An_in_band_transfer_to_a_full_disk_fails_on_both_sides_and_the_receiver_takes_the_next_file(params FileTransferMethod[] methods)
    {
        // The CLI sends over the best method; the library's sender picks in-band bytestreams for us.
        await using var disk = await FullDiskReceiver.StartAsync(await servers.GetAsync(Servers.Prosody));
        var error = await SendBigFileAsync(disk, methods);

        // Aborted by the receiver, not a damaged file (HashMismatch), which would be sent again over another method.
        Assert.Equal(FileTransferError.Aborted, error.Error);
        Assert.True(error.Message.Contains("could not store big report.bin: No space left on device", StringComparison.OrdinalIgnoreCase), $"{error.Message}\nreceiver:\n{disk.Diagnostics()}");
        Assert.DoesNotContain(disk.Folder, error.Message, StringComparison.Ordinal);
        await disk.AssertFailedAndEmptyAsync("big report.bin");
        await disk.AssertReceivesASmallFileAsync();
    }

    [Fact]
    public async Task Si_over_socks5_to_a_full_disk_is_not_taken_for_delivered()
    {
        // SI over SOCKS5 has no way to say why: the receiver resets the connection, where closing it means "all arrived".
        await using var disk = await FullDiskReceiver.StartAsync(await servers.GetAsync(Servers.Prosody));
        var error = await SendBigFileAsync(disk, [FileTransferMethod.Socks5Bytestreams]);

        Assert.True(error.Error == FileTransferError.StreamFailed && error.Message.Contains("The SOCKS5 stream broke", StringComparison.Ordinal), $"{error.Error}: {error.Message}\nreceiver:\n{disk.Diagnostics()}");
        await disk.AssertFailedAndEmptyAsync("big report.bin");
        await disk.AssertReceivesASmallFileAsync();
    }

    private async Task<FileTransferException> SendBigFileAsync(FullDiskReceiver disk, FileTransferMethod[] methods)
    {
        var big = disk.CreateSourceFile("big report.bin", 3_000_000);
        await using var client = new XmppClient(disk.Server.ClientOptions(disk.Sender, "lib"));
        var transfers = client.AddExtension(new FileTransferManager());
        await client.ConnectAsync();
        var error = await Assert.ThrowsAsync<FileTransferException>(
            () => transfers.SendFileAsync(Jid.Parse(disk.ReceiverJid), big, new FileSendOptions { Methods = methods }).WaitAsync(TimeSpan.FromSeconds(30)));
        output.WriteLine($"{string.Join('+', methods)}: {error.Error}: {error.Message}\nreceiver:\n{disk.Diagnostics()}");
        return error;
    }

    /// <summary>
    /// <c>parley receive</c> inside <c>unshare --user --map-root-user --mount</c> with a tmpfs at <see cref="Folder"/>;
    /// <c>unshare</c> and <c>sh</c> exec, so the process we hold is the receiver itself. The folder as the receiver sees
    /// it is <c>/proc/&lt;pid&gt;/root/&lt;folder&gt;</c>.
    /// </summary>
    private sealed class FullDiskReceiver : IAsyncDisposable
    {
        private const string DiskSize = "1m";
        private readonly string _root;
        private readonly List<string> _output = [];
        private Process? _process;

        private FullDiskReceiver(XmppTestServer server, TestAccount receiver, TestAccount sender)
        {
            Server = server;
            Sender = sender;
            ReceiverJid = $"{receiver.Jid}/inbox";
            _root = Directory.CreateTempSubdirectory("parley-full-disk-").FullName;
            Folder = Directory.CreateDirectory(Path.Combine(_root, "inbox")).FullName;
            Directory.CreateDirectory(Path.Combine(_root, "out"));
            SenderArguments = ["--jid", sender.Jid.ToString(), .. ConnectArguments(server)];
        }

        public XmppTestServer Server { get; }

        public TestAccount Sender { get; }

        public string ReceiverJid { get; }

        /// <summary>The mount point; outside the namespace an empty folder.</summary>
        public string Folder { get; }

        public string[] SenderArguments { get; }

        /// <summary>The receiving folder as the receiver sees it: the tmpfs.</summary>
        private string FolderInside => $"/proc/{_process!.Id}/root{Folder}";

        public static async Task<FullDiskReceiver> StartAsync(XmppTestServer server)
        {
            var account = await server.CreateAccountAsync();
            var receiver = new FullDiskReceiver(server, account, await server.CreateAccountAsync());
            try
            {
                await receiver.StartReceiverAsync(account);
                return receiver;
            }
            catch
            {
                await receiver.DisposeAsync();
                throw;
            }
        }

        public string CreateSourceFile(string name, int size)
        {
            var path = Path.Combine(_root, "out", name);
            File.WriteAllBytes(path, RandomNumberGenerator.GetBytes(size));
            return path;
        }

        /// <summary>The receiver printed one line naming the file and the cause, no stack trace, and left nothing in the folder.</summary>
        public async Task AssertFailedAndEmptyAsync(string name)
        {
            var failed = await WaitForLineAsync($"failed {name} from ", TimeSpan.FromSeconds(20));
            Assert.Contains("No space left on device", failed, StringComparison.Ordinal);

            // The sender took that for the answer: the same file was not offered again over another method.
            Assert.Single(Output(), l => l.StartsWith($"accepting {name} ", StringComparison.Ordinal));
            Assert.DoesNotContain(Output(), l => l.Contains("   at ", StringComparison.Ordinal) || l.Contains("Exception", StringComparison.Ordinal));
            Assert.Empty(Directory.GetFileSystemEntries(FolderInside));
            Assert.Empty(Directory.GetFileSystemEntries(Folder));
        }

        /// <summary>After the failure the disk has room again: a small file arrives intact, and Ctrl-C stops the receiver cleanly.</summary>
        public async Task AssertReceivesASmallFileAsync()
        {
            var small = CreateSourceFile("small.bin", 100_000);
            var sha = Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(small)));
            var (code, stdout, stderr) = await CliTests.RunAsync(["send-file", ReceiverJid, small, .. SenderArguments], Sender.Password);
            Assert.True(code == 0, $"exit {code}: {stderr}{stdout}");
            Assert.Contains($"sha-256 {sha}", stdout, StringComparison.Ordinal);
            Assert.Contains($"sha-256 {sha}", await WaitForLineAsync("received small.bin ", TimeSpan.FromSeconds(20)), StringComparison.Ordinal);
            Assert.Equal(["small.bin"], Directory.GetFileSystemEntries(FolderInside).Select(Path.GetFileName));
            Assert.Equal(sha, Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(Path.Combine(FolderInside, "small.bin")))));

            Assert.Equal(0, CliTests.Interrupt(_process!.Id));
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));
            Assert.True(_process.ExitCode == 0, string.Join('\n', Output()));
            Assert.Contains("stopping", Output());
        }

        /// <summary>Everything the receiver printed so far.</summary>
        public string Diagnostics() => string.Join('\n', Output());

        public async ValueTask DisposeAsync()
        {
            if (_process is { } process)
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                    await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));
                }

                process.Dispose();
            }

            // The tmpfs went with the receiver's namespace: what is left outside is empty folders and the source files.
            Directory.Delete(_root, recursive: true);
        }

        private static string[] ConnectArguments(XmppTestServer server) => ["--server", $"{server.Host}:{server.ClientPort}", "--trust-cert", server.CertificateSha256];

        private async Task StartReceiverAsync(TestAccount receiver)
        {
            // $0 is the mount point, $1 the size, the rest the command.
            var info = new ProcessStartInfo("unshare") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var arg in (string[])[
                "--user", "--map-root-user", "--mount", "--propagation", "private", "--",
                "sh", "-c", "mount -t tmpfs -o size=\"$1\" parley-full-disk \"$0\" && shift && exec \"$@\"", Folder, DiskSize,
                "dotnet", CliTests.ParleyDll, "receive", "--to", Folder, "--jid", ReceiverJid, .. ConnectArguments(Server)])
            {
                info.ArgumentList.Add(arg);
            }

            info.Environment["PARLEY_PASSWORD"] = receiver.Password;
            _process = new Process { StartInfo = info };
            _process.OutputDataReceived += (_, e) => Collect(e.Data, string.Empty);
            _process.ErrorDataReceived += (_, e) => Collect(e.Data, "stderr: ");
            _process.Start();
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
            await WaitForLineAsync("receiving files", TimeSpan.FromSeconds(30));
        }

        private void Collect(string? line, string prefix)
        {
            if (line is not null)
            {
                lock (_output)
                {
                    _output.Add(prefix + line);
                }
            }
        }

        private List<string> Output()
        {
            lock (_output)
            {
                return [.. _output];
            }
        }

        private async Task<string> WaitForLineAsync(string start, TimeSpan timeout)
        {
            var deadline = Stopwatch.StartNew();
            while (deadline.Elapsed < timeout)
            {
                if (Output().FirstOrDefault(l => l.StartsWith(start, StringComparison.Ordinal)) is { } line)
                {
                    return line;
                }

                if (_process!.HasExited)
                {
                    break;
                }

                await Task.Delay(50);
            }

            Assert.Fail($"the receiver did not print '{start}…' (exited: {_process!.HasExited}):\n{string.Join('\n', Output())}");
            return string.Empty;
        }
    }
}
