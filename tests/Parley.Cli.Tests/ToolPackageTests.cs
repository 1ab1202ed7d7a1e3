using System.Diagnostics;
using System.Reflection;
using System.Text;
using Parley.Testing;

namespace Parley.Cli.Tests;

/// <summary>
/// <c>parley</c> as people install it: <c>dotnet pack</c> makes the .NET tool package, <c>dotnet tool install</c> puts it
/// into a temporary tool path from a folder holding only that package (no other package source, so it works offline),
/// and the installed command prints its version and sends a message through the private Prosody.
/// </summary>
[Collection(ServerFixture.CollectionName)]
public sealed class ToolPackageTests(ServerFixture servers)
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(5);

    [Fact]
    public async Task The_packed_tool_installs_from_a_local_folder_and_sends_a_message()
    {
        var root = Directory.CreateTempSubdirectory("parley-cli-tool-").FullName;
        try
        {
            var packages = Path.Combine(root, "packages");
            var tools = Path.Combine(root, "tools");

            // A version of its own for each run: the install can only find the package packed here.
            var version = $"0.1.0-test.r{Guid.NewGuid():N}";
            var configuration = typeof(ToolPackageTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";

            // --no-build: the project was built with the tests (same configuration); packing it again must not rebuild
            // the outputs other test projects are running from. The publish step of a tool package goes to the temporary folder.
            await RunDotnetAsync(
                "pack", Path.Combine(RepositoryRoot(), "src", "Parley.Cli", "Parley.Cli.csproj"),
                "--configuration", configuration, "--no-build", "--nologo", "--output", packages,
                $"-p:PackageVersion={version}", $"-p:PublishDir={Path.Combine(root, "publish")}/");
            Assert.True(File.Exists(Path.Combine(packages, $"Parley.Cli.{version}.nupkg")), $"no package in {packages}: {string.Join(", ", Directory.GetFiles(packages))}");

            var config = Path.Combine(root, "nuget.config");
            await File.WriteAllTextAsync(config, $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration>
                  <packageSources>
                    <clear />
                    <add key="local" value="{packages}" />
                  </packageSources>
                </configuration>
                """);
            await RunDotnetAsync("tool", "install", "Parley.Cli", "--version", version, "--tool-path", tools, "--configfile", config);
            var parley = Path.Combine(tools, "parley");
            Assert.True(File.Exists(parley), $"dotnet tool install left no 'parley' command in {tools}");

            var (versionCode, versionOutput, versionError) = await CliTests.RunAsync(CliTests.Start(["--version"], new Dictionary<string, string>(), parley), standardInput: null);
            Assert.True(versionCode == 0, versionError);
            Assert.Equal(CommandLineTests.ExpectedVersion(), versionOutput.Trim());

            var server = await servers.GetAsync(Servers.Prosody);
            var (sender, receiver) = (await server.CreateAccountAsync(), await server.CreateAccountAsync());
            await using var inbox = await Inbox.OpenAsync(server, receiver);
            var (code, stdout, stderr) = await CliTests.RunAsync(
                CliTests.Start(["send", inbox.Jid, "from the installed tool", "--jid", sender.Jid.ToString(), .. CommandLineTests.Connect(server)], new Dictionary<string, string> { ["PARLEY_PASSWORD"] = sender.Password }, parley),
                standardInput: null);
            Assert.True(code == 0, stderr);
            Assert.Equal($"sent to {inbox.Jid}", stdout.Trim());
            Assert.Equal("from the installed tool", (await inbox.NextAsync()).Body);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>Runs the dotnet CLI and fails the test with its output when it exits non-zero.</summary>
    private static async Task RunDotnetAsync(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        // The test host runs under MSBuild's and the test platform's variables; the child is a build of its own.
        foreach (var name in info.Environment.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase) || k.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            info.Environment.Remove(name);
        }

        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        info.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        info.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        info.Environment["UseSharedCompilation"] = "false";

        using var process = Process.Start(info) ?? throw new InvalidOperationException("could not start dotnet");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(CommandTimeout);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        if (process.ExitCode != 0)
        {
            var message = new StringBuilder().Append("dotnet ").AppendJoin(' ', args).Append(" exited with ").Append(process.ExitCode)
                .Append('\n').Append(await stdout).Append('\n').Append(await stderr);
            Assert.Fail(message.ToString());
        }
    }

    private static string RepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "Parley.slnx")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException($"no Parley.slnx above {AppContext.BaseDirectory}");
    }
}
