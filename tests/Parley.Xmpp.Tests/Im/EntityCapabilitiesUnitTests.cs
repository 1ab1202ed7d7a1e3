using Parley.Xmpp.Im;

namespace Parley.Xmpp.Tests.Im;

public sealed class EntityCapabilitiesUnitTests
{
    private const string PeerNode = "https://client.example";
    private static readonly Jid BobPhone = Jid.Parse("bob@example.net/phone");
    private static readonly Jid BobLaptop = Jid.Parse("bob@example.net/laptop");

    [Fact]
    public void Simple_generation_example_of_XEP_0115_section_5_2()
    {
        var info = new DiscoInfo(
            [new DiscoIdentity("client", "pc", "Exodus 0.9.1")],
            new HashSet<string> { "http://jabber.org/protocol/muc", "http://jabber.org/protocol/disco#info", "http://jabber.org/protocol/caps", "http://jabber.org/protocol/disco#items" },
            []);

        Assert.Equal("QgayPKawpkPSDYmwT/WM94uAlu0=", EntityCapabilities.ComputeVer(info));
    }

    [Fact]
    public void Complex_generation_example_of_XEP_0115_section_5_3()
    {
        var query = ComplexExampleQuery();

        Assert.True(CapsHash.TryCompute(query, "sha-1", out var ver, out var problem), problem);
        Assert.Equal("q07IKJEyjvHSyhy//CH0CxmKi8w=", ver);
        Assert.Equal("q07IKJEyjvHSyhy//CH0CxmKi8w=", EntityCapabilities.ComputeVer(DiscoInfo.Parse(query)));
    }

    [Fact]
    public void Ill_formed_answers_are_rejected_as_section_5_4_says()
    {
        var duplicateFeature = ComplexExampleQuery();
        duplicateFeature.AddChild("feature").SetAttribute("var", "http://jabber.org/protocol/muc");
        var duplicateIdentity = ComplexExampleQuery();
        duplicateIdentity.Add(Identity("client", "pc", "Psi 0.11", "en"));
        var duplicateFormType = ComplexExampleQuery();
        duplicateFormType.Add(SoftwareInfoForm("hidden", "urn:xmpp:dataforms:softwareinfo"));
        var twoFormTypeValues = new XmppElement("query", XmppNamespaces.DiscoInfo);
        twoFormTypeValues.Add(SoftwareInfoForm("hidden", "urn:a", "urn:b"));

        Assert.False(CapsHash.TryCompute(duplicateFeature, "sha-1", out _, out _));
        Assert.False(CapsHash.TryCompute(duplicateIdentity, "sha-1", out _, out _));
        Assert.False(CapsHash.TryCompute(duplicateFormType, "sha-1", out _, out _));
        Assert.False(CapsHash.TryCompute(twoFormTypeValues, "sha-1", out _, out _));
    }

    [Fact]
    public void Forms_without_a_hidden_FORM_TYPE_are_left_out_of_the_hash()
    {
        var withoutForm = ComplexExampleQuery();
        withoutForm.Remove(withoutForm.Element("x", XmppNamespaces.DataForms)!);
        Assert.True(CapsHash.TryCompute(withoutForm, "sha-1", out var expected, out _));
        var notHidden = withoutForm.Clone();
        notHidden.Add(SoftwareInfoForm("text-single", "urn:xmpp:dataforms:softwareinfo"));

        Assert.True(CapsHash.TryCompute(notHidden, "sha-1", out var ver, out _));
        Assert.Equal(expected, ver);
    }

    [Fact]
    public void Sorting_is_by_code_point_not_by_UTF_16_unit()
    {
        // U+FF21 sorts after U+1F600 in UTF-16 ordinal order (0xFF21 > 0xD83D), but before it in i;octet (UTF-8) order.
        var a = new DiscoInfo([], new HashSet<string> { "urn:\uFF21", "urn:\U0001F600" }, []);

        Assert.True(CapsHash.TryCompute(a.Identities, a.Features, a.Extensions, "sha-1", out var ver, out _));
        Assert.Equal(Sha1Base64("urn:\uFF21<urn:\U0001F600<"), ver);
    }

    [Fact]
    public async Task Our_ver_is_computed_from_what_disco_announces_and_follows_changes()
    {
        await using var offline = new OfflineClient();
        var caps = offline.Client.Capabilities;
        var disco = offline.Client.Disco;

        Assert.Contains(XmppNamespaces.Caps, disco.Features);
        Assert.Equal(EntityCapabilities.DefaultNode, caps.Current.Node);
        Assert.Equal("sha-1", caps.Current.Hash);
        Assert.Equal(EntityCapabilities.ComputeVer(disco.GetOwnInfo()), caps.Current.Ver);
        var before = caps.Current.Ver;

        disco.AddFeature("urn:example:new-feature");

        Assert.NotEqual(before, caps.Current.Ver);
        Assert.Equal(EntityCapabilities.ComputeVer(disco.GetOwnInfo()), caps.Current.Ver);
        disco.RemoveFeature("urn:example:new-feature");
        Assert.Equal(before, caps.Current.Ver);
    }

