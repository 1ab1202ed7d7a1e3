using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp.Profiles;

/// <summary>
/// Who a contact says they are: their nickname and avatar from PEP (XEP-0172 nick, XEP-0084 avatar), else from their
/// vCard-temp (XEP-0054), fetched with IQs from a client or a component. Every value is checked against
/// <see cref="ContactProfileLimits"/>; the XEP-0153 photo hash in a presence tells when the avatar changed.
/// </summary>
/// <remarks>
/// Stateless apart from its endpoint and limits: safe to use from several tasks at once, and nothing is cached. A
/// contact's server answers PEP queries only from those allowed to see the node (by default, those subscribed to the
/// contact's presence); anything not there or not visible counts as not published.
/// </remarks>
/// <example>
/// <code>
/// var profiles = new ContactProfiles(client);
/// var name = await profiles.GetNicknameAsync(Jid.Parse("alex@example.org"));
/// var avatar = await profiles.GetAvatarAsync(Jid.Parse("alex@example.org"));
/// </code>
/// </example>
public sealed class ContactProfiles
{
    /// <summary>The vCard-temp namespace (XEP-0054).</summary>
    public const string VCardNamespace = "vcard-temp";

    /// <summary>The XEP-0153 namespace of the photo hash in presence (<c>vcard-temp:x:update</c>).</summary>
    public const string VCardUpdateNamespace = "vcard-temp:x:update";

    /// <summary>The XEP-0084 metadata node and namespace (<c>urn:xmpp:avatar:metadata</c>).</summary>
    public const string AvatarMetadataNamespace = "urn:xmpp:avatar:metadata";

    /// <summary>The XEP-0084 data node and namespace (<c>urn:xmpp:avatar:data</c>).</summary>
    public const string AvatarDataNamespace = "urn:xmpp:avatar:data";

    /// <summary>The XEP-0172 node and namespace (<c>http://jabber.org/protocol/nick</c>).</summary>
    public const string NickNamespace = "http://jabber.org/protocol/nick";

    private const string PubSubNamespace = "http://jabber.org/protocol/pubsub";

    // What servers answer for a node or vCard that is not there, or not visible to the asker: nothing published.
    private static readonly HashSet<string> s_absent = new(StringComparer.Ordinal)
    {
        "item-not-found", "service-unavailable", "feature-not-implemented", "forbidden", "not-authorized", "not-allowed", "registration-required",
    };

    private readonly XmppEndpoint _endpoint;
    private readonly ContactProfileLimits _limits;

    /// <summary>Creates the reader for an endpoint (a component sends its queries from its domain).</summary>
    /// <param name="endpoint">The client or component that sends the queries.</param>
    /// <param name="limits">The limits on what contacts publish; defaults when <see langword="null"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">A limit is out of range.</exception>
    public ContactProfiles(XmppEndpoint endpoint, ContactProfileLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        _endpoint = endpoint;
        _limits = limits ?? new ContactProfileLimits();
        _limits.Validate();
    }

    /// <summary>
    /// The contact's XEP-0153 photo hash in a presence: lower-case hex, <c>""</c> when the contact has no avatar, and
    /// <see langword="null"/> when the presence does not say (no <c>vcard-temp:x:update</c>, no <c>photo</c>, or not a hash).
    /// </summary>
    /// <param name="presence">A presence from the contact.</param>
    public static string? PhotoHashOf(Presence presence)
    {
        ArgumentNullException.ThrowIfNull(presence);
        var photo = presence.Element("x", VCardUpdateNamespace)?.Element("photo", VCardUpdateNamespace);
        if (photo is null)
        {
            return null;
        }

        var hash = photo.Text?.Trim() ?? "";
        return hash.Length == 0 ? "" : ProfileParser.IsSha1Hex(hash) ? hash.ToLowerInvariant() : null;
    }

    /// <summary>The contact's vCard-temp; <see langword="null"/> when they have none (or it is not visible).</summary>
    /// <param name="contact">The contact (their bare JID is asked).</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <exception cref="ContactProfileException">The vCard breaks the limits, or its photo is not valid.</exception>
    /// <exception cref="XmppStanzaException">The contact's server answered with another error.</exception>
    /// <exception cref="TimeoutException">No answer in time.</exception>
    /// <exception cref="XmppNotConnectedException">The endpoint is not connected.</exception>
    public async Task<VCardProfile?> GetVCardAsync(Jid contact, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(contact);
        var answer = await QueryAsync(new Iq(IqType.Get, contact.Bare, new XmppElement("vCard", VCardNamespace)), cancellationToken).ConfigureAwait(false);
        return answer?.Element("vCard", VCardNamespace) is { } vcard ? ProfileParser.ParseVCard(vcard, _limits) : null;
    }

