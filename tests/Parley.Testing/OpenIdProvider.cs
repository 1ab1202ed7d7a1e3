using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Parley.Testing.Internal;

namespace Parley.Testing;

/// <summary>A client registered at the test provider (confidential, <c>client_secret_post</c>, code flow, PKCE required).</summary>
public sealed record OpenIdClient(string ClientId, string ClientSecret);

/// <summary>
/// A real OpenID Connect provider for sign-in tests: the <c>oidc-provider</c> npm package (<see cref="PackageVersion"/>) on
/// Node.js, on 127.0.0.1 with a free port, in its own instance folder; killed (with its process tree) at dispose.
/// </summary>
/// <remarks>
/// The package is installed by <c>scripts/install-deps.sh</c> into <c>&lt;repo&gt;/.cache/oidc-provider</c> (git-ignored).
/// Logins: the provider's own form accepts any login and password and the login becomes the subject (<c>alice</c>,
/// <c>bob</c>, <c>nameless</c> and <c>mallory</c> have particular profiles, see <c>OpenId/provider.mjs</c>); an authorization
/// request with <c>login_hint=&lt;login&gt;</c>, or the interaction URL it leads to with that query, signs in without the
/// form. Consent is implied. PKCE (S256) is required; pushed authorization requests (RFC 9126) are offered. Each login step
/// prints <c>interaction {json}</c>: the parameters of the authorization request as the provider received them.
/// </remarks>
public sealed class OpenIdProvider : IAsyncDisposable
{
    /// <summary>The npm package version the harness is written for.</summary>
    public const string PackageVersion = "9.13.3";

    /// <summary>Overrides where the package's <c>node_modules</c> folder is looked for.</summary>
    public const string ModulesVariable = "PARLEY_OIDC_PROVIDER_MODULES";

