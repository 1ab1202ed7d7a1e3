using System.Diagnostics;
using System.Security;

namespace Parley.Xmpp.FileTransfer.Tests.Packaging;

/// <summary>
/// A console project outside the repository whose <c>Program.cs</c> is the sample of a package's README, taken from
/// the README itself, built against the packed packages from a local folder (plus the machine's package sources for
/// everything else), as a user of the package would build it.
/// </summary>
internal sealed class SampleProject
{
    /// <summary>The marker that stands on the line before the README's sample code block.</summary>
    public const string Marker = "<!-- sample: Program.cs";

    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(5);

    private SampleProject(string folder, string assemblyPath)
    {
        Folder = folder;
        AssemblyPath = assemblyPath;
    }

    public string Folder { get; }

    public string AssemblyPath { get; }

    /// <summary>The C# code block that follows <see cref="Marker"/> in <paramref name="readme"/>.</summary>
    /// <exception cref="InvalidDataException">The README has no marked sample, or its code block is not closed.</exception>
    public static string ExtractSample(string readme)
    {
        var lines = readme.ReplaceLineEndings("\n").Split('\n');
        var marker = Array.FindIndex(lines, l => l.StartsWith(Marker, StringComparison.Ordinal));
        if (marker < 0 || marker + 1 >= lines.Length || lines[marker + 1] != "```csharp")
        {
            throw new InvalidDataException($"The README has no '{Marker} …' line followed by a ```csharp block.");
        }

        var end = Array.IndexOf(lines, "```", marker + 2);
        if (end < 0)
        {
            throw new InvalidDataException("The README's sample code block is not closed.");
        }

        return string.Join('\n', lines[(marker + 2)..end]) + "\n";
    }

    /// <summary>Writes and builds a project named <paramref name="name"/> that references <paramref name="packageId"/> and runs its README's sample.</summary>
    public static async Task<SampleProject> BuildAsync(PackedLibraries packages, string root, string name, string packageId)
    {
        var readme = await File.ReadAllTextAsync(Path.Combine(PackedLibraries.RepositoryRoot, "src", packageId, "README.md"));
        var folder = Directory.CreateDirectory(Path.Combine(root, name)).FullName;
        await File.WriteAllTextAsync(Path.Combine(folder, "Program.cs"), ExtractSample(readme));

        // Asked before this folder has a nuget.config of its own: what a user's machine restores from.
        var sources = await MachinePackageSourcesAsync(folder);
        var machinePackages = await MachineGlobalPackagesAsync(folder);
        await File.WriteAllTextAsync(Path.Combine(folder, "nuget.config"), NuGetConfig(packages.Folder, sources, machinePackages));
        await File.WriteAllTextAsync(Path.Combine(folder, name + ".csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="{packageId}" Version="{packages.Versions[packageId]}" />
              </ItemGroup>
            </Project>
            """);

        var build = await DotnetCommand.RunAsync(folder, BuildTimeout, ["build", "--nologo", "--disable-build-servers", "-c", "Release"]);
        build.AssertSucceeded($"Building the README sample of {packageId} against the packed package");
        var assembly = Path.Combine(folder, "bin", "Release", "net10.0", name + ".dll");
        Assert.True(File.Exists(assembly), $"The build reported success but wrote no {assembly}.\n{build.Output}");
        var restored = Path.Combine(folder, "packages", packageId.ToLowerInvariant(), packages.Versions[packageId]);
        Assert.True(Directory.Exists(restored), $"{packageId} was not restored from the packed folder into {restored}.");
        return new SampleProject(folder, assembly);
    }

    /// <summary>Starts the built sample with <paramref name="environment"/> and <paramref name="arguments"/>.</summary>
    public SampleProcess Start(IReadOnlyDictionary<string, string> environment, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Folder,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(AssemblyPath);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        return new SampleProcess(Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start."));
    }

    private static async Task<IReadOnlyList<string>> MachinePackageSourcesAsync(string folder)
    {
        var list = await DotnetCommand.RunAsync(folder, BuildTimeout, ["nuget", "list", "source", "--format", "short"]);
        list.AssertSucceeded("Listing the machine's package sources");

        // Lines look like "E https://…" (E: enabled, D: disabled).
        var sources = list.Output.ReplaceLineEndings("\n").Split('\n')
            .Where(l => l.StartsWith("E ", StringComparison.Ordinal))
            .Select(l => l[2..].Trim())
            .ToList();
        Assert.True(sources.Count > 0, $"The machine has no enabled package source:\n{list.Output}");
        return sources;
    }

    private static async Task<string> MachineGlobalPackagesAsync(string folder)
    {
        var locals = await DotnetCommand.RunAsync(folder, BuildTimeout, ["nuget", "locals", "global-packages", "--list"]);
        locals.AssertSucceeded("Asking for the machine's global packages folder");
        const string prefix = "global-packages:";
        var line = locals.Output.ReplaceLineEndings("\n").Split('\n').FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
        Assert.True(line is not null, $"No global packages folder in:\n{locals.Output}");
        return line![prefix.Length..].Trim();
    }

    /// <summary>
    /// The packed folder is the only source of Parley packages (a package of the same name elsewhere is never taken);
    /// the sample restores into its own packages folder, so a package from an earlier run of these tests with the same
    /// version is never reused, and reads everything else the machine already holds from its global folder.
    /// </summary>
    private static string NuGetConfig(string localFolder, IReadOnlyList<string> machineSources, string machinePackages)
    {
        var sources = string.Concat(machineSources.Select((s, i) => $"""    <add key="machine{i}" value="{Escape(s)}" />""" + "\n"));
        var mapping = string.Concat(machineSources.Select((_, i) =>
            $"""    <packageSource key="machine{i}"><package pattern="*" /></packageSource>""" + "\n"));
        return $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <config>
                <add key="globalPackagesFolder" value="packages" />
              </config>
              <fallbackPackageFolders>
                <clear />
                <add key="machine" value="{Escape(machinePackages)}" />
              </fallbackPackageFolders>
              <packageSources>
                <clear />
                <add key="parley-local" value="{Escape(localFolder)}" />
            {sources}  </packageSources>
              <packageSourceMapping>
                <packageSource key="parley-local"><package pattern="Parley.*" /></packageSource>
            {mapping}  </packageSourceMapping>
            </configuration>
            """;
    }

    private static string Escape(string value) => SecurityElement.Escape(value);
}
