using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Parley.Bots.Reports;
using Parley.Xmpp;
using Parley.Xmpp.Core;
using Parley.Xmpp.FileTransfer;

namespace Parley.Bots.Hosting;

/// <summary>Builds runners (client + bot + rules) from validated options.</summary>
internal static class BotFactory
{
    public static Regex ProjectRegex(string pattern) =>
        new($"^(?:{pattern})$", RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100));

    public static BotRunner Create(string name, BotOptions options, string stateDirectory, HttpClient http, ILoggerFactory loggerFactory, TimeProvider time, BotMetrics metrics)
    {
        var client = new XmppClient(ClientOptions(options), loggerFactory);
        var rules = new MessageRules(AllowList.Parse(options.AllowedSenders), new SenderRateLimiter(options.RateLimit.Burst, options.RateLimit.PerMinute, time), options.AnswerOfflineMessages);
        Bot bot = options.Kind switch
        {
            BotKind.Echo => new EchoBot(),
            BotKind.AutoReply => new AutoReplyBot(options.AutoReply, new AutoReplyStore(Path.Combine(stateDirectory, $"{SafeName(name)}.autoreply.json"))),
            BotKind.Report => new ReportBot(ProjectRegex(options.Report.ProjectPattern), ReportSource(options.Report, http), ReportDelivery(client, options.Report, loggerFactory), options.Report.MaxConcurrentRequests)
            {
                LinksInRooms = options.Report.LinksInRooms,
            },
            _ => throw new ArgumentOutOfRangeException(nameof(options), options.Kind, "Unknown bot kind."),
        };
        return new BotRunner(name, client, bot, rules, loggerFactory, time, metrics)
        {
            Rooms = [.. options.Rooms.Select(r => new BotRoom(Jid.Parse(r.Jid), r.Nick, r.Password))],
            CommandPrefix = options.CommandPrefix.Length == 0 ? null : options.CommandPrefix,
        };
    }

    public static XmppClientOptions ClientOptions(BotOptions options)
    {
        var password = options.Password ?? File.ReadAllText(options.PasswordFile!).TrimEnd('\r', '\n');
        var client = new XmppClientOptions
        {
            Jid = Jid.Parse(options.Jid),
            Password = password,
            Tls = options.DirectTls ? TlsMode.DirectTls : TlsMode.StartTlsRequired,
            Reconnect = new ReconnectPolicy(),
            SoftwareName = "Parley bots",
        };
        if (options.Server is { } server && ServerAddress.TryParse(server, out var host, out var port))
        {
            client.Host = host;
            client.Port = port;
        }

        foreach (var fingerprint in options.TrustedCertificateSha256)
        {
            client.TrustCertificate(fingerprint);
        }

        return client;
    }

    /// <summary>File transfer with a link fallback when enabled, else the link only. The manager joins the client now so its features are in the caps from the first presence.</summary>
    private static Func<BotContext, IReportDelivery> ReportDelivery(XmppClient client, ReportOptions options, ILoggerFactory loggerFactory)
    {
        if (!options.FileTransfer)
        {
            return context => new HttpUploadReportDelivery(context.Client);
        }

        var transferOptions = new FileTransferOptions { Socks5PortMin = options.StreamhostPort, Socks5PortMax = options.StreamhostPort };
        foreach (var address in options.StreamhostAddresses)
        {
            transferOptions.Socks5AdvertisedHosts.Add(address);
        }

        var manager = client.AddExtension(new FileTransferManager(transferOptions, loggerFactory));
        return context => new FileTransferReportDelivery(manager, new HttpUploadReportDelivery(context.Client));
    }

    private static IReportSource ReportSource(ReportOptions options, HttpClient http)
    {
        if (options.Folder is { } folder)
        {
            return new FolderReportSource(folder, options.FileName);
        }

        var secret = options.Secret ?? (options.SecretFile is { } file ? File.ReadAllText(file).TrimEnd('\r', '\n') : null);
        return new HttpReportSource(options.UrlTemplate!, http, options.Timeout, options.MaxBytes, (options.Authentication, options.UserName, secret), options.FileName);
    }

    private static string SafeName(string name) => string.Concat(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_'));
}
