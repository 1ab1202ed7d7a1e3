using System.Security.Cryptography;
using Parley.Xmpp.Profiles;
using Parley.Xmpp.Tests.Accounts;

namespace Parley.Xmpp.Tests.Profiles;

public sealed class ContactProfilesUnitTests
{
    private static readonly ContactProfileLimits Limits = new() { MaxAvatarBytes = 64, MaxNameLength = 10 };

    private static byte[] Bytes(int count) => [.. Enumerable.Range(0, count).Select(i => (byte)(i * 7))];

    private static string Sha1(byte[] data) => Convert.ToHexStringLower(SHA1.HashData(data));

    [Fact]
    public void A_vcard_gives_nickname_full_name_and_a_folded_photo_decoded_with_its_sha1()
    {
        var photo = Bytes(60);
        var base64 = Convert.ToBase64String(photo);
        var folded = base64[..30] + "\n  " + base64[30..];
        var vcard = TestXml.Parse($"""
            <vCard xmlns='vcard-temp'>
              <FN>  Alex
                Ex </FN>
              <NICKNAME>Alex&#9;B&#x200B;</NICKNAME>
              <PHOTO><TYPE> IMAGE/PNG </TYPE><BINVAL>{folded}</BINVAL></PHOTO>
            </vCard>
            """);

        var profile = ProfileParser.ParseVCard(vcard, Limits);

        Assert.Equal("Alex B", profile.Nickname);
        Assert.Equal("Alex Ex", profile.FullName);
        Assert.Equal("image/png", profile.Photo!.MediaType);
        Assert.Equal(photo, profile.Photo.Data.ToArray());
        Assert.Equal(Sha1(photo), profile.Photo.Sha1);
    }

    [Fact]
    public void An_empty_vcard_has_nothing_and_a_photo_link_alone_is_not_fetched()
    {
        var profile = ProfileParser.ParseVCard(TestXml.Parse("<vCard xmlns='vcard-temp'><PHOTO><EXTVAL>https://x.example/a.png</EXTVAL></PHOTO></vCard>"), Limits);
        Assert.Equal(new VCardProfile(null, null, null), profile);
    }

    [Theory]
    [InlineData("<NICKNAME>Elevenchars</NICKNAME>", ContactProfileError.NameTooLong)]
    [InlineData("<PHOTO><TYPE>image/png</TYPE><BINVAL>not base64!</BINVAL></PHOTO>", ContactProfileError.InvalidAvatar)]
    [InlineData("<PHOTO><TYPE>png</TYPE><BINVAL>AAAA</BINVAL></PHOTO>", ContactProfileError.InvalidAvatar)]
    [InlineData("<PHOTO><BINVAL>AAAA</BINVAL></PHOTO>", ContactProfileError.InvalidAvatar)]
    public void A_vcard_breaking_a_limit_or_the_spec_is_refused_with_the_reason(string content, ContactProfileError error)
    {
        var ex = Assert.Throws<ContactProfileException>(() => ProfileParser.ParseVCard(TestXml.Parse($"<vCard xmlns='vcard-temp'>{content}</vCard>"), Limits));
        Assert.Equal(error, ex.Error);
    }

    [Theory]
    [InlineData(64, null)]
    [InlineData(65, ContactProfileError.AvatarTooLarge)]
    [InlineData(200, ContactProfileError.AvatarTooLarge)]
    public void Decoding_stops_at_the_avatar_limit(int size, ContactProfileError? error)
    {
        var text = Convert.ToBase64String(Bytes(size));
        if (error is null)
        {
            Assert.Equal(size, ProfileParser.DecodeBase64(text, 64).Length);
        }
        else
        {
            Assert.Equal(error, Assert.Throws<ContactProfileException>(() => ProfileParser.DecodeBase64(text, 64)).Error);
        }
    }

    [Fact]
    public void Avatar_metadata_picks_the_first_image_stored_in_pep_and_an_empty_one_means_disabled()
    {
        var id = Sha1(Bytes(10));
        var metadata = TestXml.Parse($"""
            <metadata xmlns='urn:xmpp:avatar:metadata'>
              <info bytes='9000' id='{new string('a', 40)}' type='image/png' url='https://x.example/big.png'/>
              <info bytes='10' id='{id.ToUpperInvariant()}' type='image/webp'/>
            </metadata>
            """);
        Assert.Equal((id, "image/webp"), ProfileParser.ParseAvatarMetadata(metadata, Limits));
        Assert.Null(ProfileParser.ParseAvatarMetadata(TestXml.Parse("<metadata xmlns='urn:xmpp:avatar:metadata'/>"), Limits));
    }

