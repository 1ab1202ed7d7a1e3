using Microsoft.Extensions.Logging;
using Parley.Xmpp.Core;
using Parley.Xmpp.Net;

namespace Parley.Xmpp;

/// <summary>The settings of an <see cref="XmppComponent"/>.</summary>
public sealed class XmppComponentOptions : XmppConnectionOptions
{
    /// <summary>Creates options; components speak plain TCP to a server on the same host by default (XEP-0114 has no TLS).</summary>
    public XmppComponentOptions() => Tls = TlsMode.None;

    /// <summary>The component's domain, e.g. <c>chat.example.org</c>.</summary>
    public required string Domain { get; set; }

    /// <summary>The shared secret configured on the server.</summary>
    public required string Secret { get; set; }

    /// <summary>
    /// The server's own domain, where <see cref="XmppEndpoint.ConfirmSentAsync"/> sends its ping; default: the
    /// component's domain without its first label (<c>chat.example.org</c> → <c>example.org</c>).
    /// </summary>
    public string? ServerDomain { get; set; }

    internal override void Validate()
    {
        base.Validate();
        ArgumentException.ThrowIfNullOrEmpty(Domain, nameof(Domain));
        ArgumentException.ThrowIfNullOrEmpty(Secret, nameof(Secret));
        ArgumentException.ThrowIfNullOrEmpty(Host, nameof(Host));
        if (Port is null)
        {
            throw new ArgumentException("A component needs the server's component port.", nameof(Port));
        }

        if (Tls is TlsMode.StartTlsRequired or TlsMode.StartTlsIfOffered)
        {
            throw new ArgumentException("XEP-0114 has no STARTTLS; use TlsMode.None, or DirectTls behind a TLS terminator.", nameof(Tls));
        }
    }
}

/// <summary>
/// An external component (XEP-0114): one connection that sends and receives for every address of its domain
/// (<c>anyone@chat.example.org</c>). Stanzas without a sender are sent from the component's domain.
/// </summary>
public sealed class XmppComponent : XmppEndpoint
{
    /// <summary>Creates a component. Nothing happens on the network until <see cref="XmppEndpoint.ConnectAsync"/>.</summary>
    /// <param name="options">Domain, secret and the server's component port.</param>
    /// <param name="loggerFactory">Where to log.</param>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public XmppComponent(XmppComponentOptions options, ILoggerFactory? loggerFactory = null)
        : base(options, loggerFactory, (events, logger, traffic) => new ComponentSession(options, ParseDomain(options), events, logger, traffic))
    {
        Disco.AddIdentity(new Im.DiscoIdentity("component", "generic", options.Domain));
    }

    private static Jid ParseDomain(XmppComponentOptions options)
    {
        var domain = Jid.Parse(options.Domain);
        if (domain.Local is not null || domain.Resource is not null)
        {
            throw new ArgumentException("A component domain is a bare domain, e.g. chat.example.org.", nameof(options));
        }

        return domain;
    }
}
