namespace Parley.Xmpp.Xml;

/// <summary>
/// Makes the object for a stanza's root element, so that the parser builds typed stanzas (message, presence, iq)
/// without knowing their types: stanzas are elements, so the element layer cannot depend on them.
/// </summary>
internal interface IStanzaRootFactory
{
    /// <summary>An empty root for a top-level element, or <see langword="null"/> when it is not a stanza of a known kind.</summary>
    /// <param name="name">The element's local name.</param>
    /// <param name="namespace">Its namespace.</param>
    XmppElement? Create(string name, string @namespace);
}
