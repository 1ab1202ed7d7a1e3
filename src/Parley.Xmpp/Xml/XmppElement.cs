using System.Diagnostics;
using System.Text;

namespace Parley.Xmpp.Xml;

/// <summary>
/// An XML element as XMPP uses it: a local name in a namespace, attributes, child elements and
/// character data. XMPP payloads have no mixed content, so an element keeps its text as one string.
/// </summary>
/// <remarks>Not thread-safe. Stanzas received from a connection are not shared between threads by the library.</remarks>
public class XmppElement
{
    // Exactly as long as the number of attributes: elements have few, the parser knows how many, and most are never
    // changed after parsing, so a list's own object and spare capacity would be paid for nothing.
    private XmlAttribute[]? _attributes;

    // Children in an array of which the first _childCount slots are used. The parser hands over an exact-size array
    // (it knows the count when the element closes), so a parsed element pays for one array and no list object.
    private XmppElement[]? _children;

    // The namespaces of the prefixes its attributes use (other than xml:), for a parsed element that has such attributes:
    // an attribute keeps its name as written ("p:name"), so writing it out needs the declaration of p.
    private (string Prefix, string Uri)[]? _attributePrefixes;
    private int _childCount;

    /// <summary>Creates an element.</summary>
    /// <param name="name">The local name, without prefix.</param>
    /// <param name="namespace">The namespace URI (empty for none).</param>
    /// <exception cref="ArgumentException">The name is empty or contains a colon.</exception>
    public XmppElement(string name, string @namespace)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(@namespace);
        if (name.Contains(':', StringComparison.Ordinal))
        {
            throw new ArgumentException("An element name must not contain a prefix.", nameof(name));
        }

