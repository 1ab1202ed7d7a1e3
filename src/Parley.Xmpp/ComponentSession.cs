using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp;

/// <summary>The external component's side of the engine (XEP-0114): the handshake, and its domain as the default sender.</summary>
internal sealed class ComponentSession : XmppSession
{
    private readonly XmppComponentOptions _options;
    private readonly Jid _domain;

    public ComponentSession(XmppComponentOptions options, Jid domain, ISessionEvents events, ILogger logger, ILogger trafficLogger)
        : base(options, events, logger, trafficLogger)
    {
        _options = options;
        _domain = domain;
    }

    public override Jid? Jid => _domain;

    public override Jid ServerAddress => Jid.Create(null, _options.ServerDomain ?? ParentDomain(_options.Domain));

    /// <summary>The domain a component's subdomain belongs to (<c>chat.example.org</c> → <c>example.org</c>); itself when it has no parent.</summary>
    private static string ParentDomain(string domain) => domain.IndexOf('.', StringComparison.Ordinal) is var dot and > 0 && dot < domain.Length - 1 ? domain[(dot + 1)..] : domain;

    protected override void PrepareOutgoing(Stanza stanza)
    {
        if (stanza.GetAttribute("from") is null)
        {
            stanza.From = _domain;
        }
    }

    protected override async Task<XmppStream> EstablishStreamAsync(bool isReconnect, CancellationToken cancellationToken)
    {
        var transport = await XmppTransport.ConnectAsync(_options.Domain, _options, Logger, cancellationToken).ConfigureAwait(false);
        var stream = new XmppStream(transport, _options.XmlLimits, XmppNamespaces.Component, TrafficLogger);
        try
        {
            await stream.OpenAsync(_options.Domain, from: null, cancellationToken).ConfigureAwait(false);
            var streamId = stream.StreamId ?? throw new XmppProtocolException("The server's stream header has no id; the handshake needs it.", "invalid-xml");

            // XEP-0114 §3: hex SHA-1 of the stream id followed by the secret.
            var digest = Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(streamId + _options.Secret)));
            await stream.WriteAsync(new XmppElement("handshake", XmppNamespaces.Component) { Text = digest }, cancellationToken).ConfigureAwait(false);
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