    [Fact]
    public async Task Broadcast_presence_is_decorated_with_our_caps_once()
    {
        await using var offline = new OfflineClient();
        var caps = offline.Client.Capabilities;
        caps.Node = "https://bot.example";

        await offline.Client.SendPresenceAsync(PresenceShow.Away, "busy");
        var presence = Assert.IsType<Presence>(Assert.Single(offline.Sent));
        caps.Decorate(presence);

        var c = Assert.Single(presence.Elements("c", XmppNamespaces.Caps));
        Assert.Equal("sha-1", c.GetAttribute("hash"));
        Assert.Equal("https://bot.example", c.GetAttribute("node"));
        Assert.Equal(caps.Current.Ver, c.GetAttribute("ver"));
    }

    [Fact]
    public async Task Node_must_be_a_sensible_value()
    {
        await using var offline = new OfflineClient();

        Assert.Throws<ArgumentException>(() => offline.Client.Capabilities.Node = "");
        Assert.Throws<ArgumentException>(() => offline.Client.Capabilities.Node = new string('n', 2000));
    }

    [Fact]
    public async Task Disco_info_for_our_current_caps_node_is_answered_and_an_old_one_is_not()
    {
        await using var offline = new OfflineClient();
        var own = offline.Client.Capabilities.Current;

        var current = await offline.RequestAsync(DiscoQuery($"{own.Node}#{own.Ver}"));
        var stale = await offline.RequestAsync(DiscoQuery($"{own.Node}#AAAAAAAAAAAAAAAAAAAAAAAAAAA="));

        Assert.Equal(IqType.Result, current.Type);
        var query = current.Element("query", XmppNamespaces.DiscoInfo)!;
        Assert.Equal($"{own.Node}#{own.Ver}", query.GetAttribute("node"));
        Assert.True(CapsHash.TryCompute(query, "sha-1", out var ver, out _));
        Assert.Equal(own.Ver, ver); // what we answer is what we hashed
        Assert.Equal("item-not-found", stale.Error!.Condition);
    }

    [Fact]
    public async Task A_verified_answer_is_cached_and_serves_other_resources_with_the_same_ver()
    {
        await using var offline = new OfflineClient();
        var caps = offline.Client.Capabilities;
        var ver = EntityCapabilities.ComputeVer(DiscoInfo.Parse(ComplexExampleQuery()));
        await offline.ReceiveAsync(Make.PresenceFrom("bob@example.net/phone").WithCaps(PeerNode, "sha-1", ver));
        await offline.ReceiveAsync(Make.PresenceFrom("bob@example.net/laptop").WithCaps(PeerNode, "sha-1", ver));
        offline.Responder = request => Answer(request, ComplexExampleQuery());

        var first = await caps.GetInfoAsync(BobPhone);
        var second = await caps.GetInfoAsync(BobLaptop);

        var query = Assert.Single(offline.SentIqs(XmppNamespaces.DiscoInfo));
        Assert.Equal(BobPhone, query.To);
        Assert.Equal($"{PeerNode}#{ver}", query.Payload!.GetAttribute("node"));
        Assert.True(first.Supports("http://jabber.org/protocol/muc"));
        Assert.Same(first, second);
        Assert.True(caps.IsCached("sha-1", ver));
    }

    [Fact]
    public async Task An_answer_that_does_not_match_the_ver_is_returned_but_never_cached()
    {
        await using var offline = new OfflineClient();
        var caps = offline.Client.Capabilities;
        var claimed = EntityCapabilities.ComputeVer(DiscoInfo.Parse(ComplexExampleQuery()));
        await offline.ReceiveAsync(Make.PresenceFrom("mallory@evil.example/x").WithCaps(PeerNode, "sha-1", claimed));
        await offline.ReceiveAsync(Make.PresenceFrom("bob@example.net/phone").WithCaps(PeerNode, "sha-1", claimed));
        var poisoned = ComplexExampleQuery();
        poisoned.AddChild("feature").SetAttribute("var", "urn:evil");
        offline.Responder = request => Answer(request, request.To == BobPhone ? ComplexExampleQuery() : poisoned);

        var lie = await caps.GetInfoAsync(Jid.Parse("mallory@evil.example/x"));
        Assert.True(lie.Supports("urn:evil")); // true for that JID...
        Assert.False(caps.IsCached("sha-1", claimed)); // ...but not believed of anyone else

        var honest = await caps.GetInfoAsync(BobPhone);
        Assert.False(honest.Supports("urn:evil"));
        Assert.True(caps.IsCached("sha-1", claimed));
        Assert.Equal(2, offline.SentIqs(XmppNamespaces.DiscoInfo).Count);
    }

