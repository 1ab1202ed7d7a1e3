using System.Security.Cryptography;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;
using Parley.Web.Configuration;
using Parley.Web.Storage;
using Parley.Xmpp;
using Parley.Xmpp.Core;
using Parley.Xmpp.Xml;
using Parley.Xmpp.Accounts;
using Parley.Xmpp.Stanzas;

namespace Parley.Web.Xmpp;

/// <summary>
/// Account mode: each visitor has a real account on the owner's server, <c>web-&lt;visitor id&gt;@example.org</c>,
/// created on first use (XEP-0133 add-user as an administrator, XEP-0077 registration, or Openfire's REST API) with a random password that is
/// stored only after ASP.NET Data Protection and never leaves the gateway. A visitor who has a tab open, or whose message
/// is being sent, has one client session; <see cref="PresenceTracker"/> closes it once nobody needs it for
/// <see cref="GatewayOptions.PresenceLinger"/> (<see cref="LeaveAsync"/>, <see cref="ReleaseAsync"/>), and the server
/// tells the owner the visitor went away. Replies written meanwhile wait on the server (offline storage)
/// and arrive when the session opens again.
/// </summary>
internal sealed partial class AccountLink : VisitorLink
{
    private const string ProtectorPurpose = "Parley.Web.VisitorAccounts.v1";

    private readonly GatewayOptions.AccountSettings _settings;
    private readonly XmlLimits _xmlLimits;
    private readonly Jid _owner;
    private readonly VisitorRepository _visitors;
    private readonly AccountRepository _accounts;
    private readonly IDataProtector _protector;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly XmppClient? _admin;
    private readonly OpenfireUserApi? _openfire;
    private readonly SemaphoreSlim _adminGate = new(1, 1);
    private readonly Lock _lock = new();
    private readonly Dictionary<string, AccountSession> _sessions = new(StringComparer.Ordinal);
    private volatile bool _lastSessionConnected = true; // registration mode has no permanent connection: the last attempt speaks for the server
    private int _disposed;

    public AccountLink(IOptions<GatewayOptions> options, VisitorRepository visitors, AccountRepository accounts, IDataProtectionProvider dataProtection, ILoggerFactory loggerFactory)
    {
        var gateway = options.Value;
        _settings = gateway.Accounts;
        _xmlLimits = gateway.XmlLimits;
        _owner = gateway.OwnerJid;
        _visitors = visitors;
        _accounts = accounts;
        _protector = dataProtection.CreateProtector(ProtectorPurpose);
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<AccountLink>();
        if (_settings.Provisioning == AccountProvisioning.AdminCommand)
        {
            _admin = new XmppClient(ClientOptions(_settings, _xmlLimits, Jid.Parse(_settings.AdminJid).WithResource("parley-web-admin"), _settings.AdminPassword, reconnect: true), loggerFactory);
        }
        else if (_settings.Provisioning == AccountProvisioning.OpenfireRest)
        {
            var adminUser = Jid.TryParse(_settings.AdminJid, out var admin) ? admin.Local ?? "" : "";
            _openfire = new OpenfireUserApi(new Uri(_settings.RestApiUrl), _settings.RestApiSecret, adminUser, _settings.AdminPassword);
        }
    }

    public override string Name => "accounts on " + _settings.Domain;

    /// <summary>With an administrator account: its connection. Otherwise: whether the last session could connect.</summary>
    public override bool IsConnected => _admin is null ? _lastSessionConnected : _admin.State == XmppConnectionState.Connected;

    public override bool NeedsConnect => _admin?.State == XmppConnectionState.Disconnected;

    public override Jid VisitorJid(string visitorId) => Jid.Create(_settings.UsernamePrefix + visitorId, _settings.Domain);

    public override string? VisitorIdOf(Jid address)
        => address.Local is { } local
            && string.Equals(address.Domain, _settings.Domain, StringComparison.Ordinal)
            && local.StartsWith(_settings.UsernamePrefix, StringComparison.Ordinal)
            && local.Length > _settings.UsernamePrefix.Length
                ? local[_settings.UsernamePrefix.Length..]
                : null;

