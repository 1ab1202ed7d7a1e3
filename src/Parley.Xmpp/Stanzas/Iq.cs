using Parley.Xmpp.Core;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp.Stanzas;

/// <summary>The type of an IQ stanza.</summary>
public enum IqType
{
    /// <summary>A request for information.</summary>
    Get,
    /// <summary>A request that changes something.</summary>
    Set,
    /// <summary>A successful response.</summary>
    Result,
    /// <summary>An error response.</summary>
    Error,
}

/// <summary>An <c>&lt;iq/&gt;</c> stanza: a request or its response.</summary>
public sealed class Iq : Stanza
{
    /// <summary>Creates an IQ with a fresh id.</summary>
    /// <param name="type">The IQ type.</param>
    /// <param name="to">The addressee, or <see langword="null"/> for the account or server.</param>
    /// <param name="payload">The child element, if any.</param>
    public Iq(IqType type, Jid? to = null, XmppElement? payload = null)
        : base("iq")
    {
        Type = type;
        To = to;
        Id = NewId();
        if (payload is not null)
        {
            Add(payload);
        }
    }

    internal Iq(string @namespace)
        : base("iq", @namespace, nameChecked: true)
    {
    }

    private Iq(Iq other)
        : base(other)
    {
    }

    /// <summary>The IQ type; an invalid or missing value reads as <see cref="IqType.Error"/>.</summary>
    public IqType Type
    {
        get => GetAttribute("type") switch
        {
            "get" => IqType.Get,
            "set" => IqType.Set,
            "result" => IqType.Result,
            _ => IqType.Error,
        };
        set => SetAttribute("type", value switch
        {
            IqType.Get => "get",
            IqType.Set => "set",
            IqType.Result => "result",
            _ => "error",
        });
    }

    /// <summary>Whether this is a request (get or set).</summary>
    public bool IsRequest => GetAttribute("type") is "get" or "set";

    /// <summary>The first child element that is not an <c>&lt;error/&gt;</c>, or <see langword="null"/>.</summary>
    public XmppElement? Payload
    {
        get
        {
            foreach (var child in Children)
            {
                if (!(child.Name == "error" && child.Namespace == Namespace))
                {
                    return child;
                }
            }

            return null;
        }
    }

    /// <summary>Creates the result for this request, addressed back to its sender.</summary>
    /// <param name="payload">An optional payload.</param>
    public Iq CreateResult(XmppElement? payload = null)
    {
        var result = new Iq(Namespace) { Type = IqType.Result, Id = Id };
        AddressReply(result);
        if (payload is not null)
        {
            result.Add(payload);
        }

        return result;
    }

    /// <summary>Creates an error response for this request.</summary>
    /// <param name="error">The error to send.</param>
    public Iq CreateError(StanzaError error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return (Iq)CreateErrorReply(error);
    }

    /// <inheritdoc />
    public override XmppElement Clone() => new Iq(this);
}