    [Fact]
    public async Task Peers_without_caps_or_with_an_unknown_hash_are_asked_every_time()
    {
        await using var offline = new OfflineClient();
        var caps = offline.Client.Capabilities;
        await offline.ReceiveAsync(Make.PresenceFrom("bob@example.net/phone"));
        await offline.ReceiveAsync(Make.PresenceFrom("bob@example.net/laptop").WithCaps(PeerNode, "md5", "xyz"));
        offline.Responder = request => Answer(request, ComplexExampleQuery());

        await caps.GetInfoAsync(BobPhone);
        await caps.GetInfoAsync(BobPhone);
        await caps.GetInfoAsync(BobLaptop);
        await caps.GetInfoAsync(BobLaptop);

        var queries = offline.SentIqs(XmppNamespaces.DiscoInfo);
        Assert.Equal(4, queries.Count);
        Assert.Null(queries[0].Payload!.GetAttribute("node"));
        Assert.Equal($"{PeerNode}#xyz", queries[2].Payload!.GetAttribute("node"));
        Assert.False(caps.IsCached("md5", "xyz"));
    }

    [Fact]
    public async Task A_peer_that_does_not_know_its_caps_node_is_asked_without_it()
    {
        await using var offline = new OfflineClient();
        var ver = EntityCapabilities.ComputeVer(DiscoInfo.Parse(ComplexExampleQuery()));
        await offline.ReceiveAsync(Make.PresenceFrom("bob@example.net/phone").WithCaps(PeerNode, "sha-1", ver));
        offline.Responder = request => request.Payload!.GetAttribute("node") is null
            ? Answer(request, ComplexExampleQuery())
            : Error(request, StanzaError.ItemNotFound());

        var info = await offline.Client.Capabilities.GetInfoAsync(BobPhone);

        Assert.True(info.Supports("http://jabber.org/protocol/muc"));
        Assert.Equal(2, offline.SentIqs(XmppNamespaces.DiscoInfo).Count);
        Assert.False(offline.Client.Capabilities.IsCached("sha-1", ver));
    }

    [Fact]
    public async Task GetInfoAsync_reports_the_peers_error()
    {
        await using var offline = new OfflineClient();
        await offline.ReceiveAsync(Make.PresenceFrom("bob@example.net/phone"));
        offline.Responder = request => Error(request, StanzaError.ServiceUnavailable());

        var error = await Assert.ThrowsAsync<XmppStanzaException>(() => offline.Client.Capabilities.GetInfoAsync(BobPhone));

        Assert.Equal("service-unavailable", error.Condition);
    }

    [Fact]
    public async Task The_cache_is_bounded_and_drops_the_least_recently_used()
    {
        await using var offline = new OfflineClient();
        var caps = offline.Client.Capabilities;
        offline.Responder = request => Answer(request, QueryWithFeature(request.Payload!.GetAttribute("node")!.Split('#')[0]));
        var vers = new List<string>();
        for (var i = 0; i <= EntityCapabilities.MaxCacheEntries; i++)
        {
            var node = $"urn:peer:{i}";
            var ver = EntityCapabilities.ComputeVer(DiscoInfo.Parse(QueryWithFeature(node)));
            vers.Add(ver);
            await offline.ReceiveAsync(Make.PresenceFrom("bob@example.net/phone").WithCaps(node, "sha-1", ver));
            await caps.GetInfoAsync(BobPhone);
            if (i == 0)
            {
                continue;
            }

            if (i == 1)
            {
                // Touch the first entry so the second becomes the oldest.
                await offline.ReceiveAsync(Make.PresenceFrom("bob@example.net/phone").WithCaps("urn:peer:0", "sha-1", vers[0]));
                await caps.GetInfoAsync(BobPhone);
            }
        }

        Assert.Equal(EntityCapabilities.MaxCacheEntries + 1, offline.SentIqs(XmppNamespaces.DiscoInfo).Count);
        Assert.True(caps.IsCached("sha-1", vers[0]));
        Assert.False(caps.IsCached("sha-1", vers[1]));
        Assert.True(caps.IsCached("sha-1", vers[^1]));
    }

    [Fact]
    public async Task Resources_info_covers_every_resource_that_answers()
    {
        await using var offline = new OfflineClient();
        await offline.ReceiveAsync(Make.PresenceFrom("bob@example.net/phone"));
        await offline.ReceiveAsync(Make.PresenceFrom("bob@example.net/laptop"));
        await offline.ReceiveAsync(Make.PresenceFrom("bob@example.net/broken"));
        offline.Responder = request => request.To!.Resource == "broken"
            ? Error(request, StanzaError.ServiceUnavailable())
            : Answer(request, QueryWithFeature($"urn:feature:{request.To.Resource}"));

        var answers = await offline.Client.Capabilities.GetResourcesInfoAsync(Jid.Parse("bob@example.net"));

        Assert.Equal(2, answers.Count);
        Assert.All(answers, a => Assert.True(a.Info.Supports($"urn:feature:{a.Resource.Resource}")));
        Assert.Empty(await offline.Client.Capabilities.GetResourcesInfoAsync(Jid.Parse("nobody@example.net")));
    }