    /// <summary>Builds the client options of a visitor session or the administrator (also checks the settings).</summary>
    /// <exception cref="FormatException"><see cref="GatewayOptions.AccountSettings.CertificateSha256"/> is not a SHA-256 fingerprint.</exception>
    internal static XmppClientOptions ClientOptions(GatewayOptions.AccountSettings settings, XmlLimits xmlLimits, Jid jid, string password, bool reconnect)
    {
        var options = new XmppClientOptions
        {
            XmlLimits = xmlLimits,
            Jid = jid,
            Password = password,
            Host = settings.Host.Length > 0 ? settings.Host : null,
            Port = settings.Host.Length > 0 ? settings.Port : null,
            Reconnect = reconnect ? new ReconnectPolicy() : ReconnectPolicy.Disabled,
            SoftwareName = "Parley web gateway",
        };
        if (settings.CertificateSha256.Length > 0)
        {
            options.TrustCertificate(settings.CertificateSha256);
        }

        return options;
    }

    public override Task ConnectAsync(CancellationToken cancellationToken) => _admin?.ConnectAsync(cancellationToken) ?? Task.CompletedTask;

    public override async Task<bool> AnnounceAsync(Visitor visitor, CancellationToken cancellationToken)
        => await OpenAsync(visitor.Id, cancellationToken) is not null;

    public override async Task LeaveAsync(string visitorId, CancellationToken cancellationToken)
    {
        AccountSession? session;
        lock (_lock)
        {
            if (!_sessions.Remove(visitorId, out session))
            {
                return;
            }
        }

        await CloseAsync(session);
    }

    /// <summary>Closes the session opened to send (no tab announced the visitor): the same as leaving.</summary>
    public override Task ReleaseAsync(string visitorId, CancellationToken cancellationToken) => LeaveAsync(visitorId, cancellationToken);

    public override async Task<bool> TrySendAsync(string visitorId, Stanza stanza, bool openSession, CancellationToken cancellationToken)
    {
        // A session whose connection dropped keeps what it sent unconfirmed until ConfirmSentAsync: it is not replaced
        // before that, so a new session never carries a visitor's later message ahead of an earlier one.
        var session = openSession && Find(visitorId) is not { HasUnconfirmed: true } ? await OpenAsync(visitorId, cancellationToken) : Find(visitorId);
        if (session?.Client is not { State: XmppConnectionState.Connected } client)
        {
            return false;
        }

        stanza.From = null; // the server stamps the session's full JID
        try
        {
            if (openSession)
            {
                session.MarkUnconfirmed(client); // what the outbox sends is confirmed; typing notifications are not
            }

            await client.SendAsync(stanza, cancellationToken);
            RaiseSessionUsed(visitorId);
            return true;
        }
        catch (Exception ex) when (ex is XmppTransportException)
        {
            Log.SendDeferred(_logger, visitorId, ex.Message);
            return false;
        }
    }

    public override async Task<IReadOnlyCollection<string>> ConfirmSentAsync(IReadOnlyCollection<string> visitorIds, CancellationToken cancellationToken)
    {
        var confirmations = visitorIds.Select(async visitorId =>
        {
            // Every client that carried the visitor's stanzas since the last confirmation must confirm them.
            if (Find(visitorId) is not { } session)
            {
                return null;
            }

            try
            {
                foreach (var client in session.TakeUnconfirmed())
                {
                    await client.ConfirmSentAsync(cancellationToken);
                }

                return visitorId;
            }
            catch (XmppTransportException ex)
            {
                Log.NotConfirmed(_logger, visitorId, ex.Message);
                return null;
            }
        });
        return [.. (await Task.WhenAll(confirmations)).OfType<string>()];
    }

    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        AccountSession[] sessions;
        lock (_lock)
        {
            sessions = [.. _sessions.Values];
            _sessions.Clear();
        }

