using Microsoft.Extensions.Options;
using Parley.Web.Api;
using Parley.Web.Configuration;
using Parley.Web.Text;
using Parley.Web.Xmpp;
using Parley.Xmpp.Core;
using Parley.Xmpp.Xml;

namespace Parley.Web;

/// <summary>Checks the options at start-up, so a wrong setting stops the gateway with a message instead of failing later.</summary>
internal sealed class GatewayOptionsValidator : IValidateOptions<GatewayOptions>
{
    public ValidateOptionsResult Validate(string? name, GatewayOptions options)
    {
        var errors = new List<string>();
        if (!Jid.TryParse(options.Owner, out var owner) || owner.Local is null)
        {
            errors.Add($"{GatewayOptions.Section}:Owner must be the owner's JID (user@example.org), got '{options.Owner}'.");
        }

        if (options.Mode == GatewayMode.Account)
        {
            ValidateAccounts(options.Accounts, errors);
        }
        else
        {
            ValidateComponent(options.Component, errors);
        }

        if (GatewayOptions.DatabaseSettings.IsPostgres(options.Database.Provider))
        {
            ValidatePostgres(options.Database.ConnectionString, errors);
        }
        else if (!GatewayOptions.DatabaseSettings.IsSqlite(options.Database.Provider))
        {
            errors.Add($"{GatewayOptions.Section}:Database:Provider must be {GatewayOptions.DatabaseSettings.Sqlite} or {GatewayOptions.DatabaseSettings.PostgreSql}, got '{options.Database.Provider}'.");
        }
        else if (string.IsNullOrWhiteSpace(options.DatabasePath))
        {
            errors.Add($"{GatewayOptions.Section}:DatabasePath is required.");
        }

        if (options.Guests.PerMinute is < 1 or > 10_000)
        {
            errors.Add($"{GatewayOptions.Section}:Guests:PerMinute must be 1-10000.");
        }

        if (options.MessagesPerMinute is < 1 or > 10_000)
        {
            errors.Add($"{GatewayOptions.Section}:MessagesPerMinute must be 1-10000.");
        }

        if (options.MaxMessageLength is < 1 or > 100_000)
        {
            errors.Add($"{GatewayOptions.Section}:MaxMessageLength must be 1-100000.");
        }

        if (options.MaxStreamsPerVisitor is < 1 or > 100)
        {
            errors.Add($"{GatewayOptions.Section}:MaxStreamsPerVisitor must be 1-100.");
        }

        if (options.PresenceLinger < TimeSpan.Zero || options.PresenceLinger > TimeSpan.FromHours(1))
        {
            errors.Add($"{GatewayOptions.Section}:PresenceLinger must be between 0 and 1 hour.");
        }

        if (options.MaxSkippedStanzaBytes is < 256 * 1024 or > 64 * 1024 * 1024)
        {
            errors.Add($"{GatewayOptions.Section}:MaxSkippedStanzaBytes must be 262144-67108864 (256 KiB to 64 MiB): a server forwards stanzas of up to 256 KiB from any of its users.");
        }

        ValidateWidget(options.Widget, errors);

        if (options.Files.MaxBytes is < 1 or > 1L << 30)
        {
            errors.Add($"{GatewayOptions.Section}:Files:MaxBytes must be 1 byte to 1 GiB.");
        }

        if (options.PublicUrl.Length > 0 && (!Uri.TryCreate(options.PublicUrl, UriKind.Absolute, out var publicUrl)
            || publicUrl.Scheme is not ("http" or "https") || publicUrl.Query.Length > 0 || publicUrl.Fragment.Length > 0 || publicUrl.UserInfo.Length > 0))
        {
            errors.Add($"{GatewayOptions.Section}:PublicUrl must be the gateway's http(s) address such as https://chat.example.org, got '{options.PublicUrl}'.");
        }

        if (options.Admins.Count > 100)
        {
            errors.Add($"{GatewayOptions.Section}:Admins may list at most 100 JIDs.");
        }

        foreach (var admin in options.Admins)
        {
            if (!Jid.TryParse(admin, out var adminJid) || adminJid.Local is null || adminJid.Resource is not null)
            {
                errors.Add($"{GatewayOptions.Section}:Admins must hold bare JIDs (user@example.org), got '{admin}'.");
            }
        }

        if (options.AddressBlockTime < TimeSpan.FromMinutes(1) || options.AddressBlockTime > TimeSpan.FromDays(365))
        {
            errors.Add($"{GatewayOptions.Section}:AddressBlockTime must be between 1 minute and 365 days.");
        }

        if (options.ActiveVisitorWindow < TimeSpan.FromMinutes(1) || options.ActiveVisitorWindow > TimeSpan.FromDays(30))
        {
            errors.Add($"{GatewayOptions.Section}:ActiveVisitorWindow must be between 1 minute and 30 days.");
        }

        if (options.OwnerName.Length > 64 || !TextRules.IsXmlSafe(options.OwnerName) || options.OwnerName.Any(char.IsControl))
        {
            errors.Add($"{GatewayOptions.Section}:OwnerName must be at most 64 characters of text on one line.");
        }

        if (options.OwnerAvatar.Length > 0 && OwnerAvatarFile.Problem(options.OwnerAvatar) is { } avatarProblem)
        {
            errors.Add($"{GatewayOptions.Section}:OwnerAvatar {avatarProblem}");
        }

        if (options.OwnerProfileRefresh < TimeSpan.FromSeconds(1) || options.OwnerProfileRefresh > TimeSpan.FromDays(1))
        {
            errors.Add($"{GatewayOptions.Section}:OwnerProfileRefresh must be between 1 second and 1 day.");
        }

        if (options.OfflineAutoReply.Length > 1000 || !TextRules.IsXmlSafe(options.OfflineAutoReply))
        {
            errors.Add($"{GatewayOptions.Section}:OfflineAutoReply must be at most 1000 characters of text.");
        }

        if (options.OfflineAutoReplyPeriod < TimeSpan.FromSeconds(1) || options.OfflineAutoReplyPeriod > TimeSpan.FromDays(30))
        {
            errors.Add($"{GatewayOptions.Section}:OfflineAutoReplyPeriod must be between 1 second and 30 days.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void ValidateComponent(GatewayOptions.ComponentSettings component, List<string> errors)
    {
        if (!Jid.TryParse(component.Domain, out var domain) || domain.Local is not null || domain.Resource is not null)
        {
            errors.Add($"{GatewayOptions.Section}:Component:Domain must be a bare domain such as chat.example.org, got '{component.Domain}'.");
        }

        if (string.IsNullOrEmpty(component.Secret))
        {
            errors.Add($"{GatewayOptions.Section}:Component:Secret is required (the component secret configured on the XMPP server).");
        }

        if (string.IsNullOrWhiteSpace(component.Host))
        {
            errors.Add($"{GatewayOptions.Section}:Component:Host is required.");
        }

        if (component.Port is < 1 or > 65535)
        {
            errors.Add($"{GatewayOptions.Section}:Component:Port must be 1-65535, got {component.Port}.");
        }
    }

    private static void ValidateAccounts(GatewayOptions.AccountSettings accounts, List<string> errors)
    {
        const string Prefix = $"{GatewayOptions.Section}:Accounts:";
        if (!Jid.TryParse(accounts.Domain, out var domain) || domain.Local is not null || domain.Resource is not null)
        {
            errors.Add($"{Prefix}Domain must be the owner's server domain such as example.org, got '{accounts.Domain}'.");
        }

        if (accounts.Port is < 1 or > 65535)
        {
            errors.Add($"{Prefix}Port must be 1-65535, got {accounts.Port}.");
        }

        if (accounts.CertificateSha256.Length > 0)
        {
            try
            {
                AccountLink.ClientOptions(accounts, XmlLimits.Default, Jid.Create("check", "example.org"), "check", reconnect: false);
            }
            catch (FormatException)
            {
                errors.Add($"{Prefix}CertificateSha256 must be a SHA-256 fingerprint: 64 hexadecimal digits, colons allowed.");
            }
        }

        var hasAdmin = Jid.TryParse(accounts.AdminJid, out var admin) && admin.Local is not null && !string.IsNullOrEmpty(accounts.AdminPassword);
        if (accounts.Provisioning == AccountProvisioning.AdminCommand && !hasAdmin)
        {
            errors.Add($"{Prefix}AdminJid and {Prefix}AdminPassword are required to create accounts with XEP-0133 (or set {Prefix}Provisioning to Registration).");
        }

        if (accounts.Provisioning == AccountProvisioning.OpenfireRest)
        {
            if (!OpenfireUserApi.IsAcceptableBaseUrl(accounts.RestApiUrl))
            {
                errors.Add($"{Prefix}RestApiUrl must be the REST API plugin's address, https (or http to this machine), e.g. http://127.0.0.1:9090/plugins/restapi/v1/.");
            }

            if (accounts.RestApiSecret.Length == 0 && !hasAdmin)
            {
                errors.Add($"{Prefix}RestApiSecret (the plugin's shared secret) or {Prefix}AdminJid and {Prefix}AdminPassword (HTTP Basic) are required for Openfire's REST API.");
            }

            if (accounts.RestApiSecret.Length > 1024 || accounts.RestApiSecret.Any(char.IsControl))
            {
                errors.Add($"{Prefix}RestApiSecret must be at most 1024 characters, without control characters.");
            }
        }

        if (accounts.UsernamePrefix.Length > 32 || !accounts.UsernamePrefix.All(static c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_' or '.'))
        {
            errors.Add($"{Prefix}UsernamePrefix must be at most 32 lower-case letters, digits, '-', '_' or '.'.");
        }

        if (string.IsNullOrWhiteSpace(accounts.Resource) || accounts.Resource.Length > 64)
        {
            errors.Add($"{Prefix}Resource must be 1-64 characters.");
        }
    }

    private static void ValidatePostgres(string connectionString, List<string> errors)
    {
        const string Setting = $"{GatewayOptions.Section}:Database:ConnectionString";
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            errors.Add($"{Setting} is required with provider {GatewayOptions.DatabaseSettings.PostgreSql}.");
            return;
        }

        try
        {
            if (string.IsNullOrEmpty(new Npgsql.NpgsqlConnectionStringBuilder(connectionString).Host))
            {
                errors.Add($"{Setting} must name a Host.");
            }
        }
        catch (ArgumentException error)
        {
            // The message names the bad keyword; the string itself may hold a password, so it is not quoted.
            errors.Add($"{Setting} is not a valid connection string: {error.Message}");
        }
    }

    private static void ValidateWidget(GatewayOptions.WidgetSettings widget, List<string> errors)
    {
        const string Prefix = $"{GatewayOptions.Section}:Widget:";
        if (widget.AllowedOrigins.Count > 50)
        {
            errors.Add($"{Prefix}AllowedOrigins takes at most 50 origins.");
        }

        foreach (var origin in widget.AllowedOrigins)
        {
            if (WidgetApi.NormalizeOrigin(origin) is null)
            {
                errors.Add($"{Prefix}AllowedOrigins: '{origin}' is not an origin such as https://www.example.com (scheme, host and port only).");
            }
        }

        if (widget.Sites.Count > 50)
        {
            errors.Add($"{Prefix}Sites takes at most 50 sites.");
        }

        var hosts = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var site in widget.Sites)
        {
            if (!WidgetApi.IsSiteName(site.Host) || !hosts.Add(site.Host))
            {
                errors.Add($"{Prefix}Sites: '{site.Host}' must be a unique host name (letters, digits, '.', '-', ':', at most 253 characters).");
            }

            if (site.Secret.Length < 32 || site.Secret.Length > 1024)
            {
                errors.Add($"{Prefix}Sites: the secret of '{site.Host}' must be 32 to 1024 characters.");
            }
        }

        if (widget.Sites.Count > 0 && widget.AllowedOrigins.Count == 0)
        {
            // A site's token is accepted only inside a frame on an allowed origin: without one it could never be used.
            errors.Add($"{Prefix}Sites needs {Prefix}AllowedOrigins: a site signs its users in only inside the widget's frame on its pages.");
        }

        if (widget.TokenLifetime < TimeSpan.FromSeconds(10) || widget.TokenLifetime > TimeSpan.FromHours(24))
        {
            errors.Add($"{Prefix}TokenLifetime must be between 10 seconds and 24 hours.");
        }
    }
}
