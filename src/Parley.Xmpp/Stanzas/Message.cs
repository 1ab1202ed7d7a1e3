using Parley.Xmpp.Core;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp.Stanzas;

/// <summary>The type of a message (RFC 6121 §5.2.2).</summary>
public enum MessageType
{
    /// <summary>A standalone message (the default when the attribute is absent).</summary>
    Normal,
    /// <summary>One-to-one chat.</summary>
    Chat,
    /// <summary>Multi-user chat.</summary>
    GroupChat,
    /// <summary>An alert or notification that needs no reply.</summary>
    Headline,
    /// <summary>An error about a message sent earlier.</summary>
    Error,
}

/// <summary>A <c>&lt;message/&gt;</c> stanza.</summary>
public sealed class Message : Stanza
{
    /// <summary>Creates an empty message.</summary>
    public Message()
        : base("message")
    {
    }

    /// <summary>Creates a message with a body.</summary>
    /// <param name="to">The addressee.</param>
    /// <param name="body">The text, or <see langword="null"/> for none.</param>
    /// <param name="type">The message type.</param>
    public Message(Jid to, string? body, MessageType type = MessageType.Chat)
        : base("message")
    {
        To = to;
        Type = type;
        Body = body;
    }

    internal Message(string @namespace)
        : base("message", @namespace, nameChecked: true)
    {
    }

    private Message(Message other)
        : base(other)
    {
    }

    /// <summary>The message type; unknown values read as <see cref="MessageType.Normal"/> (RFC 6121 §5.2.2).</summary>
    public MessageType Type
    {
        get => GetAttribute("type") switch
        {
            "chat" => MessageType.Chat,
            "groupchat" => MessageType.GroupChat,
            "headline" => MessageType.Headline,
            "error" => MessageType.Error,
            _ => MessageType.Normal,
        };
        set => SetAttribute("type", value switch
        {
            MessageType.Chat => "chat",
            MessageType.GroupChat => "groupchat",
            MessageType.Headline => "headline",
            MessageType.Error => "error",
            _ => "normal",
        });
    }

    /// <summary>The body text (the one without <c>xml:lang</c>, else the first), or <see langword="null"/>.</summary>
    public string? Body
    {
        get => ElementText("body");
        set => SetChildText("body", value);
    }

    /// <summary>The subject, or <see langword="null"/>.</summary>
    public string? Subject
    {
        get => ElementText("subject");
        set => SetChildText("subject", value);
    }

    /// <summary>The conversation thread id, or <see langword="null"/>.</summary>
    public string? Thread
    {
        get => ElementText("thread");
        set => SetChildText("thread", value);
    }

    /// <summary>The XEP-0203 delay stamp, when the server or a peer delayed this message.</summary>
    public Delay? Delay => Delay.FromStanza(this);

    /// <summary>Creates a reply to this message: addressed to its sender, same type and thread.</summary>
    /// <param name="body">The reply text.</param>
    /// <exception cref="InvalidOperationException">The message has no sender.</exception>
    public Message CreateReply(string? body)
    {
        var from = From ?? throw new InvalidOperationException("The message has no sender to reply to.");
        var reply = new Message(from, body, Type == MessageType.Error ? MessageType.Normal : Type);
        if (Thread is { } thread)
        {
            reply.Thread = thread;
        }

        return reply;
    }

    /// <inheritdoc />
    public override XmppElement Clone() => new Message(this);

    private void SetChildText(string name, string? value)
    {
        var existing = Element(name);
        if (value is null)
        {
            if (existing is not null)
            {
                Remove(existing);
            }
        }
        else if (existing is not null)
        {
            existing.Text = value;
        }
        else
        {
            AddChild(name, text: value);
        }
    }
}
