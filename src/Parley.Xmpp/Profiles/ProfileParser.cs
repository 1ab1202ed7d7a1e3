using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp.Profiles;

/// <summary>Reads vCard-temp, XEP-0084 and XEP-0172 payloads into checked values; never touches the network.</summary>
internal static class ProfileParser
{
    private const int MaxMediaTypeLength = 127;

    /// <summary>A <c>&lt;vCard xmlns='vcard-temp'/&gt;</c> element; an empty one gives a profile with nothing in it.</summary>
    public static VCardProfile ParseVCard(XmppElement vcard, ContactProfileLimits limits)
    {
        var nickname = Name(vcard.ElementText("NICKNAME", ContactProfiles.VCardNamespace), limits);
        var fullName = Name(vcard.ElementText("FN", ContactProfiles.VCardNamespace), limits);
        ContactAvatar? photo = null;
        if (vcard.Element("PHOTO", ContactProfiles.VCardNamespace) is { } element
            && element.ElementText("BINVAL", ContactProfiles.VCardNamespace) is { } binval
            && !string.IsNullOrWhiteSpace(binval))
        {
            var type = MediaType(element.ElementText("TYPE", ContactProfiles.VCardNamespace))
                ?? throw new ContactProfileException(ContactProfileError.InvalidAvatar, "The vCard's PHOTO has no valid TYPE.");
            var data = DecodeBase64(binval, limits.MaxAvatarBytes);
            photo = new ContactAvatar(type, data, Sha1Hex(data));
        }

        return new VCardProfile(nickname, fullName, photo);
    }

    /// <summary>
    /// The avatar to fetch from an XEP-0084 metadata payload: the first <c>info</c> whose data is in PEP (no <c>url</c>).
    /// <see langword="null"/> when the contact disabled their avatar (empty metadata) or every one is elsewhere.
    /// </summary>
    public static (string Id, string MediaType)? ParseAvatarMetadata(XmppElement metadata, ContactProfileLimits limits)
    {
        foreach (var info in metadata.Elements("info", ContactProfiles.AvatarMetadataNamespace))
        {
            if (info.GetAttribute("url") is not null)
            {
                continue;
            }

            var id = info.GetAttribute("id");
            var type = MediaType(info.GetAttribute("type"));
            if (id is null || !IsSha1Hex(id) || type is null)
            {
                throw new ContactProfileException(ContactProfileError.InvalidAvatar, "The avatar metadata has an info without a SHA-1 id or a media type.");
            }

            if (long.TryParse(info.GetAttribute("bytes"), NumberStyles.None, CultureInfo.InvariantCulture, out var bytes) && bytes > limits.MaxAvatarBytes)
            {
                throw new ContactProfileException(ContactProfileError.AvatarTooLarge, $"The avatar has {bytes} bytes; at most {limits.MaxAvatarBytes} are accepted.");
            }

            return (id.ToLowerInvariant(), type);
        }

        return null;
    }

    /// <summary>An XEP-0084 <c>&lt;data/&gt;</c> payload, checked against the id it was published under.</summary>
    public static ContactAvatar ParseAvatarData(XmppElement data, string id, string mediaType, ContactProfileLimits limits)
    {
        var bytes = DecodeBase64(data.Text ?? "", limits.MaxAvatarBytes);
        var sha1 = Sha1Hex(bytes);
        if (!string.Equals(sha1, id, StringComparison.Ordinal))
        {
            throw new ContactProfileException(ContactProfileError.InvalidAvatar, "The avatar data does not match the SHA-1 it was published under.");
        }

        return new ContactAvatar(mediaType, bytes, sha1);
    }

    /// <summary>
    /// A name as one line: control and format characters and line breaks become spaces, runs of white space one space.
    /// <see langword="null"/> for nothing left.
    /// </summary>
    public static string? Name(string? text, ContactProfileLimits limits)
    {
        if (text is null)
        {
            return null;
        }

        // The raw text may be as large as the stanza; refuse early what cannot shrink to the limit by collapsing spaces alone.
        var builder = new StringBuilder(Math.Min(text.Length, limits.MaxNameLength + 1));
        var space = false;
        foreach (var c in text)
        {
            var blank = char.IsWhiteSpace(c) || char.IsControl(c) || CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.Format;
            if (blank)
            {
                space = builder.Length > 0;
                continue;
            }

            if (space)
            {
                builder.Append(' ');
                space = false;
            }

            builder.Append(c);
            if (builder.Length > limits.MaxNameLength)
            {
                throw new ContactProfileException(ContactProfileError.NameTooLong, $"A name is longer than {limits.MaxNameLength} characters.");
            }
        }

        return builder.Length == 0 ? null : builder.ToString();
    }

    /// <summary>Base64 with any white space in it (vCards fold BINVAL into lines), decoded into at most <paramref name="maxBytes"/>.</summary>
    public static byte[] DecodeBase64(string text, int maxBytes)
    {
        // Four characters per three bytes: more characters than that (white space aside) can only decode to more bytes.
        var maxChars = (maxBytes + 2) / 3 * 4;
        var chars = new char[Math.Min(text.Length, maxChars)];
        var count = 0;
        foreach (var c in text)
        {
            if (c is ' ' or '\t' or '\r' or '\n')
            {
                continue;
            }

            if (count == maxChars)
            {
                throw new ContactProfileException(ContactProfileError.AvatarTooLarge, $"The avatar is larger than {maxBytes} bytes.");
            }

            chars[count++] = c;
        }

        var bytes = new byte[count / 4 * 3];
        if (count == 0 || !Convert.TryFromBase64Chars(chars.AsSpan(0, count), bytes, out var written))
        {
            throw new ContactProfileException(ContactProfileError.InvalidAvatar, "The avatar is not valid base64.");
        }

        if (written > maxBytes)
        {
            throw new ContactProfileException(ContactProfileError.AvatarTooLarge, $"The avatar is larger than {maxBytes} bytes.");
        }

        return written == bytes.Length ? bytes : bytes[..written];
    }

    public static string Sha1Hex(ReadOnlySpan<byte> data)
    {
        // SHA-1 is what XEP-0084 and XEP-0153 name avatars by; it identifies, it protects nothing.
#pragma warning disable CA5350
        return Convert.ToHexStringLower(SHA1.HashData(data));
#pragma warning restore CA5350
    }

    /// <summary>An XEP-0153 photo hash: 40 hex digits.</summary>
    public static bool IsSha1Hex(string value) => value.Length == 40 && value.All(char.IsAsciiHexDigit);

    /// <summary>A media type such as <c>image/png</c> (type/subtype tokens), lower case; <see langword="null"/> when it is not one.</summary>
    private static string? MediaType(string? value)
    {
        var type = value?.Trim();
        if (type is not { Length: > 2 and <= MaxMediaTypeLength })
        {
            return null;
        }

        var slash = type.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || slash == type.Length - 1 || type.IndexOf('/', slash + 1) >= 0)
        {
            return null;
        }

        return type.All(static c => char.IsAsciiLetterOrDigit(c) || c is '/' or '.' or '+' or '-' or '_') ? type.ToLowerInvariant() : null;
    }
}
