using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Parley.Xmpp.Internal;
using Parley.Xmpp.Net;
using Parley.Xmpp.Stanzas;

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
    private readonly XmppComponentOptions _options;
    private readonly Jid _domain;

    /// <summary>Creates a component. Nothing happens on the network until <see cref="XmppEndpoint.ConnectAsync"/>.</summary>
    /// <param name="options">Domain, secret and the server's component port.</param>
    /// <param name="loggerFactory">Where to log.</param>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public XmppComponent(XmppComponentOptions options, ILoggerFactory? loggerFactory = null)
        : base(options, loggerFactory, XmppNamespaces.Component)
    {
        _options = options;
        _domain = Jid.Parse(options.Domain);
        if (_domain.Local is not null || _domain.Resource is not null)
        {
            throw new ArgumentException("A component domain is a bare domain, e.g. chat.example.org.", nameof(options));
        }

        Disco.AddIdentity(new Im.DiscoIdentity("component", "generic", options.Domain));
    }

    /// <inheritdoc />
    public override Jid? Jid => _domain;

    private protected override void PrepareOutgoing(Stanza stanza)
    {
        if (stanza.GetAttribute("from") is null)
        {
            stanza.From = _domain;
        }
    }

    private protected override async Task<XmppStream> EstablishStreamAsync(bool isReconnect, CancellationToken cancellationToken)
    {
        var transport = await XmppTransport.ConnectAsync(_options.Domain, _options, Logger, cancellationToken).ConfigureAwait(false);
        var stream = new XmppStream(transport, _options.XmlLimits, XmppNamespaces.Component, TrafficLogger);
        try
        {
            await stream.OpenAsync(_options.Domain, from: null, cancellationToken).ConfigureAwait(false);
            var streamId = stream.StreamId ?? throw new XmppProtocolException("The server's stream header has no id; the handshake needs it.", "invalid-xml");

            // XEP-0114 §3: hex SHA-1 of the stream id followed by the secret.
            var digest = Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(streamId + _options.Secret)));
            await stream.WriteAsync(new Xml.XmppElement("handshake", XmppNamespaces.Component) { Text = digest }, cancellationToken).ConfigureAwait(false);
            try
            {
                var answer = await stream.ReadElementAsync(cancellationToken).ConfigureAwait(false);
                if (answer.Name != "handshake")
                {
                    throw new XmppProtocolException($"Expected <handshake/>, got <{answer.Name}/>.", "invalid-xml");
                }
            }
            catch (XmppStreamErrorException ex) when (ex.Condition is "not-authorized" or "host-unknown" or "conflict")
            {
                throw new XmppAuthenticationException(ex.Condition, $"The server refused component {_options.Domain}: {ex.Message}", ex);
            }

            Log.ComponentConnected(Logger, _options.Domain);
            return stream;
        }
        catch
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}
