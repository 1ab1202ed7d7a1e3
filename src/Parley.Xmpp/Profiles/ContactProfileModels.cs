using Parley.Xmpp.Core;

namespace Parley.Xmpp.Profiles;

/// <summary>A contact's avatar: the image bytes, the media type the contact declared and the SHA-1 that names it.</summary>
/// <param name="MediaType">The media type as declared (e.g. <c>image/png</c>), lower case; not checked against the bytes.</param>
/// <param name="Data">The image.</param>
/// <param name="Sha1">The SHA-1 of <paramref name="Data"/>, lower-case hex: the id XEP-0084 and XEP-0153 use for it.</param>
public sealed record ContactAvatar(string MediaType, ReadOnlyMemory<byte> Data, string Sha1);

/// <summary>What a contact's vCard-temp (XEP-0054) says about who they are.</summary>
/// <param name="Nickname">NICKNAME, normalized to one line.</param>
/// <param name="FullName">FN, normalized to one line.</param>
/// <param name="Photo">PHOTO (TYPE and BINVAL); a PHOTO with only an EXTVAL link is not fetched and gives <see langword="null"/>.</param>
public sealed record VCardProfile(string? Nickname, string? FullName, ContactAvatar? Photo);

/// <summary>The limits <see cref="ContactProfiles"/> applies to what a contact publishes.</summary>
public sealed class ContactProfileLimits
{
    /// <summary>
    /// The largest avatar accepted, in decoded bytes; default 128 KiB. Base64 makes the stanza a third larger, and the
    /// stanza must also fit the connection's stanza limit (256 KiB by default).
    /// </summary>
    public int MaxAvatarBytes { get; init; } = 128 * 1024;

    /// <summary>The longest nickname or full name accepted, in UTF-16 code units after normalizing; default 128.</summary>
    public int MaxNameLength { get; init; } = 128;

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxAvatarBytes, 1, nameof(MaxAvatarBytes));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxAvatarBytes, 8 * 1024 * 1024, nameof(MaxAvatarBytes));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxNameLength, 1, nameof(MaxNameLength));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxNameLength, 4096, nameof(MaxNameLength));
    }
}

/// <summary>What was wrong with a contact's published profile.</summary>
public enum ContactProfileError
{
    /// <summary>The avatar is larger than <see cref="ContactProfileLimits.MaxAvatarBytes"/> (declared or decoded).</summary>
    AvatarTooLarge,
    /// <summary>The avatar is not valid base64, has no media type, or does not match the hash it was published under.</summary>
    InvalidAvatar,
    /// <summary>A nickname or full name is longer than <see cref="ContactProfileLimits.MaxNameLength"/>.</summary>
    NameTooLong,
}

/// <summary>
/// A contact published profile data that breaks the limits or the specification. An error the contact's server
/// answered is an <see cref="Stanzas.XmppStanzaException"/> instead; a profile that is simply not there is no error.
/// </summary>
public sealed class ContactProfileException : XmppException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="error">What was wrong.</param>
    /// <param name="message">What happened, for people.</param>
    public ContactProfileException(ContactProfileError error, string message)
        : base(message) => Error = error;

    /// <summary>What was wrong.</summary>
    public ContactProfileError Error { get; }
}
