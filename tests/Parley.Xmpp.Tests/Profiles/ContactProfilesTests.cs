using Parley.Testing;
using Parley.Xmpp.Profiles;

namespace Parley.Xmpp.Tests.Profiles;

/// <summary>
/// A contact's profile as real servers serve it: a vCard-temp stored by Prosody's mod_vcard_legacy and ejabberd's
/// mod_vcard read by another account, and a PEP avatar and nick (Prosody's mod_pep) read by a component.
/// </summary>
[Collection(ServerFixture.CollectionName)]
public sealed class ContactProfilesTests(ServerFixture servers)
{
    public static TheoryData<string> Kinds => Servers.Kinds;

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_vcard_set_by_its_owner_is_read_by_another_account(string kind)
    {
        var server = await servers.GetAsync(kind);
        await using var owner = await ConnectAsync(server);
        await using var reader = await ConnectAsync(server);
        var png = TestImages.Png(32, (30, 64, 175), (250, 204, 21));
        await owner.SendIqAsync(new Iq(IqType.Set, null, VCard("Alex Example", "Alex", png)));

        var profiles = new ContactProfiles(reader);
        var vcard = await profiles.GetVCardAsync(owner.Jid!);
        Assert.NotNull(vcard);
        Assert.Equal("Alex", vcard.Nickname);
        Assert.Equal("Alex Example", vcard.FullName);
        Assert.Equal("image/png", vcard.Photo?.MediaType);
        Assert.Equal(png, vcard.Photo?.Data.ToArray());
        Assert.Equal("Alex", await profiles.GetNicknameAsync(owner.Jid!));
        Assert.Equal(png, (await profiles.GetAvatarAsync(owner.Jid!))?.Data.ToArray());
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task An_account_without_a_profile_has_no_nickname_and_no_avatar(string kind)
    {
        var server = await servers.GetAsync(kind);
        await using var owner = await ConnectAsync(server);
        await using var reader = await ConnectAsync(server);
        var profiles = new ContactProfiles(reader);
        Assert.Null(await profiles.GetNicknameAsync(owner.Jid!));
        Assert.Null(await profiles.GetAvatarAsync(owner.Jid!));
    }

    [Fact]
    public async Task A_pep_avatar_and_nick_are_read_by_a_component_and_their_limits_hold()
    {
        var server = await servers.GetAsync(Servers.Prosody);
        await using var owner = await ConnectAsync(server);
        var png = TestImages.Png(48, (15, 118, 110), (255, 255, 255));
        await PublishAsync(owner, ContactProfiles.NickNamespace, "current", new XmppElement("nick", ContactProfiles.NickNamespace) { Text = "Alex from PEP" });
        await PublishAvatarAsync(owner, png);

        await using var component = new XmppComponent(new XmppComponentOptions
        {
            Domain = server.ComponentDomain,
            Secret = server.ComponentSecret,
            Host = server.Host,
            Port = server.ComponentPort,
        });
        await component.ConnectAsync();
        var profiles = new ContactProfiles(component);
        Assert.Equal("Alex from PEP", await profiles.GetNicknameAsync(owner.Jid!));
        var avatar = await profiles.GetAvatarAsync(owner.Jid!);
        Assert.Equal(png, avatar?.Data.ToArray());
        Assert.Equal(ProfileParser.Sha1Hex(png), avatar?.Sha1);

        var strict = new ContactProfiles(component, new ContactProfileLimits { MaxAvatarBytes = png.Length - 1, MaxNameLength = 5 });
        Assert.Equal(ContactProfileError.AvatarTooLarge, (await Assert.ThrowsAsync<ContactProfileException>(() => strict.GetAvatarAsync(owner.Jid!))).Error);
        Assert.Equal(ContactProfileError.NameTooLong, (await Assert.ThrowsAsync<ContactProfileException>(() => strict.GetNicknameAsync(owner.Jid!))).Error);

        // Empty metadata disables the avatar (XEP-0084 4.5).
        await PublishAsync(owner, ContactProfiles.AvatarMetadataNamespace, "current", new XmppElement("metadata", ContactProfiles.AvatarMetadataNamespace));
        Assert.Null(await profiles.GetAvatarAsync(owner.Jid!));
    }

    internal static XmppElement VCard(string? fullName, string? nickname, byte[]? png)
    {
        var vcard = new XmppElement("vCard", ContactProfiles.VCardNamespace);
        if (fullName is not null)
        {
            vcard.AddChild("FN", ContactProfiles.VCardNamespace, fullName);
        }

        if (nickname is not null)
        {
            vcard.AddChild("NICKNAME", ContactProfiles.VCardNamespace, nickname);
        }

        if (png is not null)
        {
            var photo = vcard.AddChild("PHOTO", ContactProfiles.VCardNamespace);
            photo.AddChild("TYPE", ContactProfiles.VCardNamespace, "image/png");
            photo.AddChild("BINVAL", ContactProfiles.VCardNamespace, Convert.ToBase64String(png, Base64FormattingOptions.InsertLineBreaks));
        }

        return vcard;
    }

    /// <summary>Publishes an XEP-0084 avatar as a client does: the data first, then the metadata naming it, both open to anybody.</summary>
    internal static async Task PublishAvatarAsync(XmppEndpoint owner, byte[] png)
    {
        var id = ProfileParser.Sha1Hex(png);
        await PublishAsync(owner, ContactProfiles.AvatarDataNamespace, id, new XmppElement("data", ContactProfiles.AvatarDataNamespace) { Text = Convert.ToBase64String(png) });
        var metadata = new XmppElement("metadata", ContactProfiles.AvatarMetadataNamespace);
        metadata.AddChild("info", ContactProfiles.AvatarMetadataNamespace)
            .SetAttribute("bytes", png.Length.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .SetAttribute("id", id)
            .SetAttribute("type", "image/png");
        await PublishAsync(owner, ContactProfiles.AvatarMetadataNamespace, id, metadata);
    }

    internal static async Task PublishAsync(XmppEndpoint owner, string node, string itemId, XmppElement payload)
    {
        const string PubSub = "http://jabber.org/protocol/pubsub";
        var pubsub = new XmppElement("pubsub", PubSub);
        pubsub.AddChild("publish", PubSub).SetAttribute("node", node).AddChild("item", PubSub).SetAttribute("id", itemId).Add(payload);
        var form = pubsub.AddChild("publish-options", PubSub).AddChild("x", XmppNamespaces.DataForms);
        form.SetAttribute("type", "submit");
        AddField(form, "FORM_TYPE", "http://jabber.org/protocol/pubsub#publish-options").SetAttribute("type", "hidden");
        AddField(form, "pubsub#access_model", "open");
        await owner.SendIqAsync(new Iq(IqType.Set, null, pubsub));
    }

    private static XmppElement AddField(XmppElement form, string name, string value)
    {
        var field = form.AddChild("field", XmppNamespaces.DataForms).SetAttribute("var", name);
        field.AddChild("value", XmppNamespaces.DataForms, value);
        return field;
    }

    private static async Task<XmppClient> ConnectAsync(XmppTestServer server)
    {
        var account = await server.CreateAccountAsync();
        var client = new XmppClient(server.ClientOptions(account, resource: "profile"));
        await client.ConnectAsync();
        return client;
    }
}
