
namespace Parley.Web.Storage;

/// <summary>Who sent a message.</summary>
internal enum Direction
{
    /// <summary>The visitor wrote it; it goes to the owner.</summary>
    Visitor,

    /// <summary>The owner wrote it from their XMPP client.</summary>
    Owner,
}

/// <summary>
/// Where a message is. A visitor's message is <see cref="Pending"/> from the moment it is stored until the XMPP server
/// has confirmed it (<see cref="Sent"/>), and <see cref="Delivered"/> when the owner's client confirms it (XEP-0184).
/// An owner's message is stored as <see cref="Sent"/>: it has reached the gateway and will be shown to the visitor.
/// <see cref="Seen"/>: a visitor's message the owner's client has displayed (a XEP-0333 marker), or an owner's message a
/// visitor's tab has shown. <see cref="Undelivered"/>: the owner's server bounced it (the owner blocked the visitor,
/// XEP-0191); it stays so. States only move forward, in the order pending, sent, delivered, seen.
/// </summary>
internal enum MessageState
{
    Pending,
    Sent,
    Delivered,
    Undelivered,
    Seen,
}

/// <summary>The issuer every guest identity has (the sign-in side names it too).</summary>
internal static class VisitorIssuers
{
    public const string Guest = "guest";
}

/// <summary>A visitor: one identity (issuer + subject) with a stable id that is also their JID's localpart.</summary>
internal sealed record Visitor(string Id, string Issuer, string Subject, string DisplayName, bool SubscriptionRequested);

/// <summary>
/// A stored message. <see cref="Seq"/> is the visitor's change number: it grows with every insert and every state change
/// of that visitor's messages, so "everything after N" catches a tab up. <see cref="Automatic"/> marks the gateway's
/// automatic reply, stored as the owner's message but never written by the owner. <see cref="ClientId"/>: the id the
/// visitor's page gave the message (a retry names it again); <see cref="Markable"/>: the owner's message asked for chat
/// markers (XEP-0333); <see cref="Resent"/>: the visitor's message was sent a second time, because the owner's client
/// acknowledged a later one and not it.
/// </summary>
internal sealed record ChatMessage(
    long Id, string VisitorId, Direction Direction, string Text, DateTimeOffset Timestamp, MessageState State, string StanzaId, long Seq,
    Attachment? Attachment = null, bool Automatic = false, string? ClientId = null, bool Markable = false, bool Resent = false);

/// <summary>A file a message carries: its download URL (also the message text), the name to show, and size and type when known.</summary>
internal sealed record Attachment(string Url, string Name, long? Size, string? Type);

/// <summary>
/// A visitor's real account on the owner's server (account mode). <see cref="ProtectedPassword"/> is the password after
/// ASP.NET Data Protection: the database never holds it in clear, and it never leaves the gateway.
/// </summary>
internal sealed record VisitorAccount(string VisitorId, string Jid, string ProtectedPassword, bool Provisioned);
