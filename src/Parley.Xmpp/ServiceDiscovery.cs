using System.Collections.Immutable;
using Parley.Xmpp.Core;
using Parley.Xmpp.Im;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp;

/// <summary>
/// Service discovery (XEP-0030): the identities and features this endpoint announces — built from what is
/// registered, never a fixed list — and queries of other entities.
/// </summary>
public sealed class ServiceDiscovery
{
    private readonly XmppEndpoint _endpoint;
    private ImmutableSortedSet<string> _features = ImmutableSortedSet.Create(StringComparer.Ordinal, XmppNamespaces.DiscoInfo, XmppNamespaces.DiscoItems);
    private ImmutableList<DiscoIdentity> _identities = [];
    private ImmutableList<XmppElement> _extensions = [];
    private ImmutableList<DiscoItem> _items = [];

    internal ServiceDiscovery(XmppEndpoint endpoint)
    {
        _endpoint = endpoint;
        endpoint.SetIqHandler("query", XmppNamespaces.DiscoInfo, AnswerInfoAsync, announce: false);
        endpoint.SetIqHandler("query", XmppNamespaces.DiscoItems, AnswerItemsAsync, announce: false);
    }

    /// <summary>Raised when the announced features or identities change (entity capabilities recompute their hash).</summary>
    public event EventHandler? Changed;

    /// <summary>The features announced, sorted.</summary>
    public IReadOnlySet<string> Features => _features;

    /// <summary>The identities announced.</summary>
    public IReadOnlyList<DiscoIdentity> Identities => _identities;

    /// <summary>XEP-0128 extension forms announced with disco#info.</summary>
    public IReadOnlyList<XmppElement> Extensions => _extensions;

    /// <summary>Answers disco#info requests with a different node (e.g. ad-hoc command nodes): return <see langword="null"/> for unknown nodes.</summary>
    public Func<string, DiscoInfo?>? NodeInfoProvider { get; set; }

    /// <summary>Answers disco#items requests with a node: return <see langword="null"/> for unknown nodes.</summary>
    public Func<string, IReadOnlyList<DiscoItem>?>? NodeItemsProvider { get; set; }

    /// <summary>Announces a feature.</summary>
    /// <param name="feature">The feature namespace.</param>
    public void AddFeature(string feature)
    {
        ArgumentException.ThrowIfNullOrEmpty(feature);
        if (ImmutableInterlocked.Update(ref _features, static (set, f) => set.Add(f), feature))
        {
            Changed?.Invoke(this, EventArgs.Empty);
        }
    }

    /// <summary>Stops announcing a feature.</summary>
    /// <param name="feature">The feature namespace.</param>
    public void RemoveFeature(string feature)
    {
        if (ImmutableInterlocked.Update(ref _features, static (set, f) => set.Remove(f), feature))
        {
            Changed?.Invoke(this, EventArgs.Empty);
        }
    }

    /// <summary>Announces an identity.</summary>
    /// <param name="identity">The identity.</param>
    public void AddIdentity(DiscoIdentity identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        if (ImmutableInterlocked.Update(ref _identities, static (list, i) => list.Contains(i) ? list : list.Add(i), identity))
        {
            Changed?.Invoke(this, EventArgs.Empty);
        }
    }

    /// <summary>Stops announcing an identity (e.g. a chat client replacing the default <c>client/bot</c> with <c>client/pc</c>).</summary>
    /// <param name="identity">The identity.</param>
    public void RemoveIdentity(DiscoIdentity identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        if (ImmutableInterlocked.Update(ref _identities, static (list, i) => list.Remove(i), identity))
        {
            Changed?.Invoke(this, EventArgs.Empty);
        }
    }

    /// <summary>Attaches a XEP-0128 form (<c>&lt;x xmlns='jabber:x:data' type='result'/&gt;</c> with a FORM_TYPE) to disco#info answers.</summary>
    /// <param name="form">The form.</param>
    public void AddExtension(XmppElement form)
    {
        ArgumentNullException.ThrowIfNull(form);
        ImmutableInterlocked.Update(ref _extensions, static (list, f) => list.Add(f), form);
        Changed?.Invoke(this, EventArgs.Empty);
    }

    /// <summary>Adds an item to the answer of disco#items without a node.</summary>
    /// <param name="item">The item.</param>
    public void AddItem(DiscoItem item)
    {
        ArgumentNullException.ThrowIfNull(item);
        ImmutableInterlocked.Update(ref _items, static (list, i) => list.Add(i), item);
    }

    /// <summary>What this endpoint announces, as a <see cref="DiscoInfo"/>.</summary>
    public DiscoInfo GetOwnInfo() => new(_identities, _features, _extensions);