        Name = name;
        Namespace = @namespace;
    }

    /// <summary>Creates an element whose name the caller has already checked (the parser, the stanza types).</summary>
    internal XmppElement(string name, string @namespace, bool nameChecked)
    {
        Debug.Assert(nameChecked && name.Length > 0 && !name.Contains(':', StringComparison.Ordinal));
        Name = name;
        Namespace = @namespace;
    }

    /// <summary>Copies an element and its subtree.</summary>
    /// <param name="other">The element to copy.</param>
    protected XmppElement(XmppElement other)
    {
        ArgumentNullException.ThrowIfNull(other);
        Name = other.Name;
        Namespace = other.Namespace;
        Text = other.Text;
        if (other._attributes is { } attributes)
        {
            _attributes = (XmlAttribute[])attributes.Clone();
        }

        _attributePrefixes = other._attributePrefixes;

        if (other._childCount > 0)
        {
            _children = new XmppElement[other._childCount];
            foreach (var child in other.ChildSpan)
            {
                Add(child.Clone());
            }
        }
    }

    /// <summary>The local name.</summary>
    public string Name { get; }

    /// <summary>The namespace URI; empty when the element is in no namespace.</summary>
    public string Namespace { get; }

    /// <summary>The element this one was added to, if any.</summary>
    public XmppElement? Parent { get; private set; }

    /// <summary>The character data directly inside this element, or <see langword="null"/> when there is none.</summary>
    public string? Text { get; set; }

    /// <summary>The attributes, in document order. Namespace declarations are not attributes.</summary>
    /// <remarks>The list reflects the attributes when it is read: adding or removing one later is not seen through it.</remarks>
    public IReadOnlyList<XmlAttribute> Attributes => _attributes ?? [];

    /// <summary>The attributes without an interface in between (for the serializer).</summary>
    internal ReadOnlySpan<XmlAttribute> AttributeSpan => _attributes;

    /// <summary>The child elements, in document order.</summary>
    /// <remarks>
    /// A live view: children added or removed later are seen through it. Enumerating it while the children change throws
    /// <see cref="InvalidOperationException"/>, as enumerating a changed list does.
    /// </remarks>
    public IReadOnlyList<XmppElement> Children => _childCount == 0 ? [] : new ChildList(this);

    /// <summary>The children without an interface or a view in between (for the serializer and the lookups here).</summary>
    internal ReadOnlySpan<XmppElement> ChildSpan => new(_children, 0, _childCount);

    /// <summary>Whether the element has any child elements.</summary>
    public bool HasChildren => _childCount > 0;

    /// <summary>Returns the value of an attribute, or <see langword="null"/> when it is absent.</summary>
    /// <param name="name">The attribute name as written, e.g. <c>type</c> or <c>xml:lang</c>.</param>
    public string? GetAttribute(string name)
    {
        if (_attributes is { } attributes)
        {
            foreach (var attribute in attributes)
            {
                if (string.Equals(attribute.Name, name, StringComparison.Ordinal))
                {
                    return attribute.Value;
                }
            }
        }

        return null;
    }

    /// <summary>Sets, replaces or (with a <see langword="null"/> value) removes an attribute.</summary>
    /// <param name="name">The attribute name.</param>
    /// <param name="value">The value, or <see langword="null"/> to remove the attribute.</param>
    /// <returns>This element.</returns>
    /// <exception cref="ArgumentException">The name is empty or is a namespace declaration.</exception>
    public XmppElement SetAttribute(string name, string? value)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name == "xmlns" || name.StartsWith("xmlns:", StringComparison.Ordinal))
        {
            throw new ArgumentException("Namespace declarations are not attributes; set the element's namespace instead.", nameof(name));
        }

        var attributes = _attributes ?? [];
        for (var i = 0; i < attributes.Length; i++)
        {
            if (string.Equals(attributes[i].Name, name, StringComparison.Ordinal))
            {
                if (value is null)
                {
                    _attributes = attributes.Length == 1 ? null : [.. attributes.AsSpan(0, i), .. attributes.AsSpan(i + 1)];
                }
                else
                {
                    attributes[i] = new XmlAttribute(name, value);
                }

                return this;
            }
        }

        if (value is not null)
        {
            _attributes = [.. attributes, new XmlAttribute(name, value)];
        }

        return this;
    }

    /// <summary>
    /// Gives a new element its attributes, without checking for duplicate names (used by the parser, which rejects
    /// duplicates itself). The element owns the array afterwards.
    /// </summary>
    internal void SetParsedAttributes(XmlAttribute[] attributes) => _attributes = attributes;

    /// <summary>The namespace bindings of the prefixes (other than <c>xml</c>) that the attributes use, as parsed.</summary>
    internal ReadOnlySpan<(string Prefix, string Uri)> AttributePrefixes => _attributePrefixes;

    /// <summary>Gives a parsed element the bindings of the prefixes its attributes use. The element owns the array afterwards.</summary>
    internal void SetParsedAttributePrefixes((string Prefix, string Uri)[] prefixes) => _attributePrefixes = prefixes;

    /// <summary>
    /// Gives a new element, which has no children yet, its parsed children (used by the parser: the children are new and
    /// have no parent). The element owns the array afterwards.
    /// </summary>
    internal void SetParsedChildren(XmppElement[] children)
    {
        foreach (var child in children)
        {
            child.Parent = this;
        }

        _children = children;
        _childCount = children.Length;
    }

    /// <summary>Returns the first child with the given name in the given namespace.</summary>
    /// <param name="name">The local name.</param>
    /// <param name="namespace">The namespace URI; <see langword="null"/> means this element's namespace.</param>
    public XmppElement? Element(string name, string? @namespace = null)
    {
        var ns = @namespace ?? Namespace;
        foreach (var child in ChildSpan)
        {
            if (string.Equals(child.Name, name, StringComparison.Ordinal) && string.Equals(child.Namespace, ns, StringComparison.Ordinal))
            {
                return child;
            }
        }

        return null;
    }

    /// <summary>Returns the first child in the given namespace, whatever its name.</summary>
    /// <param name="namespace">The namespace URI.</param>
    public XmppElement? ElementInNamespace(string @namespace)
    {
        foreach (var child in ChildSpan)
        {
            if (string.Equals(child.Namespace, @namespace, StringComparison.Ordinal))
            {
                return child;
            }
        }

        return null;
    }

    /// <summary>Returns the children with the given name in the given namespace.</summary>
    /// <param name="name">The local name.</param>
    /// <param name="namespace">The namespace URI; <see langword="null"/> means this element's namespace.</param>
    public IEnumerable<XmppElement> Elements(string name, string? @namespace = null)
    {
        var ns = @namespace ?? Namespace;
        foreach (var child in Children)
        {
            if (string.Equals(child.Name, name, StringComparison.Ordinal) && string.Equals(child.Namespace, ns, StringComparison.Ordinal))
            {
                yield return child;
            }
        }
    }

    /// <summary>Returns the text of the first matching child, or <see langword="null"/>.</summary>
    /// <param name="name">The local name.</param>
    /// <param name="namespace">The namespace URI; <see langword="null"/> means this element's namespace.</param>
    public string? ElementText(string name, string? @namespace = null) => Element(name, @namespace)?.Text;

    /// <summary>Adds a child element.</summary>
    /// <typeparam name="T">The element type.</typeparam>
    /// <param name="child">The child; it must not already have a parent.</param>
    /// <returns>The child.</returns>
    /// <exception cref="InvalidOperationException">The child already belongs to an element.</exception>
    public T Add<T>(T child)
        where T : XmppElement
    {
        ArgumentNullException.ThrowIfNull(child);
        if (child.Parent is not null)
        {
            throw new InvalidOperationException("The element already has a parent; clone it first.");
        }

        child.Parent = this;
        if (_children is null || _childCount == _children.Length)
        {
            Array.Resize(ref _children, Math.Max(4, _childCount * 2));
        }

        _children[_childCount++] = child;
        return child;
    }

    /// <summary>Creates and adds a child element.</summary>
    /// <param name="name">The local name.</param>
    /// <param name="namespace">The namespace URI; <see langword="null"/> means this element's namespace.</param>
    /// <param name="text">Optional character data.</param>
    /// <returns>The new child.</returns>
    public XmppElement AddChild(string name, string? @namespace = null, string? text = null)
        => Add(new XmppElement(name, @namespace ?? Namespace) { Text = text });

    /// <summary>Removes a child element.</summary>
    /// <param name="child">The child to remove.</param>
    /// <returns>Whether the child was found and removed.</returns>
    public bool Remove(XmppElement child)
    {
        var index = ChildSpan.IndexOf(child);
        if (index < 0)
        {
            return false;
        }

        var children = _children!;
        Array.Copy(children, index + 1, children, index, _childCount - index - 1);
        children[--_childCount] = null!;
        child.Parent = null;
        return true;
    }

    /// <summary>Removes every child with the given name and namespace.</summary>
    /// <param name="name">The local name.</param>
    /// <param name="namespace">The namespace URI; <see langword="null"/> means this element's namespace.</param>
    public void RemoveAll(string name, string? @namespace = null)
    {
        var ns = @namespace ?? Namespace;
        var children = _children;
        var kept = 0;
        for (var i = 0; i < _childCount; i++)
        {
            var child = children![i];
            if (child.Name == name && child.Namespace == ns)
            {
                child.Parent = null;
            }
            else
            {
                children[kept++] = child;
            }
        }

        Array.Clear(children ?? [], kept, _childCount - kept);
        _childCount = kept;
    }

    /// <summary>Returns a deep copy of this element, without a parent.</summary>
    public virtual XmppElement Clone() => new(this);

    /// <summary>Serializes the element and its subtree as XML.</summary>
    public override string ToString()
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        XmlSerializer.WriteElement(buffer, this, parentNamespace: null);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>The live view behind <see cref="Children"/>.</summary>
    private sealed class ChildList(XmppElement owner) : IReadOnlyList<XmppElement>
    {
        public int Count => owner._childCount;

        public XmppElement this[int index]
            => (uint)index < (uint)owner._childCount ? owner._children![index] : throw new ArgumentOutOfRangeException(nameof(index));

        public IEnumerator<XmppElement> GetEnumerator()
        {
            // Adding, removing or growing changes the count or the array: either is "modified during enumeration".
            var children = owner._children;
            var count = owner._childCount;
            for (var i = 0; i < count; i++)
            {
                if (!ReferenceEquals(children, owner._children) || count != owner._childCount)
                {
                    throw new InvalidOperationException("The children were changed during the enumeration.");
                }

                yield return children![i];
            }

            if (!ReferenceEquals(children, owner._children) || count != owner._childCount)
            {
                throw new InvalidOperationException("The children were changed during the enumeration.");
            }
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}

/// <summary>An attribute: a name as written (<c>type</c>, <c>xml:lang</c>) and its unescaped value.</summary>
/// <param name="Name">The attribute name.</param>
/// <param name="Value">The unescaped value.</param>
public readonly record struct XmlAttribute(string Name, string Value);
