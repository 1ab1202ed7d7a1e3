using Microsoft.Extensions.Logging;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp;

/// <summary>
/// The first steps of a client stream, before authentication: connect (TCP or direct TLS), open the stream,
/// STARTTLS under the rules of <see cref="TlsMode"/> (RFC 6120 §5), and IQ round trips while no reader runs.
/// In-band registration stops here; <see cref="XmppClient"/> goes on with SASL and binding.
/// </summary>
internal static class ClientStreamSetup
{
    /// <summary>How many unrelated elements a negotiation round trip skips before it gives up on the answer.</summary>
    private const int MaxSkippedElements = 100;

    /// <summary>Connects and returns a stream that is encrypted as <paramref name="options"/> demand, with the server's latest features.</summary>
    /// <param name="domain">The server's domain.</param>
    /// <param name="fromWhenEncrypted">The <c>from</c> of the stream header once encrypted (RFC 6120 §4.7.1), or <see langword="null"/>.</param>
    /// <param name="options">Where to connect and how to encrypt.</param>
    /// <param name="logger">The connection logger.</param>
    /// <param name="trafficLogger">The traffic logger (secrets redacted).</param>
    /// <param name="cancellationToken">Cancels the attempt.</param>
    public static async Task<(XmppStream Stream, XmppElement Features)> ConnectAndSecureAsync(
        string domain, string? fromWhenEncrypted, XmppConnectionOptions options, ILogger logger, ILogger trafficLogger, CancellationToken cancellationToken)
    {
        var transport = await XmppTransport.ConnectAsync(domain, options, logger, cancellationToken).ConfigureAwait(false);
        var stream = new XmppStream(transport, options.XmlLimits, XmppNamespaces.Client, trafficLogger);
        try
        {
            var features = await OpenAsync(stream, domain, fromWhenEncrypted, cancellationToken).ConfigureAwait(false);
            if (!transport.IsEncrypted && options.Tls != TlsMode.None)
            {
                if (features.Element("starttls", XmppNamespaces.Tls) is not null)
                {
                    await stream.WriteAsync(new XmppElement("starttls", XmppNamespaces.Tls), cancellationToken).ConfigureAwait(false);
                    var answer = await stream.ReadElementAsync(cancellationToken).ConfigureAwait(false);
                    if (answer.Name != "proceed" || answer.Namespace != XmppNamespaces.Tls)
                    {
                        throw new XmppTlsException($"The server refused STARTTLS (<{answer.Name}/>).");
                    }

                    await stream.UpgradeToTlsAsync(domain, cancellationToken).ConfigureAwait(false);
                    features = await OpenAsync(stream, domain, fromWhenEncrypted, cancellationToken).ConfigureAwait(false);
                }
                else if (options.Tls == TlsMode.StartTlsRequired)
                {
                    throw new XmppTlsException($"The server at {transport.Remote} does not offer STARTTLS; refusing to continue unencrypted (TlsMode.StartTlsRequired).");
                }
            }

            return (stream, features);
        }
        catch
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Sends a stream header and reads the server's header and features.</summary>
    public static async Task<XmppElement> OpenAsync(XmppStream stream, string domain, string? fromWhenEncrypted, CancellationToken cancellationToken)
    {
        var from = stream.Transport.IsEncrypted ? fromWhenEncrypted : null;
        await stream.OpenAsync(domain, from, cancellationToken).ConfigureAwait(false);
        var features = await stream.ReadElementAsync(cancellationToken).ConfigureAwait(false);
        if (features.Name != "features" || features.Namespace != XmppNamespaces.Streams)
        {
            throw new XmppProtocolException($"Expected <stream:features/>, got <{features.Name} xmlns='{features.Namespace}'/>.", "invalid-xml");
        }

        return features;
    }

    /// <summary>
    /// An IQ round trip on a stream whose reader does not run yet: writes the request and reads until the response with
    /// its id. Before authentication only the server talks to us, so other elements are skipped (up to a limit).
    /// </summary>
    /// <exception cref="XmppStanzaException">The server answered with an error.</exception>
    public static async Task<Iq> RoundTripAsync(XmppStream stream, Iq request, CancellationToken cancellationToken)
    {
        await stream.WriteAsync(request, cancellationToken).ConfigureAwait(false);
        for (var skipped = 0; skipped <= MaxSkippedElements; skipped++)
        {
            var element = await stream.ReadElementAsync(cancellationToken).ConfigureAwait(false);
            if (element is Iq { IsRequest: false } response && response.Id == request.Id)
            {
                if (response.Type == IqType.Error)
                {
                    throw new XmppStanzaException(response.Error ?? new StanzaError("undefined-condition", StanzaErrorType.Cancel), response.From);
                }

                return response;
            }
        }

        throw new XmppProtocolException($"The server sent more than {MaxSkippedElements} other elements instead of answering IQ '{request.Id}'.", "policy-violation");
    }
}