    [Fact]
    public void Avatar_metadata_declaring_too_many_bytes_is_refused_before_the_data_is_fetched()
    {
        var metadata = TestXml.Parse($"<metadata xmlns='urn:xmpp:avatar:metadata'><info bytes='65' id='{new string('b', 40)}' type='image/png'/></metadata>");
        Assert.Equal(ContactProfileError.AvatarTooLarge, Assert.Throws<ContactProfileException>(() => ProfileParser.ParseAvatarMetadata(metadata, Limits)).Error);
    }

    [Fact]
    public void Avatar_data_must_match_the_hash_it_was_published_under()
    {
        var bytes = Bytes(20);
        var data = TestXml.Parse($"<data xmlns='urn:xmpp:avatar:data'>{Convert.ToBase64String(bytes)}</data>");
        Assert.Equal(bytes, ProfileParser.ParseAvatarData(data, Sha1(bytes), "image/png", Limits).Data.ToArray());
        var ex = Assert.Throws<ContactProfileException>(() => ProfileParser.ParseAvatarData(data, new string('c', 40), "image/png", Limits));
        Assert.Equal(ContactProfileError.InvalidAvatar, ex.Error);
    }

    [Theory]
    [InlineData("<presence xmlns='jabber:client'/>", null)]
    [InlineData("<presence xmlns='jabber:client'><x xmlns='vcard-temp:x:update'/></presence>", null)]
    [InlineData("<presence xmlns='jabber:client'><x xmlns='vcard-temp:x:update'><photo/></x></presence>", "")]
    [InlineData("<presence xmlns='jabber:client'><x xmlns='vcard-temp:x:update'><photo>not-a-hash</photo></x></presence>", null)]
    [InlineData("<presence xmlns='jabber:client'><x xmlns='vcard-temp:x:update'><photo> 01B307ACBA4F54F55AAFC33BB06BBBF6CA803E9A </photo></x></presence>", "01b307acba4f54f55aafc33bb06bbbf6ca803e9a")]
    public void The_presence_photo_hash_says_changed_no_avatar_or_nothing(string xml, string? expected)
        => Assert.Equal(expected, ContactProfiles.PhotoHashOf(Assert.IsType<Presence>(TestXml.Parse(xml))));

    [Fact]
    public void Arbitrary_vcard_text_gives_a_checked_profile_or_a_ContactProfileException_and_nothing_else()
    {
        var random = new Random(20261208);
        const string Alphabet = "AQgw+/=  \n\tzZ09-_.!é\u200B\u0001";
        for (var round = 0; round < 2000; round++)
        {
            var binval = new string([.. Enumerable.Range(0, random.Next(0, 120)).Select(_ => Alphabet[random.Next(Alphabet.Length)])]);
            var name = new string([.. Enumerable.Range(0, random.Next(0, 20)).Select(_ => Alphabet[random.Next(Alphabet.Length)])]);
            var vcard = new XmppElement("vCard", ContactProfiles.VCardNamespace);
            vcard.AddChild("NICKNAME", ContactProfiles.VCardNamespace, name);
            var photo = vcard.AddChild("PHOTO", ContactProfiles.VCardNamespace);
            photo.AddChild("TYPE", ContactProfiles.VCardNamespace, "image/png");
            photo.AddChild("BINVAL", ContactProfiles.VCardNamespace, binval);
            try
            {
                var profile = ProfileParser.ParseVCard(vcard, Limits);
                Assert.True(profile.Nickname is null || (profile.Nickname.Length <= Limits.MaxNameLength && profile.Nickname.Trim() == profile.Nickname));
                Assert.True(profile.Photo is null || (profile.Photo.Data.Length is > 0 and <= 64 && profile.Photo.Sha1 == Sha1(profile.Photo.Data.ToArray())));
            }
            catch (ContactProfileException)
            {
                // Refused with a reason: the only other outcome allowed.
            }
        }
    }

    [Fact]
    public void Limits_out_of_range_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ContactProfileLimits { MaxAvatarBytes = 0 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new ContactProfileLimits { MaxNameLength = 5000 }.Validate());
    }
}