    [Fact]
    public async Task Resources_with_the_same_ver_cause_one_query()
    {
        await using var offline = new OfflineClient();
        var ver = EntityCapabilities.ComputeVer(DiscoInfo.Parse(ComplexExampleQuery()));
        for (var i = 0; i < 5; i++)
        {
            await offline.ReceiveAsync(Make.PresenceFrom($"bob@example.net/r{i}").WithCaps(PeerNode, "sha-1", ver));
        }

        offline.Responder = null; // answered below, once every lookup has started

        var lookup = offline.Client.Capabilities.GetResourcesInfoAsync(Jid.Parse("bob@example.net"));
        var query = Assert.Single(offline.SentIqs(XmppNamespaces.DiscoInfo));
        offline.Answer(Answer(query, ComplexExampleQuery()));
        var answers = await lookup.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(5, answers.Count);
        Assert.Single(offline.SentIqs(XmppNamespaces.DiscoInfo));
    }

    private static Iq DiscoQuery(string? node)
    {
        var query = new XmppElement("query", XmppNamespaces.DiscoInfo);
        query.SetAttribute("node", node);
        var iq = new Iq(IqType.Get, OfflineClient.Account.WithResource("desk"), query);
        iq.SetAttribute("from", "bob@example.net/phone");
        return iq;
    }

    private static Iq Answer(Iq request, XmppElement query)
    {
        query.SetAttribute("node", request.Payload!.GetAttribute("node"));
        var result = request.CreateResult(query);
        result.From = request.To;
        return result;
    }

    private static Iq Error(Iq request, StanzaError error)
    {
        var result = request.CreateError(error);
        result.From = request.To;
        return result;
    }

    private static XmppElement QueryWithFeature(string feature)
    {
        var query = new XmppElement("query", XmppNamespaces.DiscoInfo);
        query.Add(Identity("client", "pc", null, null));
        query.AddChild("feature").SetAttribute("var", feature);
        return query;
    }

    /// <summary>The disco#info of XEP-0115 §5.3, with identities, features and fields in a scrambled order.</summary>
    private static XmppElement ComplexExampleQuery()
    {
        var query = new XmppElement("query", XmppNamespaces.DiscoInfo);
        query.Add(Identity("client", "pc", "Psi 0.11", "en"));
        query.Add(Identity("client", "pc", "\u03A8 0.11", "el"));
        foreach (var feature in new[] { "http://jabber.org/protocol/muc", "http://jabber.org/protocol/disco#info", "http://jabber.org/protocol/caps", "http://jabber.org/protocol/disco#items" })
        {
            query.AddChild("feature").SetAttribute("var", feature);
        }

        var form = query.Add(new XmppElement("x", XmppNamespaces.DataForms));
        form.SetAttribute("type", "result");
        AddField(form, "software_version", null, "0.11");
        AddField(form, "ip_version", "text-multi", "ipv6", "ipv4");
        AddField(form, "FORM_TYPE", "hidden", "urn:xmpp:dataforms:softwareinfo");
        AddField(form, "os_version", null, "10.5.1");
        AddField(form, "os", null, "Mac");
        AddField(form, "software", null, "Psi");
        return query;
    }

    private static XmppElement SoftwareInfoForm(string formTypeType, params string[] formTypes)
    {
        var form = new XmppElement("x", XmppNamespaces.DataForms);
        form.SetAttribute("type", "result");
        AddField(form, "FORM_TYPE", formTypeType, formTypes);
        AddField(form, "os", null, "Linux");
        return form;
    }

    private static void AddField(XmppElement form, string name, string? type, params string[] values)
    {
        var field = form.AddChild("field");
        field.SetAttribute("var", name);
        field.SetAttribute("type", type);
        foreach (var value in values)
        {
            field.AddChild("value", text: value);
        }
    }

    private static XmppElement Identity(string category, string type, string? name, string? lang)
    {
        var identity = new XmppElement("identity", XmppNamespaces.DiscoInfo);
        identity.SetAttribute("category", category);
        identity.SetAttribute("type", type);
        identity.SetAttribute("name", name);
        identity.SetAttribute("xml:lang", lang);
        return identity;
    }

    private static string Sha1Base64(string s) => Convert.ToBase64String(System.Security.Cryptography.SHA1.HashData(System.Text.Encoding.UTF8.GetBytes(s)));
}
