using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Web.Xmpp;

/// <summary>
/// Chat markers (XEP-0333): the visitors' messages carry <c>markable</c>; the owner's client answers with
/// <c>displayed</c> naming our stanza id, and a tab that has shown a markable reply answers the owner the same way.
/// </summary>
internal static class ChatMarkers
{
    public const string Namespace = "urn:xmpp:chat-markers:0";

    /// <summary>The longest id a marker may name: stanza ids the gateway stores are far shorter.</summary>
    private const int MaxIdLength = 256;

    /// <summary>A marker someone sent: which one (received, displayed, acknowledged) and the id of the message it names.</summary>
    public readonly record struct Marker(string Name, string Id)
    {
        /// <summary>Whether the marker says the message was shown: displayed, or acknowledged (which comes after it).</summary>
        public bool MeansSeen => Name is "displayed" or "acknowledged";
    }

    public static XmppElement Markable() => new("markable", Namespace);

    /// <summary>Whether the message asks for markers (it needs an id to be named by one).</summary>
    public static bool IsMarkable(Message message)
        => message.Id is { Length: > 0 } && message.Element("markable", Namespace) is not null;

    /// <summary>The marker a message carries, or <see langword="null"/> (none, or one without a usable id).</summary>
    public static Marker? Of(Message message)
    {
        foreach (var name in (ReadOnlySpan<string>)["displayed", "acknowledged", "received"])
        {
            if (message.Element(name, Namespace)?.GetAttribute("id") is { Length: > 0 and <= MaxIdLength } id)
            {
                return new Marker(name, id);
            }
        }

        return null;
    }

    /// <summary>A <c>displayed</c> marker to <paramref name="to"/> for the message with <paramref name="id"/>.</summary>
    public static Message Displayed(Jid to, string id)
    {
        var message = new Message { To = to, Type = MessageType.Chat };
        message.AddChild("displayed", Namespace).SetAttribute("id", id);

        // XEP-0334: archive it, so the owner's other clients (and one that was offline) learn the reply was read.
        message.Add(new XmppElement("store", ChatStates.HintsNamespace));
        return message;
    }
}