        foreach (var session in sessions)
        {
            await CloseAsync(session);
        }

        if (_admin is not null)
        {
            await _admin.DisposeAsync();
        }

        _adminGate.Dispose();
        _openfire?.Dispose();
    }

    private AccountSession? Find(string visitorId)
    {
        lock (_lock)
        {
            return _sessions.GetValueOrDefault(visitorId);
        }
    }

    /// <summary>The visitor's connected session, opening it (and creating the account) when needed; null when that failed now.</summary>
    private async Task<AccountSession?> OpenAsync(string visitorId, CancellationToken cancellationToken)
    {
        AccountSession session;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed != 0, this);
            if (!_sessions.TryGetValue(visitorId, out session!))
            {
                session = new AccountSession();
                _sessions.Add(visitorId, session);
            }
        }

        await session.Gate.WaitAsync(cancellationToken);
        try
        {
            if (session.Client is { State: XmppConnectionState.Connected })
            {
                RaiseSessionUsed(visitorId);
                return session;
            }

            if (session.Client is { } stale)
            {
                session.Client = null;
                await stale.DisposeAsync();
            }

            session.Client = await ConnectSessionAsync(visitorId, cancellationToken);
            RaiseSessionUsed(visitorId);
            _lastSessionConnected = session.Client is not null;
            return session.Client is null ? null : session;
        }
        finally
        {
            session.Gate.Release();
        }
    }

    private async Task<XmppClient?> ConnectSessionAsync(string visitorId, CancellationToken cancellationToken)
    {
        var visitor = await _visitors.FindAsync(visitorId, cancellationToken);
        if (visitor is null)
        {
            return null;
        }

        var account = await _accounts.FindAsync(visitorId, cancellationToken)
            ?? await _accounts.GetOrAddAsync(visitorId, VisitorJid(visitorId).ToString(), _protector.Protect(NewPassword()), cancellationToken);
        var jid = Jid.Parse(account.Jid);
        var password = _protector.Unprotect(account.ProtectedPassword);
        try
        {
            if (!account.Provisioned)
            {
                await ProvisionAsync(jid, password, visitor.DisplayName, cancellationToken);
                await _accounts.MarkProvisionedAsync(visitorId, cancellationToken);
            }

            XmppClient client;
            try
            {
                client = await StartClientAsync(visitor, jid, password, cancellationToken);
            }
            catch (XmppAuthenticationException) when (_settings.Provisioning != AccountProvisioning.Registration)
            {
                // The server lost or changed the account (restored from a backup, reset by an administrator): set it again.
                Log.Reprovisioning(_logger, jid.ToString());
                await ProvisionAsync(jid, password, visitor.DisplayName, cancellationToken);
                client = await StartClientAsync(visitor, jid, password, cancellationToken);
            }

            Log.SessionOpened(_logger, visitorId, jid.ToString());
            return client;
        }
        catch (Exception ex) when (ex is XmppException or TimeoutException)
        {
            Log.SessionFailed(_logger, visitorId, jid.ToString(), ex);
            return null;
        }
    }

    private async Task<XmppClient> StartClientAsync(Visitor visitor, Jid jid, string password, CancellationToken cancellationToken)
    {
        var client = new XmppClient(ClientOptions(_settings, _xmlLimits, jid.WithResource(_settings.Resource), password, reconnect: true), _loggerFactory);
        try
        {
            client.Disco.AddFeature(XmppNamespaces.Receipts);
            client.Disco.AddFeature(XmppNamespaces.ChatStates);
            client.Disco.AddFeature(ChatMarkers.Namespace);
            client.OnMessage(OnMessageAsync);
            client.OnPresence(OnPresenceAsync);
            client.StateChanged += (_, e) =>
            {
                if (e.NewState == XmppConnectionState.Disconnected && Find(visitor.Id)?.Client == client)
                {
                    // Reconnecting failed for good; the gateway announces the visitor again if a tab is still open.
                    lock (_lock)
                    {
                        _sessions.Remove(visitor.Id);
                    }

                    RaiseVisitorLost(visitor.Id);
                }
            };
            await client.ConnectAsync(cancellationToken);

            // The broadcast presence carries the visitor's name (XEP-0172); the server also asks the owner's presence for us.
            var available = new Presence();
            available.Add(Nick(visitor.DisplayName));
            await client.SendAsync(available, cancellationToken);
            return client;
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    private async Task ProvisionAsync(Jid jid, string password, string displayName, CancellationToken cancellationToken)
    {
        if (_openfire is not null)
        {
            await _openfire.CreateOrSetPasswordAsync(jid.Local!, password, displayName, cancellationToken);
            Log.Provisioned(_logger, jid.ToString());
            return;
        }

        if (_admin is null)
        {
            var registration = new XmppRegistrationOptions { Domain = jid.Domain, Username = jid.Local!, Password = password, Host = _settings.Host.Length > 0 ? _settings.Host : null };
            if (_settings.Host.Length > 0)
            {
                registration.Port = _settings.Port;
            }

            if (_settings.CertificateSha256.Length > 0)
            {
                registration.TrustCertificate(_settings.CertificateSha256);
            }

            await XmppAccountRegistration.RegisterAsync(registration, _loggerFactory, cancellationToken);
            return;
        }

        await _adminGate.WaitAsync(cancellationToken);
        try
        {
            if (_admin.State == XmppConnectionState.Disconnected)
            {
                await _admin.ConnectAsync(cancellationToken);
            }

            var administration = new ServiceAdministration(_admin);
            try
            {
                await administration.AddUserAsync(jid, password, cancellationToken);
            }
            catch (XmppAccountException ex) when (ex.Reason == AccountErrorReason.UsernameTaken)
            {
                // Made earlier by this gateway (the name holds the visitor's random id), but the record of it was lost.
                await administration.ChangeUserPasswordAsync(jid, password, cancellationToken);
            }
        }
        finally
        {
            _adminGate.Release();
        }

        Log.Provisioned(_logger, jid.ToString());
    }

    private static async Task CloseAsync(AccountSession session)
    {
        await session.Gate.WaitAsync();
        try
        {
            if (session.Client is { } client)
            {
                session.Client = null;

                // Disposing ends the stream: the server broadcasts the visitor's unavailable presence to the owner.
                await client.DisposeAsync();
            }
        }
        finally
        {
            session.Gate.Release();
        }
    }

    // 32 random bytes, URL-safe base64: well within every server's password rules and SASLprep-clean.
    private static string NewPassword()
        => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static partial class Log
    {
        [LoggerMessage(EventId = 120, Level = LogLevel.Information, Message = "Created the XMPP account {Jid}")]
        public static partial void Provisioned(ILogger logger, string jid);

        [LoggerMessage(EventId = 121, Level = LogLevel.Debug, Message = "Visitor {Visitor} is online as {Jid}")]
        public static partial void SessionOpened(ILogger logger, string visitor, string jid);

        [LoggerMessage(EventId = 122, Level = LogLevel.Warning, Message = "Visitor {Visitor}'s session as {Jid} could not open; retrying later")]
        public static partial void SessionFailed(ILogger logger, string visitor, string jid, Exception error);

        [LoggerMessage(EventId = 123, Level = LogLevel.Warning, Message = "The server refused the password of {Jid}; setting it again")]
        public static partial void Reprovisioning(ILogger logger, string jid);

        [LoggerMessage(EventId = 124, Level = LogLevel.Debug, Message = "Visitor {Visitor}'s session could not send now: {Reason}")]
        public static partial void SendDeferred(ILogger logger, string visitor, string reason);

        [LoggerMessage(EventId = 125, Level = LogLevel.Warning, Message = "The server did not confirm visitor {Visitor}'s messages; they are sent again: {Reason}")]
        public static partial void NotConfirmed(ILogger logger, string visitor, string reason);
    }
}