    private const string ScriptResource = "Parley.Testing.OpenId.provider.mjs";
    // Loading the package takes about a second of CPU; on a loaded CI machine that can stretch a lot.
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    private readonly ChildProcess _process;
    private readonly InstanceDirectory _instance;
    private readonly string _registrationToken;
    private readonly ConcurrentQueue<string> _output;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };

    private OpenIdProvider(ChildProcess process, InstanceDirectory instance, Uri issuer, string registrationToken, ConcurrentQueue<string> output)
    {
        _process = process;
        _instance = instance;
        Issuer = issuer;
        _registrationToken = registrationToken;
        _output = output;
    }

    /// <summary>The issuer, <c>http://127.0.0.1:&lt;port&gt;</c> (no trailing slash): the Authority to configure.</summary>
    public Uri Issuer { get; }

    /// <summary>What the provider printed so far (warnings, grant and authorization errors).</summary>
    public IReadOnlyList<string> Output => [.. _output];

    /// <summary>The <c>node_modules</c> folder holding <c>oidc-provider</c>: <c>$PARLEY_OIDC_PROVIDER_MODULES</c>, else <c>.cache/oidc-provider/node_modules</c> of the repository this test runs from.</summary>
    /// <exception cref="OpenIdProviderException">No repository root (a folder with <c>Parley.slnx</c>) above the test's folder.</exception>
    public static string ModulesDirectory
    {
        get
        {
            if (Environment.GetEnvironmentVariable(ModulesVariable) is { Length: > 0 } configured)
            {
                return Path.GetFullPath(configured);
            }

            for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "Parley.slnx")))
                {
                    return Path.Combine(directory.FullName, ".cache", "oidc-provider", "node_modules");
                }
            }

            throw new OpenIdProviderException($"No repository root (Parley.slnx) above {AppContext.BaseDirectory}; set {ModulesVariable}.");
        }
    }

    /// <summary>Starts a provider and waits until its discovery document is served.</summary>
    /// <exception cref="OpenIdProviderException">Node.js or the package is missing, or the provider did not come up.</exception>
    public static async Task<OpenIdProvider> StartAsync(CancellationToken cancellationToken = default)
    {
        var modules = ModulesDirectory;
        var packageJson = Path.Combine(modules, "oidc-provider", "package.json");
        if (!File.Exists(packageJson))
        {
            throw new OpenIdProviderException($"oidc-provider is not installed in {modules}: run scripts/install-deps.sh (npm install --prefix .cache/oidc-provider oidc-provider@{PackageVersion}).");
        }

        using (var package = JsonDocument.Parse(await File.ReadAllTextAsync(packageJson, cancellationToken)))
        {
            var version = package.RootElement.TryGetProperty("version", out var v) ? v.GetString() : null;
            if (version != PackageVersion)
            {
                throw new OpenIdProviderException($"{packageJson} is version {version}, the harness needs {PackageVersion}: run scripts/install-deps.sh.");
            }
        }

        var instance = InstanceDirectory.Create("oidc");
        try
        {
            var script = instance.File("provider.mjs");
            await using (var resource = typeof(OpenIdProvider).Assembly.GetManifestResourceStream(ScriptResource)
                ?? throw new OpenIdProviderException($"The resource {ScriptResource} is missing from Parley.Testing."))
            await using (var file = File.Create(script))
            {
                await resource.CopyToAsync(file, cancellationToken);
            }

            // The port is free when chosen but may be taken before node binds it: then try another one.
            for (var attempt = 1; ; attempt++)
            {
                var started = await TryStartAsync(instance, script, modules, cancellationToken);
                if (started is not null)
                {
                    return started;
                }

                if (attempt == 3)
                {
                    throw new OpenIdProviderException("The OpenID provider found no free port in 3 attempts.");
                }
            }
        }
        catch
        {
            instance.Release();
            throw;
        }
    }

    /// <summary>Registers a confidential client (dynamic registration, RFC 7591) whose only redirect URI is <paramref name="redirectUri"/>.</summary>
    /// <exception cref="OpenIdProviderException">The provider refused the registration.</exception>
    public async Task<OpenIdClient> RegisterClientAsync(Uri redirectUri, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(Issuer, "/reg"))
        {
            Content = JsonContent.Create(new Dictionary<string, object>
            {
                ["redirect_uris"] = new[] { redirectUri.AbsoluteUri },
                ["token_endpoint_auth_method"] = "client_secret_post",
                ["grant_types"] = new[] { "authorization_code" },
                ["response_types"] = new[] { "code" },
                ["id_token_signed_response_alg"] = "ES256",
            }),
        };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", _registrationToken);
        using var response = await _http.SendAsync(request, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (response.StatusCode != HttpStatusCode.Created)
        {
            throw new OpenIdProviderException($"Client registration failed: {(int)response.StatusCode} {body}");
        }

        using var document = JsonDocument.Parse(body);
        return new OpenIdClient(
            document.RootElement.GetProperty("client_id").GetString()!,
            document.RootElement.GetProperty("client_secret").GetString()!);
    }

    /// <summary>
    /// From now on the token responses to <paramref name="clientId"/> carry a bad id_token instead of the genuine one:
    /// <c>no-nonce</c>, <c>replay</c> (the previous response's), <c>aud</c>, <c>expired</c>, <c>none</c> (unsigned),
    /// <c>hs256</c> (the client secret as the key); <c>genuine</c> goes back to normal. See <c>OpenId/provider.mjs</c>.
    /// </summary>
    /// <exception cref="OpenIdProviderException">The provider refused the request.</exception>
    public Task MisbehaveAsync(string clientId, string mode, CancellationToken cancellationToken = default)
        => ControlAsync($"/test/id-token?client_id={Uri.EscapeDataString(clientId)}&mode={Uri.EscapeDataString(mode)}", cancellationToken);

    /// <summary>Publishes a new signing key in the key set and signs <paramref name="clientId"/>'s id_tokens with it from now on.</summary>
    /// <exception cref="OpenIdProviderException">The provider refused the request.</exception>
    public Task RotateSigningKeyAsync(string clientId, CancellationToken cancellationToken = default)
        => ControlAsync($"/test/rotate?client_id={Uri.EscapeDataString(clientId)}", cancellationToken);

    /// <summary>Kills the provider and its process tree and removes its folder.</summary>
    public ValueTask DisposeAsync()
    {
        _http.Dispose();
        _process.KillTree(TimeSpan.FromSeconds(5));
        _process.Dispose();
        _instance.Release();
        return ValueTask.CompletedTask;
    }

    private async Task ControlAsync(string pathAndQuery, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(Issuer, pathAndQuery));
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", _registrationToken);
        using var response = await _http.SendAsync(request, cancellationToken);
        if (response.StatusCode != HttpStatusCode.NoContent)
        {
            throw new OpenIdProviderException($"{pathAndQuery} answered {(int)response.StatusCode}.");
        }
    }

    private static async Task<OpenIdProvider?> TryStartAsync(InstanceDirectory instance, string script, string modules, CancellationToken cancellationToken)
    {
        var port = FreePorts.Allocate(1)[0];
        var issuer = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}"));
        var token = RandomNumberGenerator.GetHexString(32, lowercase: true);
        var output = new ConcurrentQueue<string>();
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var spec = new LaunchSpec("node", [script])
        {
            WorkingDirectory = instance.Path,
            Environment = new Dictionary<string, string>
            {
                ["OP_PORT"] = port.ToString(CultureInfo.InvariantCulture),
                ["OP_MODULES"] = modules,
                ["OP_REGISTRATION_TOKEN"] = token,
                ["NODE_ENV"] = "test",
            },
            Display = $"node {script}",
        };
        var process = await ChildProcess.StartAsync(spec, line =>
        {
            output.Enqueue(line);
            if (line.StartsWith("ready ", StringComparison.Ordinal))
            {
                ready.TrySetResult();
            }
        }, cancellationToken);
        instance.RecordProcesses([process.Identity]);
        var provider = new OpenIdProvider(process, instance, issuer, token, output);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(StartTimeout);
            var exited = process.WaitForExitAsync(timeout.Token);
            if (await Task.WhenAny(ready.Task, exited) != ready.Task)
            {
                await exited;
                if (output.Any(static l => l.Contains("EADDRINUSE", StringComparison.Ordinal)))
                {
                    provider._http.Dispose();
                    process.Dispose();
                    return null;
                }

                throw new OpenIdProviderException($"The OpenID provider exited with {process.ExitCode}:{Environment.NewLine}{string.Join(Environment.NewLine, output)}");
            }

            using var discovery = await provider._http.GetAsync(new Uri(issuer, "/.well-known/openid-configuration"), timeout.Token);
            if (discovery.StatusCode != HttpStatusCode.OK)
            {
                throw new OpenIdProviderException($"The OpenID provider's discovery answered {(int)discovery.StatusCode}.");
            }

            return provider;
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            provider._http.Dispose();
            process.KillTree(TimeSpan.FromSeconds(5));
            process.Dispose();
            throw new OpenIdProviderException($"The OpenID provider did not start within {StartTimeout.TotalSeconds} s:{Environment.NewLine}{string.Join(Environment.NewLine, output)}", e);
        }
        catch
        {
            provider._http.Dispose();
            process.KillTree(TimeSpan.FromSeconds(5));
            process.Dispose();
            throw;
        }
    }
}
