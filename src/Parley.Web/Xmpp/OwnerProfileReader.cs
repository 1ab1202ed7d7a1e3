using Microsoft.Extensions.Options;
using Parley.Web.Configuration;
using Parley.Xmpp.Core;
using Parley.Xmpp.Profiles;
using Parley.Xmpp.Stanzas;

namespace Parley.Web.Xmpp;

/// <summary>
/// Reads the owner's XMPP profile (nickname, avatar) through the link's own address into <see cref="OwnerProfile"/>:
/// when the link connects, when the owner's presence to the gateway announces an avatar other than the one read
/// (XEP-0153) or the owner comes online, and every <c>Parley:OwnerProfileRefresh</c> as a backstop (a new nickname is
/// announced nowhere). One read at a time, at most one a second; a failed read keeps what was shown.
/// </summary>
internal sealed partial class OwnerProfileReader : BackgroundService
{
    private const string PubSubEventNamespace = "http://jabber.org/protocol/pubsub#event";

    private static readonly TimeSpan MinInterval = TimeSpan.FromSeconds(1);

    private readonly VisitorLink _link;
    private readonly OwnerProfile _profile;
    private readonly Jid _owner;
    private readonly TimeSpan _refresh;
    private readonly TimeProvider _time;
    private readonly ILogger<OwnerProfileReader> _logger;
    private readonly SemaphoreSlim _wanted = new(0, 1);

    public OwnerProfileReader(IOptions<GatewayOptions> options, VisitorLink link, OwnerProfile profile, TimeProvider time, ILogger<OwnerProfileReader> logger)
    {
        _link = link;
        _profile = profile;
        _owner = options.Value.OwnerJid;
        _refresh = options.Value.OwnerProfileRefresh;
        _time = time;
        _logger = logger;
        _link.ConnectionChanged += connected =>
        {
            if (connected)
            {
                Request();
            }
            else
            {
                _profile.ClearStatus();
            }
        };
    }

    /// <summary>
    /// The owner's presence to the gateway's own address: its status text is shown, and a read is asked for when it names
    /// an avatar other than the one read, or when <paramref name="cameOnline"/>.
    /// </summary>
    public void OwnerPresenceSeen(Presence presence, bool cameOnline)
    {
        var resource = presence.From?.Resource ?? "";
        if (presence.Type == PresenceType.Available)
        {
            _profile.SetStatus(resource, presence.Status is { } status && !string.IsNullOrWhiteSpace(status) ? status : null);
            var hash = ContactProfiles.PhotoHashOf(presence);
            if (cameOnline || (hash is not null && hash != _profile.ProfileAvatarHash))
            {
                Request();
            }
        }
        else if (presence.Type == PresenceType.Unsubscribed)
        {
            // The owner revoked the gateway's subscription: no presence, so no status, until it is approved again.
            _profile.ClearStatus();
        }
        else
        {
            _profile.SetStatus(resource, null);
        }
    }

    /// <summary>A message from the owner to the gateway's address: a PEP notification of a new nick or avatar asks for a read.</summary>
    public void PepNotified(Message message)
    {
        var node = message.Element("event", PubSubEventNamespace)?.Element("items", PubSubEventNamespace)?.GetAttribute("node");
        if (node is ContactProfiles.NickNamespace or ContactProfiles.AvatarMetadataNamespace)
        {
            Request();
        }
    }

    /// <summary>Asks for a read soon; asks made while one waits are one.</summary>
    public void Request()
    {
        try
        {
            _wanted.Release();
        }
        catch (SemaphoreFullException)
        {
            // A read is already wanted.
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_link.OwnerProfiles is not { } profiles)
        {
            return;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            using (var due = new CancellationTokenSource(_refresh, _time))
            using (var wait = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, due.Token))
            {
                await _wanted.WaitAsync(wait.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }

            if (stoppingToken.IsCancellationRequested)
            {
                return;
            }

            if (_link.IsConnected)
            {
                await ReadAsync(profiles, stoppingToken);
            }

            await Task.Delay(MinInterval, _time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task ReadAsync(ContactProfiles profiles, CancellationToken cancellationToken)
    {
        try
        {
            var name = await ReadPartAsync(() => profiles.GetNicknameAsync(_owner, cancellationToken), "name");
            var avatar = await ReadPartAsync(() => profiles.GetAvatarAsync(_owner, cancellationToken), "avatar");
            OwnerAvatar? shown = null;
            if (avatar is not null && (shown = OwnerAvatar.Of(avatar.Data.Span)) is null)
            {
                Log.AvatarNotShown(_logger, avatar.MediaType, avatar.Data.Length);
            }

            _profile.SetFromProfile(name, shown, avatar?.Sha1 ?? "");
            Log.Read(_logger, name is not null, shown is not null);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
        catch (Exception ex) when (ex is XmppException or TimeoutException)
        {
            // Transport gone or the owner's server refused: keep showing what was read before; the next trigger reads again.
            Log.ReadFailed(_logger, ex.Message);
        }
    }

    /// <summary>One part of the profile; one the owner published against the limits is shown as not there, not as an outage.</summary>
    private async Task<T?> ReadPartAsync<T>(Func<Task<T?>> read, string part)
        where T : class
    {
        try
        {
            return await read();
        }
        catch (ContactProfileException ex)
        {
            Log.PartRefused(_logger, part, ex.Error.ToString(), ex.Message);
            return null;
        }
    }

    public override void Dispose()
    {
        _wanted.Dispose();
        base.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 150, Level = LogLevel.Debug, Message = "Read the owner's profile: name {HasName}, avatar {HasAvatar}")]
        public static partial void Read(ILogger logger, bool hasName, bool hasAvatar);

        [LoggerMessage(EventId = 151, Level = LogLevel.Warning, Message = "Could not read the owner's profile, showing what was read before: {Reason}")]
        public static partial void ReadFailed(ILogger logger, string reason);

        [LoggerMessage(EventId = 152, Level = LogLevel.Warning, Message = "The owner's profile {Part} is not shown ({Error}): {Reason}")]
        public static partial void PartRefused(ILogger logger, string part, string error, string reason);

        [LoggerMessage(EventId = 153, Level = LogLevel.Warning, Message = "The owner's avatar ({MediaType}, {Bytes} bytes) is not shown: only PNG, JPEG, GIF and WebP images are")]
        public static partial void AvatarNotShown(ILogger logger, string mediaType, int bytes);
    }
}
