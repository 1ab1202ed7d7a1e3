using System.Text.RegularExpressions;

namespace Parley.Xmpp.FileTransfer.Tests.Packaging;

/// <summary>
/// Parley.Xmpp and Parley.Xmpp.FileTransfer packed by <c>dotnet pack</c> into a temporary folder, from the build the
/// tests run on (<c>--no-build</c>: the package holds the same assemblies the other tests exercise).
/// </summary>
public sealed partial class PackedLibraries : IAsyncLifetime
{
    private static readonly TimeSpan PackTimeout = TimeSpan.FromMinutes(5);

#if DEBUG
    private const string Configuration = "Debug";
#else
    private const string Configuration = "Release";
#endif

    public string Folder { get; } = Directory.CreateTempSubdirectory("parley-packages-").FullName;

    /// <summary>The version each package was packed with, by package id.</summary>
    public IReadOnlyDictionary<string, string> Versions { get; private set; } = new Dictionary<string, string>();

    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    public async Task InitializeAsync()
    {
        foreach (var library in new[] { "Parley.Xmpp", "Parley.Xmpp.FileTransfer" })
        {
            var project = Path.Combine(RepositoryRoot, "src", library, library + ".csproj");
            var pack = await DotnetCommand.RunAsync(RepositoryRoot, PackTimeout,
                ["pack", project, "--no-build", "--nologo", "-c", Configuration, "-o", Folder]);
            pack.AssertSucceeded($"dotnet pack {library}");
        }

        var versions = new Dictionary<string, string>();
        foreach (var file in Directory.GetFiles(Folder, "*.nupkg"))
        {
            var match = PackageFileName().Match(Path.GetFileName(file));
            if (match.Success)
            {
                versions[match.Groups["id"].Value] = match.Groups["version"].Value;
            }
        }

        Versions = versions;
    }

    public Task DisposeAsync()
    {
        Directory.Delete(Folder, recursive: true);
        return Task.CompletedTask;
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Parley.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No Parley.slnx above {AppContext.BaseDirectory}.");
    }

    [GeneratedRegex(@"^(?<id>Parley\.Xmpp(\.FileTransfer)?)\.(?<version>\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?)\.nupkg$")]
    private static partial Regex PackageFileName();
}
