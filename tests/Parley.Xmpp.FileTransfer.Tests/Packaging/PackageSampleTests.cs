using System.Globalization;
using System.IO.Compression;
using System.Xml.Linq;
using Parley.Testing;
using Parley.Xmpp.Stanzas;

namespace Parley.Xmpp.FileTransfer.Tests.Packaging;

/// <summary>
/// The packages as a user gets them: packed by <c>dotnet pack</c>, their README samples (taken from the READMEs) built
/// against the packed packages in a project outside the repository, then run against the private Prosody.
/// </summary>
[Collection(ServerFixture.CollectionName)]
public sealed class PackageSampleTests(ServerFixture servers, PackedLibraries packages) : IClassFixture<PackedLibraries>, IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly string _root = Directory.CreateTempSubdirectory("parley-samples-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [InlineData("Parley.Xmpp", "Microsoft.Extensions.Logging.Abstractions")]
    [InlineData("Parley.Xmpp.FileTransfer", "Parley.Xmpp")]
    public void A_package_holds_the_library_its_readme_and_the_license(string id, string dependency)
    {
        var version = packages.Versions[id];
        using var package = ZipFile.OpenRead(Path.Combine(packages.Folder, $"{id}.{version}.nupkg"));
        Assert.NotNull(package.GetEntry($"lib/net10.0/{id}.dll"));
        Assert.NotNull(package.GetEntry($"lib/net10.0/{id}.xml"));
        Assert.Equal(File.ReadAllText(Path.Combine(PackedLibraries.RepositoryRoot, "LICENSE")), ReadEntry(package, "LICENSE"));
        Assert.Equal(File.ReadAllText(Path.Combine(PackedLibraries.RepositoryRoot, "src", id, "README.md")), ReadEntry(package, "README.md"));

        var nuspec = XDocument.Parse(ReadEntry(package, $"{id}.nuspec"));
        var metadata = nuspec.Root!.Elements().Single(e => e.Name.LocalName == "metadata");
        string Value(string name) => metadata.Elements().Single(e => e.Name.LocalName == name).Value;
        Assert.Equal("MIT", Value("license"));
        Assert.Equal("README.md", Value("readme"));
        Assert.Contains(metadata.Descendants().Where(e => e.Name.LocalName == "dependency"), d => (string?)d.Attribute("id") == dependency);
    }

    [Fact]
    public void The_sample_is_the_code_block_after_the_marker()
    {
        const string readme = "# X\n\n```csharp\nnot this\n```\n\n<!-- sample: Program.cs (built by tests) -->\n```csharp\nline 1\n\nline 3\n```\nafter\n";
        Assert.Equal("line 1\n\nline 3\n", SampleProject.ExtractSample(readme));
        Assert.Throws<InvalidDataException>(() => SampleProject.ExtractSample("```csharp\nno marker\n```\n"));
        Assert.Throws<InvalidDataException>(() => SampleProject.ExtractSample($"{SampleProject.Marker} -->\n```csharp\nnot closed\n"));
    }

    [Fact]
    public async Task The_Parley_Xmpp_readme_sample_builds_against_the_package_and_echoes_on_Prosody()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        var sample = await SampleProject.BuildAsync(packages, _root, "EchoSample", "Parley.Xmpp");
        var bot = await server.CreateAccountAsync();
        var botJid = bot.Jid.WithResource("sample");
        await using var process = sample.Start(Settings(server, botJid, bot.Password));
        Assert.Equal($"Echoing as {botJid}; Enter stops.", await process.WaitForLineAsync(l => l.StartsWith("Echoing as ", StringComparison.Ordinal), Patience));

        await using var user = new XmppClient(server.ClientOptions(await server.CreateAccountAsync(), "tester"));
        var echoed = new TaskCompletionSource<Message>(TaskCreationOptions.RunContinuationsAsynchronously);
        user.OnMessage((message, _) =>
        {
            if (message.From == botJid)
            {
                echoed.TrySetResult(message);
            }

            return ValueTask.CompletedTask;
        });
        await user.ConnectAsync();
        await user.SendAsync(new Message(botJid, "echo this, packed"));

        var reply = await echoed.Task.WaitAsync(Patience);
        Assert.Equal("echo this, packed", reply.Body);
        Assert.Equal(MessageType.Chat, reply.Type);
        Assert.Equal(0, await process.StopAsync(Patience));
    }

    [Fact]
    public async Task The_FileTransfer_readme_sample_builds_against_the_packages_and_sends_a_file_on_Prosody()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        var sample = await SampleProject.BuildAsync(packages, _root, "FileSample", "Parley.Xmpp.FileTransfer");
        var inbox = Directory.CreateDirectory(Path.Combine(_root, "inbox")).FullName;
        var (path, sha) = TestFiles.Create(_root, "packed.bin", 300_000);

        await using var receiver = new XmppClient(server.ClientOptions(await server.CreateAccountAsync(), "recv"));
        await using var receiverFt = receiver.AddExtension(new FileTransferManager(TransferPair.LoopbackOptions()));
        var received = new TaskCompletionSource<IncomingFileTransferEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        receiverFt.IncomingPolicy = (offer, _) => ValueTask.FromResult(offer.Accept(inbox));
        receiverFt.TransferReceived += (_, e) => received.TrySetResult(e);
        await receiver.ConnectAsync();

        var sender = await server.CreateAccountAsync();
        await using var process = sample.Start(Settings(server, sender.Jid.WithResource("sample"), sender.Password), receiver.Jid!.ToString(), path);
        var line = await process.WaitForLineAsync(l => l.Contains(" bytes, sha-256 ", StringComparison.Ordinal), Patience);
        Assert.EndsWith(string.Create(CultureInfo.InvariantCulture, $", 300000 bytes, sha-256 {sha}"), line, StringComparison.Ordinal);

        var transfer = await received.Task.WaitAsync(Patience);
        Assert.True(transfer.Succeeded, transfer.ToString());
        Assert.Equal(sha, TestFiles.Sha256Of(transfer.Path!));
        await process.WaitForLineAsync(l => l.StartsWith("Receiving into ./incoming", StringComparison.Ordinal), Patience);
        Assert.Equal(0, await process.StopAsync(Patience));
    }

    /// <summary>The environment the README samples read: the account and this server's loopback address and certificate.</summary>
    private static Dictionary<string, string> Settings(XmppTestServer server, Core.Jid jid, string password) => new()
    {
        ["XMPP_JID"] = jid.ToString(),
        ["XMPP_PASSWORD"] = password,
        ["XMPP_HOST"] = server.Host,
        ["XMPP_PORT"] = server.ClientPort.ToString(CultureInfo.InvariantCulture),
        ["XMPP_CERT_SHA256"] = server.CertificateSha256,
    };

    private static string ReadEntry(ZipArchive package, string name)
    {
        var entry = package.GetEntry(name) ?? throw new InvalidDataException($"The package has no {name}.");
        using var reader = new StreamReader(entry.Open());
        return reader.ReadToEnd();
    }
}
