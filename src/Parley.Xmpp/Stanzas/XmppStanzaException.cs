using Parley.Xmpp.Core;

namespace Parley.Xmpp.Stanzas;

/// <summary>The peer answered a request with a stanza error.</summary>
public sealed class XmppStanzaException : XmppException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="error">The error the peer sent.</param>
    /// <param name="from">Who sent it.</param>
    public XmppStanzaException(StanzaError error, Jid? from = null)
        : base(from is null ? $"The request failed: {error}." : $"{from} answered with an error: {error}.")
    {
        Error = error;
        From = from;
    }

    /// <summary>The stanza error.</summary>
    public StanzaError Error { get; }

    /// <summary>The condition, e.g. <c>item-not-found</c>.</summary>
    public string Condition => Error.Condition;

    /// <summary>The entity that answered.</summary>
    public Jid? From { get; }
}