    /// <summary>
    /// The contact's nickname: their XEP-0172 nick from PEP, else their vCard's NICKNAME, else its FN, as one line;
    /// <see langword="null"/> when none is published.
    /// </summary>
    /// <param name="contact">The contact.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <exception cref="ContactProfileException">The name is longer than <see cref="ContactProfileLimits.MaxNameLength"/>, or the vCard is invalid.</exception>
    /// <exception cref="XmppStanzaException">The contact's server answered with another error.</exception>
    /// <exception cref="TimeoutException">No answer in time.</exception>
    /// <exception cref="XmppNotConnectedException">The endpoint is not connected.</exception>
    public async Task<string?> GetNicknameAsync(Jid contact, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(contact);
        var item = await GetLatestItemAsync(contact, NickNamespace, null, cancellationToken).ConfigureAwait(false);
        if (ProfileParser.Name(item?.Element("nick", NickNamespace)?.Text, _limits) is { } nick)
        {
            return nick;
        }

        var vcard = await GetVCardAsync(contact, cancellationToken).ConfigureAwait(false);
        return vcard?.Nickname ?? vcard?.FullName;
    }

    /// <summary>
    /// The contact's avatar: the XEP-0084 avatar from PEP (the first one stored there rather than at a URL), else their
    /// vCard's PHOTO; <see langword="null"/> when none is published (or the contact disabled theirs in PEP).
    /// </summary>
    /// <param name="contact">The contact.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <exception cref="ContactProfileException">The avatar is too large, not valid base64, or does not match its hash.</exception>
    /// <exception cref="XmppStanzaException">The contact's server answered with another error.</exception>
    /// <exception cref="TimeoutException">No answer in time.</exception>
    /// <exception cref="XmppNotConnectedException">The endpoint is not connected.</exception>
    public async Task<ContactAvatar?> GetAvatarAsync(Jid contact, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(contact);
        var metadata = (await GetLatestItemAsync(contact, AvatarMetadataNamespace, null, cancellationToken).ConfigureAwait(false))
            ?.Element("metadata", AvatarMetadataNamespace);
        if (metadata is not null)
        {
            // Published but empty: the contact disabled their avatar (XEP-0084 4.5); their old vCard photo is not shown either.
            if (ProfileParser.ParseAvatarMetadata(metadata, _limits) is not { } chosen)
            {
                return null;
            }

            var data = (await GetLatestItemAsync(contact, AvatarDataNamespace, chosen.Id, cancellationToken).ConfigureAwait(false))
                ?.Element("data", AvatarDataNamespace);
            if (data is not null)
            {
                return ProfileParser.ParseAvatarData(data, chosen.Id, chosen.MediaType, _limits);
            }
        }

        return (await GetVCardAsync(contact, cancellationToken).ConfigureAwait(false))?.Photo;
    }

    /// <summary>A PEP node's latest item (or the item with <paramref name="itemId"/>); <see langword="null"/> when there is none.</summary>
    private async Task<XmppElement?> GetLatestItemAsync(Jid contact, string node, string? itemId, CancellationToken cancellationToken)
    {
        var pubsub = new XmppElement("pubsub", PubSubNamespace);
        var items = pubsub.AddChild("items", PubSubNamespace).SetAttribute("node", node);
        if (itemId is null)
        {
            items.SetAttribute("max_items", "1");
        }
        else
        {
            items.AddChild("item", PubSubNamespace).SetAttribute("id", itemId);
        }

        var answer = await QueryAsync(new Iq(IqType.Get, contact.Bare, pubsub), cancellationToken).ConfigureAwait(false);
        var found = answer?.Element("pubsub", PubSubNamespace)?.Element("items", PubSubNamespace)?.Elements("item", PubSubNamespace);

        // max_items is a hint: a server that returns several puts the newest last (XEP-0060 6.5.7).
        var item = itemId is null ? found?.LastOrDefault() : found?.FirstOrDefault(i => string.Equals(i.GetAttribute("id"), itemId, StringComparison.OrdinalIgnoreCase));
        return item;
    }

    /// <summary>The IQ's result; <see langword="null"/> when the answer means "nothing there for you".</summary>
    private async Task<Iq?> QueryAsync(Iq request, CancellationToken cancellationToken)
    {
        try
        {
            return await _endpoint.SendIqAsync(request, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (XmppStanzaException ex) when (s_absent.Contains(ex.Condition))
        {
            return null;
        }
    }
}