    /// <summary>Asks an entity what it is and what it supports.</summary>
    /// <param name="jid">The entity.</param>
    /// <param name="node">An optional node.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <exception cref="XmppStanzaException">The entity answered with an error.</exception>
    /// <exception cref="TimeoutException">No answer in time.</exception>
    public async Task<DiscoInfo> QueryInfoAsync(Jid jid, string? node = null, CancellationToken cancellationToken = default)
    {
        var query = new XmppElement("query", XmppNamespaces.DiscoInfo);
        query.SetAttribute("node", node);
        var response = await _endpoint.SendIqAsync(new Iq(IqType.Get, jid, query), cancellationToken: cancellationToken).ConfigureAwait(false);
        var answer = response.Element("query", XmppNamespaces.DiscoInfo) ?? throw new XmppStanzaException(StanzaError.BadRequest("The disco#info answer has no query."), response.From);
        return DiscoInfo.Parse(answer);
    }

    /// <summary>Asks an entity for its items (e.g. a server's components).</summary>
    /// <param name="jid">The entity.</param>
    /// <param name="node">An optional node.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <exception cref="XmppStanzaException">The entity answered with an error.</exception>
    /// <exception cref="TimeoutException">No answer in time.</exception>
    public async Task<IReadOnlyList<DiscoItem>> QueryItemsAsync(Jid jid, string? node = null, CancellationToken cancellationToken = default)
    {
        var query = new XmppElement("query", XmppNamespaces.DiscoItems);
        query.SetAttribute("node", node);
        var response = await _endpoint.SendIqAsync(new Iq(IqType.Get, jid, query), cancellationToken: cancellationToken).ConfigureAwait(false);
        var items = new List<DiscoItem>();
        foreach (var item in response.Element("query", XmppNamespaces.DiscoItems)?.Elements("item", XmppNamespaces.DiscoItems) ?? [])
        {
            if (Jid.TryParse(item.GetAttribute("jid"), out var itemJid))
            {
                items.Add(new DiscoItem(itemJid, item.GetAttribute("node"), item.GetAttribute("name")));
            }
        }

        return items;
    }

    /// <summary>Builds the disco#info query element for an answer.</summary>
    internal static XmppElement BuildInfoQuery(DiscoInfo info, string? node)
    {
        var query = new XmppElement("query", XmppNamespaces.DiscoInfo);
        query.SetAttribute("node", node);
        foreach (var identity in info.Identities)
        {
            var element = query.AddChild("identity");
            element.SetAttribute("category", identity.Category);
            element.SetAttribute("type", identity.Type);
            element.SetAttribute("name", identity.Name);
            element.SetAttribute("xml:lang", identity.Language);
        }

        foreach (var feature in info.Features.Order(StringComparer.Ordinal))
        {
            query.AddChild("feature").SetAttribute("var", feature);
        }

        foreach (var extension in info.Extensions)
        {
            query.Add(extension.Clone());
        }

        return query;
    }

    /// <summary>Nodes answered like the root (entity capabilities queries "node#ver").</summary>
    internal Func<string, bool>? IsOwnCapsNode { get; set; }

    /// <summary>
    /// Answers disco#items for a node whose items depend on who asks (the ad-hoc command list), before
    /// <see cref="NodeItemsProvider"/>; <see langword="null"/> for other nodes.
    /// </summary>
    internal Func<string, Jid, IReadOnlyList<DiscoItem>?>? RequesterNodeItemsProvider { get; set; }

    private ValueTask<XmppElement?> AnswerInfoAsync(Iq request, CancellationToken cancellationToken)
    {
        var node = request.Payload!.GetAttribute("node");
        DiscoInfo? info = node is null || (IsOwnCapsNode?.Invoke(node) ?? false) ? GetOwnInfo() : NodeInfoProvider?.Invoke(node);
        if (info is null)
        {
            throw new XmppStanzaException(StanzaError.ItemNotFound($"No node '{node}' here."));
        }

        return ValueTask.FromResult<XmppElement?>(BuildInfoQuery(info, node));
    }

    private ValueTask<XmppElement?> AnswerItemsAsync(Iq request, CancellationToken cancellationToken)
    {
        var node = request.Payload!.GetAttribute("node");
        var items = node is null
            ? _items
            : (request.From is { } from ? RequesterNodeItemsProvider?.Invoke(node, from) : null) ?? NodeItemsProvider?.Invoke(node);
        if (items is null)
        {
            throw new XmppStanzaException(StanzaError.ItemNotFound($"No node '{node}' here."));
        }

        var query = new XmppElement("query", XmppNamespaces.DiscoItems);
        query.SetAttribute("node", node);
        foreach (var item in items)
        {
            var element = query.AddChild("item");
            element.SetAttribute("jid", item.Jid.ToString());
            element.SetAttribute("node", item.Node);
            element.SetAttribute("name", item.Name);
        }

        return ValueTask.FromResult<XmppElement?>(query);
    }
}
