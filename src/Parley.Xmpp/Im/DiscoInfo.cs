using Parley.Xmpp.Core;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp.Im;

/// <summary>An identity in disco#info (XEP-0030 §3.1).</summary>
/// <param name="Category">e.g. <c>client</c>, <c>component</c>, <c>proxy</c>.</param>
/// <param name="Type">e.g. <c>bot</c>, <c>pc</c>, <c>bytestreams</c>.</param>
/// <param name="Name">A human-readable name, if any.</param>
/// <param name="Language">The <c>xml:lang</c> of the name, if any.</param>
public sealed record DiscoIdentity(string Category, string Type, string? Name = null, string? Language = null);

/// <summary>An item in disco#items.</summary>
/// <param name="Jid">The item's address.</param>
/// <param name="Node">The node, if any.</param>
/// <param name="Name">A human-readable name, if any.</param>
public sealed record DiscoItem(Jid Jid, string? Node = null, string? Name = null);

/// <summary>The answer to a disco#info query.</summary>
/// <param name="Identities">The entity's identities.</param>
/// <param name="Features">The features (namespaces) it supports.</param>
/// <param name="Extensions">XEP-0128 data forms attached to the answer.</param>
public sealed record DiscoInfo(IReadOnlyList<DiscoIdentity> Identities, IReadOnlySet<string> Features, IReadOnlyList<XmppElement> Extensions)
{
    /// <summary>Whether the entity announced <paramref name="feature"/>.</summary>
    /// <param name="feature">A feature namespace.</param>
    public bool Supports(string feature) => Features.Contains(feature);

    /// <summary>Reads a <c>&lt;query xmlns='http://jabber.org/protocol/disco#info'/&gt;</c>; invalid entries are skipped.</summary>
    /// <param name="query">The query element.</param>
    public static DiscoInfo Parse(XmppElement query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var identities = new List<DiscoIdentity>();
        var features = new HashSet<string>(StringComparer.Ordinal);
        var extensions = new List<XmppElement>();
        foreach (var child in query.Children)
        {
            if (child.Namespace == XmppNamespaces.DiscoInfo && child.Name == "identity" && child.GetAttribute("category") is { } category && child.GetAttribute("type") is { } type)
            {
                identities.Add(new DiscoIdentity(category, type, child.GetAttribute("name"), child.GetAttribute("xml:lang")));
            }
            else if (child.Namespace == XmppNamespaces.DiscoInfo && child.Name == "feature" && child.GetAttribute("var") is { Length: > 0 } feature)
            {
                features.Add(feature);
            }
            else if (child.Namespace == XmppNamespaces.DataForms && child.Name == "x")
            {
                extensions.Add(child);
            }
        }

        return new DiscoInfo(identities, features, extensions);
    }
}
