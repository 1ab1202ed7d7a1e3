using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Parley.Bots.Reports;

namespace Parley.Bots.Hosting;

/// <summary>Checks the bot configuration at start-up, so mistakes stop the host with a clear message instead of failing later.</summary>
internal sealed class BotHostOptionsValidator : IValidateOptions<BotHostOptions>
{
    public ValidateOptionsResult Validate(string? name, BotHostOptions options)
    {
        var errors = new List<string>();
        if (options.Bots.Count == 0 || !options.Bots.Values.Any(b => b.Enabled))
        {
            errors.Add("No bot is configured: add one under Parley:Bots (see README.md).");
        }

        foreach (var (botName, bot) in options.Bots)
        {
            if (!bot.Enabled)
            {
                continue;
            }

            void Error(string text) => errors.Add($"Parley:Bots:{botName}: {text}");
            if (!Xmpp.Core.Jid.TryParse(bot.Jid, out var jid) || jid.Local is null)
            {
                Error($"Jid '{bot.Jid}' is not an account address (user@domain[/resource]).");
            }

            if ((bot.Password is null) == (bot.PasswordFile is null))
            {
                Error("set exactly one of Password and PasswordFile.");
            }
            else if (bot.PasswordFile is { } file && !File.Exists(file))
            {
                Error($"PasswordFile '{file}' does not exist.");
            }

            if (bot.Server is { } server && !ServerAddress.TryParse(server, out _, out _))
            {
                Error($"Server '{server}' is not host[:port].");
            }

            foreach (var fingerprint in bot.TrustedCertificateSha256)
            {
                var hex = fingerprint.Replace(":", string.Empty, StringComparison.Ordinal);
                if (hex.Length != 64 || !hex.All(char.IsAsciiHexDigit))
                {
                    Error($"TrustedCertificateSha256 '{fingerprint}' is not 64 hex digits.");
                }
            }

            try
            {
                AllowList.Parse(bot.AllowedSenders);
            }
            catch (FormatException ex)
            {
                Error($"AllowedSenders: {ex.Message}");
            }

            if (bot.RateLimit.Burst < 1 || bot.RateLimit.PerMinute <= 0)
            {
                Error("RateLimit needs Burst ≥ 1 and PerMinute > 0.");
            }

            ValidateRooms(bot, Error);
            switch (bot.Kind)
            {
                case BotKind.AutoReply:
                    if (string.IsNullOrWhiteSpace(bot.AutoReply.Text))
                    {
                        Error("AutoReply:Text is empty.");
                    }

                    if (bot.AutoReply.Period <= TimeSpan.Zero || bot.AutoReply.DiscoTimeout <= TimeSpan.Zero)
                    {
                        Error("AutoReply:Period and AutoReply:DiscoTimeout must be positive.");
                    }

                    break;
                case BotKind.Report:
                    ValidateReport(bot.Report, Error);
                    break;
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>The most rooms one bot joins.</summary>
    internal const int MaxRoomsPerBot = 100;

    private static void ValidateRooms(BotOptions bot, Action<string> error)
    {
        if (bot.Rooms.Count > MaxRoomsPerBot)
        {
            error($"Rooms: at most {MaxRoomsPerBot} rooms per bot.");
        }

        if (bot.CommandPrefix.Length > Bots.RoomAddressing.MaxPrefixLength || bot.CommandPrefix.Any(char.IsWhiteSpace))
        {
            error($"CommandPrefix '{bot.CommandPrefix}' must be at most {Bots.RoomAddressing.MaxPrefixLength} characters without spaces (empty: none).");
        }

        var seen = new HashSet<Xmpp.Core.Jid>();
        for (var i = 0; i < bot.Rooms.Count; i++)
        {
            var room = bot.Rooms[i];
            if (!Xmpp.Core.Jid.TryParse(room.Jid, out var jid) || jid.Local is null || !jid.IsBare)
            {
                error($"Rooms:{i}:Jid '{room.Jid}' is not a room address (room@service, no resource).");
            }
            else if (!seen.Add(jid))
            {
                error($"Rooms:{i}:Jid '{room.Jid}' is listed twice.");
            }
            else if (string.IsNullOrWhiteSpace(room.Nick) || room.Nick.Length > Xmpp.Muc.RoomJoinOptions.MaxNickLength || !Xmpp.Core.Jid.TryParse($"{jid}/{room.Nick}", out _))
            {
                error($"Rooms:{i}:Nick '{room.Nick}' must be a nickname of 1 to {Xmpp.Muc.RoomJoinOptions.MaxNickLength} characters.");
            }

            if (room.Password is { Length: > Xmpp.Muc.RoomJoinOptions.MaxPasswordLength })
            {
                error($"Rooms:{i}:Password is longer than {Xmpp.Muc.RoomJoinOptions.MaxPasswordLength} characters.");
            }
        }
    }

    private static void ValidateReport(ReportOptions report, Action<string> error)
    {
        try
        {
            _ = BotFactory.ProjectRegex(report.ProjectPattern);
        }
        catch (ArgumentException ex)
        {
            error($"Report:ProjectPattern is not a valid regular expression: {ex.Message}");
        }

        if ((report.Folder is null) == (report.UrlTemplate is null))
        {
            error("Report: set exactly one of Folder and UrlTemplate.");
        }

        if (report.Folder is { } folder && !Directory.Exists(folder))
        {
            error($"Report:Folder '{folder}' does not exist.");
        }

        if (report.UrlTemplate is { } template && (!template.Contains("{project}", StringComparison.Ordinal)
            || !Uri.TryCreate(template.Replace("{project}", "0", StringComparison.Ordinal), UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps)))
        {
            error($"Report:UrlTemplate '{template}' is not an absolute http(s) URL containing {{project}}.");
        }

        if (!report.FileName.Contains("{project}", StringComparison.Ordinal) || ReportFileNames.Build(report.FileName, "1") is null)
        {
            error($"Report:FileName '{report.FileName}' must be a plain file name containing {{project}}.");
        }

        if (report.Timeout <= TimeSpan.Zero || report.MaxBytes < 1 || report.MaxConcurrentRequests < 1)
        {
            error("Report:Timeout, MaxBytes and MaxConcurrentRequests must be positive.");
        }

        if (report.Authentication != HttpAuthenticationKind.None && report.Secret is null && report.SecretFile is null)
        {
            error($"Report:Authentication {report.Authentication} needs Secret or SecretFile.");
        }

        if (report.Authentication == HttpAuthenticationKind.Basic && string.IsNullOrEmpty(report.UserName))
        {
            error("Report:Authentication Basic needs UserName.");
        }

        if (report.SecretFile is { } secretFile && !File.Exists(secretFile))
        {
            error($"Report:SecretFile '{secretFile}' does not exist.");
        }

        if (report.StreamhostPort is < 0 or > 65535)
        {
            error($"Report:StreamhostPort {report.StreamhostPort} must be 0..65535 (0: any free port).");
        }

        if (report.StreamhostAddresses.Count > 16 || report.StreamhostAddresses.Any(a => string.IsNullOrWhiteSpace(a) || a.Length > 255 || a.Any(char.IsWhiteSpace)))
        {
            error("Report:StreamhostAddresses must be at most 16 host names or IP addresses.");
        }
    }
}

/// <summary>Parses <c>host</c>, <c>host:port</c> and <c>[v6]:port</c>.</summary>
internal static class ServerAddress
{
    public static bool TryParse(string value, out string host, out int? port)
    {
        host = string.Empty;
        port = null;
        string portText;
        if (value.StartsWith('['))
        {
            var close = value.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                return false;
            }

            host = value[1..close];
            portText = value[(close + 1)..].TrimStart(':');
        }
        else
        {
            var colon = value.LastIndexOf(':');
            host = colon < 0 ? value : value[..colon];
            portText = colon < 0 ? string.Empty : value[(colon + 1)..];
        }

        if (portText.Length > 0)
        {
            if (!int.TryParse(portText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var p) || p is < 1 or > 65535)
            {
                return false;
            }

            port = p;
        }

        return host.Length > 0;
    }
}
