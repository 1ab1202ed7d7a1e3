using Parley.Xmpp.Core;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp.Stanzas;

/// <summary>The error type of a stanza error (RFC 6120 §8.3.2): what the sender should do about it.</summary>
public enum StanzaErrorType
{
    /// <summary>Retry after providing credentials.</summary>
    Auth,
    /// <summary>Do not retry; the error cannot be fixed.</summary>
    Cancel,
    /// <summary>Proceed; this was only a warning.</summary>
    Continue,
    /// <summary>Retry after changing the data sent.</summary>
    Modify,
    /// <summary>Retry after waiting; the error is temporary.</summary>
    Wait,
}

/// <summary>A stanza error (RFC 6120 §8.3): a defined condition, a type and optional text.</summary>
public sealed class StanzaError
{
    /// <summary>Creates an error.</summary>
    /// <param name="condition">The defined condition, e.g. <c>item-not-found</c>.</param>
    /// <param name="type">The error type.</param>
    /// <param name="text">Optional human-readable text.</param>
    public StanzaError(string condition, StanzaErrorType type, string? text = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(condition);
        Condition = condition;
        Type = type;
        Text = text;
    }

    /// <summary>The defined condition, e.g. <c>service-unavailable</c>.</summary>
    public string Condition { get; }

    /// <summary>The error type.</summary>
    public StanzaErrorType Type { get; }

    /// <summary>The human-readable text, if the sender gave one.</summary>
    public string? Text { get; }

    /// <summary>An application-specific condition element, if any.</summary>
    public XmppElement? ApplicationCondition { get; init; }

    /// <summary>The <c>by</c> attribute: the entity that generated the error.</summary>
    public string? By { get; init; }

    /// <summary><c>service-unavailable</c>/cancel: nobody here handles that request.</summary>
    public static StanzaError ServiceUnavailable(string? text = null) => new("service-unavailable", StanzaErrorType.Cancel, text);

    /// <summary><c>feature-not-implemented</c>/cancel.</summary>
    public static StanzaError FeatureNotImplemented(string? text = null) => new("feature-not-implemented", StanzaErrorType.Cancel, text);

    /// <summary><c>bad-request</c>/modify.</summary>
    public static StanzaError BadRequest(string? text = null) => new("bad-request", StanzaErrorType.Modify, text);

    /// <summary><c>item-not-found</c>/cancel.</summary>
    public static StanzaError ItemNotFound(string? text = null) => new("item-not-found", StanzaErrorType.Cancel, text);

    /// <summary><c>forbidden</c>/auth.</summary>
    public static StanzaError Forbidden(string? text = null) => new("forbidden", StanzaErrorType.Auth, text);

    /// <summary><c>not-acceptable</c>/modify.</summary>
    public static StanzaError NotAcceptable(string? text = null) => new("not-acceptable", StanzaErrorType.Modify, text);

    /// <summary><c>policy-violation</c>/modify: the stanza broke a local policy, such as a size limit.</summary>
    public static StanzaError PolicyViolation(string? text = null) => new("policy-violation", StanzaErrorType.Modify, text);

    /// <summary><c>internal-server-error</c>/wait.</summary>
    public static StanzaError InternalServerError(string? text = null) => new("internal-server-error", StanzaErrorType.Wait, text);

    /// <summary><c>resource-constraint</c>/wait.</summary>
    public static StanzaError ResourceConstraint(string? text = null) => new("resource-constraint", StanzaErrorType.Wait, text);

    /// <summary>Reads an <c>&lt;error/&gt;</c> element; unknown or missing parts become <c>undefined-condition</c>/cancel.</summary>
    /// <param name="error">The error element.</param>
    public static StanzaError Parse(XmppElement error)
    {
        ArgumentNullException.ThrowIfNull(error);
        var type = error.GetAttribute("type") switch
        {
            "auth" => StanzaErrorType.Auth,
            "continue" => StanzaErrorType.Continue,
            "modify" => StanzaErrorType.Modify,
            "wait" => StanzaErrorType.Wait,
            _ => StanzaErrorType.Cancel,
        };
        string? condition = null;
        string? text = null;
        XmppElement? application = null;
        foreach (var child in error.Children)
        {
            if (child.Namespace == XmppNamespaces.Stanzas)
            {
                if (child.Name == "text")
                {
                    text = child.Text;
                }
                else
                {
                    condition ??= child.Name;
                }
            }
            else
            {
                application ??= child;
            }
        }

        return new StanzaError(condition ?? "undefined-condition", type, text) { ApplicationCondition = application, By = error.GetAttribute("by") };
    }

    /// <summary>Builds the <c>&lt;error/&gt;</c> element.</summary>
    /// <param name="stanzaNamespace">The content namespace of the enclosing stanza.</param>
    public XmppElement ToElement(string stanzaNamespace = XmppNamespaces.Client)
    {
        var error = new XmppElement("error", stanzaNamespace);
        error.SetAttribute("type", Type.ToString().ToLowerInvariant());
        error.SetAttribute("by", By);
        error.AddChild(Condition, XmppNamespaces.Stanzas);
        if (Text is not null)
        {
            error.AddChild("text", XmppNamespaces.Stanzas, Text);
        }

        if (ApplicationCondition is not null)
        {
            error.Add(ApplicationCondition.Clone());
        }

        return error;
    }

    /// <inheritdoc />
    public override string ToString() => Text is null ? $"{Condition} ({Type.ToString().ToLowerInvariant()})" : $"{Condition} ({Type.ToString().ToLowerInvariant()}): {Text}";
}
