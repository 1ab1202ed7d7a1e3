using Microsoft.Extensions.Logging;
using Parley.Bots;
using Parley.Xmpp;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;

namespace Parley.Cli;

/// <summary><c>parley send</c> and <c>parley echo</c>.</summary>
internal static class MessageCommands
{
    public static async Task<int> SendAsync(ConnectionArguments connection, Jid to, string text, CliConsole console, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        await using var client = new XmppClient(connection.ToClientOptions(), loggerFactory);
        await client.ConnectAsync(cancellationToken).ConfigureAwait(false);
        await client.SendAsync(new Message(to, text), cancellationToken).ConfigureAwait(false);

        // A ping round trip proves the server processed the message before we close.
        await client.PingAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        await console.Output.WriteLineAsync($"sent to {to}").ConfigureAwait(false);
        return 0;
    }

    public static async Task<int> EchoAsync(ConnectionArguments connection, int? perMinute, CliConsole console, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        var options = connection.ToClientOptions();
        options.Reconnect = new ReconnectPolicy();

        // The same echo bot and message rules as the bot host (Parley.Bots). Run by hand, to try a client or a server,
        // it answers everything unless a limit is asked for.
        var rules = new MessageRules(AllowList.Everyone, perMinute is { } limit ? new SenderRateLimiter(burst: limit, perMinute: limit) : null);
        await using var runner = new BotRunner("echo", new XmppClient(options, loggerFactory), new EchoBot(), rules, loggerFactory);
        await runner.StartAsync(cancellationToken).ConfigureAwait(false);
        await console.Output.WriteLineAsync($"echo bot online as {runner.Client.Jid}; Ctrl-C to stop").ConfigureAwait(false);
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            await console.Output.WriteLineAsync("stopping").ConfigureAwait(false);
        }

        await runner.StopAsync(CancellationToken.None).ConfigureAwait(false);
        return 0;
    }
}
