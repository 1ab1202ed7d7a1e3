using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Xml;
using System.Xml.Linq;
using Parley.Testing;

namespace Parley.Xmpp.Tests.Harness;

/// <summary>
/// A deliberately primitive XMPP connection (socket, SslStream, XmlReader) for testing the server harness
/// independently of the library's own client.
/// </summary>
internal sealed class RawXmppConnection : IAsyncDisposable
{
    public static readonly XNamespace Streams = "http://etherx.jabber.org/streams";
    public static readonly XNamespace Tls = "urn:ietf:params:xml:ns:xmpp-tls";
    public static readonly XNamespace Sasl = "urn:ietf:params:xml:ns:xmpp-sasl";
    public static readonly XNamespace Bind = "urn:ietf:params:xml:ns:xmpp-bind";
    public static readonly XNamespace Client = "jabber:client";
    public static readonly XNamespace Component = "jabber:component:accept";
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(15);

    private readonly Socket _socket;
    private readonly XmppTestServer _server;
    private Stream _stream;
    private XmlReader? _reader;
    private int _ids;

    private RawXmppConnection(Socket socket, XmppTestServer server)
    {
        _socket = socket;
        _server = server;
        _stream = new NetworkStream(socket, ownsSocket: true);
    }

    /// <summary>The certificate the server presented in the TLS handshake, if there was one.</summary>
    public X509Certificate2? RemoteCertificate { get; private set; }

    /// <summary>The attributes of the last stream header received (no children).</summary>
    public XElement? StreamHeader { get; private set; }

