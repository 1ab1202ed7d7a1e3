using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Parley.Web.Configuration;
using Parley.Web.Text;

namespace Parley.Web.Xmpp;

/// <summary>The owner's avatar as the gateway serves it: bytes whose type was checked, and the entity tag naming them.</summary>
internal sealed record OwnerAvatar(byte[] Data, string ContentType, string ETag)
{
    public const int MaxBytes = 256 * 1024;

    /// <summary>The avatar for these bytes, or <see langword="null"/> when they are not a PNG, JPEG, GIF or WebP image within the limit.</summary>
    public static OwnerAvatar? Of(ReadOnlySpan<byte> data)
    {
        if (data.Length is 0 or > MaxBytes || ImageTypes.Sniff(data) is not { } type)
        {
            return null;
        }

        return new OwnerAvatar(data.ToArray(), type, "\"" + Convert.ToHexStringLower(SHA256.HashData(data))[..32] + "\"");
    }
}

/// <summary>Who the page says the visitor talks to: the owner's name, avatar and status text.</summary>
internal sealed record OwnerProfileView(string? Name, OwnerAvatar? Avatar, string? Status);

/// <summary>
/// The owner's profile as every page shows it: name and avatar from the owner's XMPP profile (read by
/// <see cref="OwnerProfileReader"/>) unless configuration overrides them (<c>Parley:OwnerName</c>,
/// <c>Parley:OwnerAvatar</c>), and the status text of the owner's presence to the gateway's own address. Kept in
/// memory; a restarted gateway reads the profile again.
/// </summary>
internal sealed class OwnerProfile
{
    public const int MaxNameLength = 64;
    public const int MaxStatusLength = 140;
    private const int MaxResources = 32;

    private readonly Lock _lock = new();
    private readonly string? _nameOverride;
    private readonly OwnerAvatar? _avatarOverride;
    private readonly Dictionary<string, (long Order, string Status)> _statuses = new(StringComparer.Ordinal);
    private long _order;
    private string? _name;
    private OwnerAvatar? _avatar;
    private string? _avatarHash;
    private OwnerProfileView _view;

    public OwnerProfile(IOptions<GatewayOptions> options)
    {
        var settings = options.Value;
        _nameOverride = settings.OwnerName is { Length: > 0 } name ? name : null;
        _avatarOverride = settings.OwnerAvatar is { Length: > 0 } path ? OwnerAvatarFile.Load(path) : null;
        _view = Compose();
    }

    /// <summary>Raised (outside the lock) when what the page shows changed.</summary>
    public event Action? Changed;

    /// <summary>What every page shows now.</summary>
    public OwnerProfileView Current => Volatile.Read(ref _view);

    /// <summary>The SHA-1 the avatar read from the owner's profile was published under; <c>""</c> for none read; <see langword="null"/> before the first read.</summary>
    public string? ProfileAvatarHash
    {
        get
        {
            lock (_lock)
            {
                return _avatarHash;
            }
        }
    }

    /// <summary>Applies what was read from the owner's XMPP profile (name normalized to one line by the library).</summary>
    public void SetFromProfile(string? name, OwnerAvatar? avatar, string avatarHash)
    {
        lock (_lock)
        {
            _name = name is null ? null : Shorten(name, MaxNameLength);
            _avatar = avatar;
            _avatarHash = avatarHash;
        }

        Publish();
    }

    /// <summary>Applies the status text of one of the owner's resources (<see langword="null"/>: unavailable, or no text).</summary>
    public void SetStatus(string resource, string? status)
    {
        lock (_lock)
        {
            if (status is null)
            {
                _statuses.Remove(resource);
            }
            else if (_statuses.Count < MaxResources || _statuses.ContainsKey(resource))
            {
                _statuses[resource] = (++_order, Shorten(status, MaxStatusLength));
            }
        }

        Publish();
    }

    /// <summary>Forgets every status text (the link dropped: nobody knows the owner's presence).</summary>
    public void ClearStatus()
    {
        lock (_lock)
        {
            _statuses.Clear();
        }

        Publish();
    }

    private void Publish()
    {
        OwnerProfileView next;
        lock (_lock)
        {
            next = Compose();
            if (next == _view)
            {
                return;
            }

            _view = next;
        }

        Changed?.Invoke();
    }

    private OwnerProfileView Compose()
    {
        // The most recently set status wins: it is what the owner last said, whichever device said it.
        var status = _statuses.Count == 0 ? null : _statuses.Values.MaxBy(static s => s.Order).Status;
        return new OwnerProfileView(_nameOverride ?? _name, _avatarOverride ?? _avatar, status);
    }

    /// <summary>One line of at most <paramref name="max"/> characters, cut with an ellipsis (never inside a surrogate pair).</summary>
    internal static string Shorten(string text, int max)
    {
        var builder = new StringBuilder(Math.Min(text.Length, max));
        foreach (var c in text)
        {
            var blank = char.IsWhiteSpace(c) || char.IsControl(c) || CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.Format;
            if (!blank || (builder.Length > 0 && builder[^1] != ' '))
            {
                builder.Append(blank ? ' ' : c);
            }

            if (builder.Length > max)
            {
                var cut = max - 1;
                if (char.IsLowSurrogate(builder[cut]))
                {
                    cut--;
                }

                return builder.ToString(0, cut).TrimEnd() + "…";
            }
        }

        return builder.ToString().TrimEnd();
    }
}

/// <summary>The configured avatar file: checked by the options validator, read once when the gateway starts.</summary>
internal static class OwnerAvatarFile
{
    /// <summary>What is wrong with the file, worded to follow the option's name; <see langword="null"/> when it is usable.</summary>
    public static string? Problem(string path)
    {
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                return "must name an existing file.";
            }

            if (info.Length is 0 or > OwnerAvatar.MaxBytes)
            {
                return $"must be an image of at most {OwnerAvatar.MaxBytes / 1024} KiB.";
            }

            return OwnerAvatar.Of(File.ReadAllBytes(path)) is null ? "must be a PNG, JPEG, GIF or WebP image." : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return "cannot be read: " + ex.Message;
        }
    }

    /// <summary>Reads the file (the validator checked it); <see langword="null"/> when it became unusable since.</summary>
    public static OwnerAvatar? Load(string path)
    {
        try
        {
            var info = new FileInfo(path);
            return info.Length is > 0 and <= OwnerAvatar.MaxBytes ? OwnerAvatar.Of(File.ReadAllBytes(path)) : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
