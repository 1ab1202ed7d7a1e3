using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Threading.Channels;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Parley.Bots.Hosting;
using Parley.Testing;
using Parley.Xmpp.Core;
using Parley.Xmpp.Im;

namespace Parley.Bots.Tests;

/// <summary>The real bot host (generic host, configuration, validation, the same services as Program.cs) with bots on a harness server.</summary>
internal sealed class BotHost : IAsyncDisposable
{
    private readonly IHost _host;

    private BotHost(IHost host) => _host = host;

    public BotHostedService Service => _host.Services.GetRequiredService<BotHostedService>();

    public IServiceProvider Services => _host.Services;

    /// <summary>The host with <paramref name="settings"/>; <paramref name="time"/> replaces the system clock (e.g. a test's <c>FakeTimeProvider</c>).</summary>
    public static IHost Build(Dictionary<string, string?> settings, TimeProvider? time = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], ContentRootPath = AppContext.BaseDirectory, DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        if (Environment.GetEnvironmentVariable("PARLEY_BOTS_TEST_LOG") == "1")
        {
            // Diagnostics: the bots' log and the XML traffic on the console.
            builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(Environment.GetEnvironmentVariable("PARLEY_BOTS_TEST_TRACE") == "1" ? LogLevel.Trace : LogLevel.Debug);
        }
        builder.AddBotHostOperations();
        if (time is not null)
        {
            builder.Services.AddSingleton(time);
        }

        builder.Services.AddParleyBots(builder.Configuration);
        return builder.Build();
    }

    public static async Task<BotHost> StartAsync(Dictionary<string, string?> settings, TimeProvider? time = null)
    {
        var host = Build(settings, time);
        await host.StartAsync();
        return new BotHost(host);
    }

    public async Task StopAsync(TimeSpan grace)
    {
        using var timeout = new CancellationTokenSource(grace);
        await _host.StopAsync(timeout.Token);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(5));
        if (_host is IAsyncDisposable asyncHost)
        {
            await asyncHost.DisposeAsync();
        }
        else
        {
            _host.Dispose();
        }
    }

    /// <summary>Configuration for one bot on <paramref name="server"/> with a fresh account; returns the account.</summary>
    public static async Task<TestAccount> ConfigureAsync(Dictionary<string, string?> settings, XmppTestServer server, string name, string kind)
    {
        var account = await server.CreateAccountAsync();
        var prefix = $"Parley:Bots:{name}:";
        settings[prefix + "Kind"] = kind;
        settings[prefix + "Jid"] = $"{account.Jid}/bot";
        settings[prefix + "Password"] = account.Password;
        settings[prefix + "Server"] = $"{server.Host}:{server.ClientPort}";
        settings[prefix + "TrustedCertificateSha256:0"] = server.CertificateSha256;
        return account;
    }
}

/// <summary>A person's client: not announcing itself as a bot, online, collecting what it receives.</summary>
internal sealed class Person : IAsyncDisposable
{
    private readonly Channel<Message> _inbox = Channel.CreateUnbounded<Message>();

    private Person(XmppClient client) => Client = client;

    public XmppClient Client { get; }

    public Jid Jid => Client.Jid!;

    public static async Task<Person> ConnectAsync(XmppTestServer server, TestAccount? account = null, bool looksLikeBot = false, Action<XmppClient>? configure = null)
    {
        account ??= await server.CreateAccountAsync();
        var options = server.ClientOptions(account, "desk");
        var client = new XmppClient(options);
        if (!looksLikeBot)
        {
            client.Disco.RemoveIdentity(new DiscoIdentity("client", "bot", options.SoftwareName));
            client.Disco.AddIdentity(new DiscoIdentity("client", "pc", "Test person"));
        }

        configure?.Invoke(client);
        var person = new Person(client);
        client.OnMessage((m, _) =>
        {
            if (m.Body is not null)
            {
                person._inbox.Writer.TryWrite(m);
            }

            return ValueTask.CompletedTask;
        });
        await client.ConnectAsync();
        await client.SendPresenceAsync();
        await client.PingAsync();
        return person;
    }

    public async Task SayAsync(Jid to, string text)
    {
        await Client.SendAsync(new Message(to, text));
        await Client.PingAsync(); // the server has routed it once the ping is answered
    }

    public async Task<Message> NextAsync(double seconds = 20)
    {
        try
        {
            return await _inbox.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(seconds));
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{Jid} received nothing within {seconds} s.");
        }
    }

    public async Task<string> NextBodyAsync(double seconds = 20) => (await NextAsync(seconds)).Body!;

    /// <summary>Asserts nothing (more) arrives: a server round trip plus a short grace for messages in flight.</summary>
    public async Task AssertNothingMoreAsync()
    {
        await Client.PingAsync();
        await Task.Delay(400);
        Assert.False(_inbox.Reader.TryRead(out var extra), $"unexpected message: {extra?.Body}");
    }

    public ValueTask DisposeAsync() => Client.DisposeAsync();
}

internal static class Files
{
    public static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    public static async Task<string> DownloadSha256Async(Uri url)
    {
        using var http = new HttpClient();
        return Sha256(await http.GetByteArrayAsync(url));
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