    public static async Task<RawXmppConnection> ConnectAsync(XmppTestServer server, int port, bool directTls = false)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var timeout = new CancellationTokenSource(s_timeout);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout.Token);
        var connection = new RawXmppConnection(socket, server);
        if (directTls)
        {
            await connection.NegotiateTlsAsync();
        }

        return connection;
    }

    /// <summary>Logs in with SASL PLAIN over TLS (STARTTLS unless the connection is TLS already) and binds a resource.</summary>
    public static async Task<RawXmppConnection> LoginAsync(XmppTestServer server, TestAccount account)
    {
        var connection = await ConnectAsync(server, server.DirectTlsPort, directTls: true);
        try
        {
            await connection.OpenClientStreamAsync();
            var outcome = await connection.AuthenticatePlainAsync(account.Localpart, account.Password);
            if (outcome.Name != Sasl + "success")
            {
                throw new InvalidOperationException($"Login of {account} failed: {outcome}");
            }

            var features = await connection.OpenClientStreamAsync();
            Assert.NotNull(features.Element(Bind + "bind"));
            var bound = await connection.IqAsync(new XElement(Client + "iq", new XAttribute("type", "set"),
                new XElement(Bind + "bind", new XElement(Bind + "resource", "harness"))));
            Assert.Equal("result", (string?)bound.Attribute("type"));
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Sends a jabber:client stream header and returns the stream features.</summary>
    public async Task<XElement> OpenClientStreamAsync()
    {
        await OpenStreamAsync("jabber:client", _server.Domain);
        var features = await ReadElementAsync();
        Assert.Equal(Streams + "features", features.Name);
        return features;
    }

    /// <summary>Sends a stream header and reads the server's header (available as <see cref="StreamHeader"/>).</summary>
    public async Task<XElement> OpenStreamAsync(string contentNamespace, string to)
    {
        await SendAsync($"<?xml version='1.0'?><stream:stream to='{to}' version='1.0' xmlns='{contentNamespace}' xmlns:stream='http://etherx.jabber.org/streams'>");
        _reader = XmlReader.Create(_stream, new XmlReaderSettings
        {
            Async = true,
            CloseInput = false,
            DtdProcessing = DtdProcessing.Prohibit,
            XmlResolver = null,
            IgnoreComments = true,
            IgnoreProcessingInstructions = true,
        });
        await WithTimeout(async () =>
        {
            await _reader.MoveToContentAsync();
            return true;
        });
        Assert.Equal(XmlNodeType.Element, _reader.NodeType);
        StreamHeader = NewElement(_reader);
        Assert.Equal(Streams + "stream", StreamHeader.Name);
        return StreamHeader;
    }

    /// <summary>Upgrades the connection with STARTTLS (the features just read must offer it).</summary>
    public async Task StartTlsAsync()
    {
        await SendAsync("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
        var answer = await ReadElementAsync();
        Assert.Equal(Tls + "proceed", answer.Name);
        await NegotiateTlsAsync();
    }

    /// <summary>Sends SASL PLAIN and returns the server's answer (success or failure).</summary>
    public async Task<XElement> AuthenticatePlainAsync(string user, string password)
    {
        var token = Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{user}\0{password}"));
        await SendAsync($"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{token}</auth>");
        return await ReadElementAsync();
    }

    /// <summary>Sends an iq (an id is added) and returns the answer with the same id; other stanzas are skipped.</summary>
    public async Task<XElement> IqAsync(XElement iq)
    {
        var id = $"h{Interlocked.Increment(ref _ids)}";
        iq.SetAttributeValue("id", id);
        await SendAsync(iq.ToString(SaveOptions.DisableFormatting));
        for (var skipped = 0; skipped < 100; skipped++)
        {
            var element = await ReadElementAsync();
            if (element.Name.LocalName == "iq" && (string?)element.Attribute("id") == id)
            {
                return element;
            }
        }

        throw new InvalidOperationException($"No answer to iq {id} among 100 stanzas.");
    }

    public Task SendAsync(string xml) => WithTimeout(async () =>
    {
        await _stream.WriteAsync(Encoding.UTF8.GetBytes(xml));
        await _stream.FlushAsync();
        return true;
    });

    /// <summary>Reads the next top-level element of the stream.</summary>
    public Task<XElement> ReadElementAsync() => WithTimeout(async () =>
    {
        var reader = _reader ?? throw new InvalidOperationException("No stream open.");
        while (await reader.ReadAsync())
        {
            switch (reader.NodeType)
            {
                case XmlNodeType.Element:
                    return await BuildElementAsync(reader);
                case XmlNodeType.EndElement:
                    throw new EndOfStreamException("The server closed the stream.");
            }
        }

        throw new EndOfStreamException("The connection ended.");
    });

    public async ValueTask DisposeAsync()
    {
        _reader?.Dispose();
        await _stream.DisposeAsync();
        _socket.Dispose();
        RemoteCertificate?.Dispose();
    }

    private async Task NegotiateTlsAsync()
    {
        var tls = new SslStream(_stream, leaveInnerStreamOpen: false);
        using var timeout = new CancellationTokenSource(s_timeout);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = _server.Domain,
            RemoteCertificateValidationCallback = _server.ValidateCertificatePin,
        }, timeout.Token);
        RemoteCertificate = tls.RemoteCertificate is { } certificate ? new X509Certificate2(certificate) : null;
        _stream = tls;
        _reader = null;
    }

    // XElement.Load would read past the end tag and block on a live stream, so build elements node by node.
    private static async Task<XElement> BuildElementAsync(XmlReader reader)
    {
        var root = NewElement(reader);
        if (reader.IsEmptyElement)
        {
            return root;
        }

        var open = new Stack<XElement>();
        open.Push(root);
        while (await reader.ReadAsync())
        {
            switch (reader.NodeType)
            {
                case XmlNodeType.Element:
                    var element = NewElement(reader);
                    open.Peek().Add(element);
                    if (!reader.IsEmptyElement)
                    {
                        open.Push(element);
                    }

                    break;
                case XmlNodeType.Text or XmlNodeType.CDATA or XmlNodeType.Whitespace or XmlNodeType.SignificantWhitespace:
                    open.Peek().Add(new XText(await reader.GetValueAsync()));
                    break;
                case XmlNodeType.EndElement:
                    open.Pop();
                    if (open.Count == 0)
                    {
                        return root;
                    }

                    break;
            }
        }

        throw new EndOfStreamException("The connection ended inside an element.");
    }

    private static XElement NewElement(XmlReader reader)
    {
        var element = new XElement(XNamespace.Get(reader.NamespaceURI) + reader.LocalName);
        while (reader.MoveToNextAttribute())
        {
            if (reader.NamespaceURI != "http://www.w3.org/2000/xmlns/")
            {
                element.SetAttributeValue(XNamespace.Get(reader.NamespaceURI) + reader.LocalName, reader.Value);
            }
        }

        reader.MoveToElement();
        return element;
    }

    // XmlReader and SslStream writes take no token: on timeout the socket is closed, which fails the pending call.
    private async Task<T> WithTimeout<T>(Func<Task<T>> operation)
    {
        using var timeout = new CancellationTokenSource(s_timeout);
        using var registration = timeout.Token.Register(() => _socket.Dispose());
        try
        {
            return await operation();
        }
        catch (Exception e) when (timeout.IsCancellationRequested && e is IOException or ObjectDisposedException or SocketException)
        {
            throw new TimeoutException($"No answer from {_server.Kind} within {s_timeout.TotalSeconds} s.", e);
        }
    }
}
