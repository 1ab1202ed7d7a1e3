using System.Net.Security;
using System.Security.Authentication;
using Parley.Xmpp.Core;
using Parley.Xmpp.Net;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp;

/// <summary>How a connection is encrypted.</summary>
public enum TlsMode
{
    /// <summary>Plain TCP, then STARTTLS; the connection fails if the server does not offer it. The default.</summary>
    StartTlsRequired,
    /// <summary>TLS from the first byte (XEP-0368, usually port 5223).</summary>
    DirectTls,
    /// <summary>STARTTLS when offered, plain text otherwise. Only for loopback tests; PLAIN is still refused without TLS.</summary>
    StartTlsIfOffered,
    /// <summary>Never encrypt. Only for loopback tests and components on the same host.</summary>
    None,
}

/// <summary>The settings of one connection: where to connect, how to encrypt, limits and timeouts.</summary>
public abstract class XmppConnectionOptions
{
    /// <summary>Connect to this host instead of resolving the domain's SRV records (a server known only by its address and port).</summary>
    public string? Host { get; set; }

    /// <summary>The port to use with <see cref="Host"/> (default 5222, or 5223 with <see cref="TlsMode.DirectTls"/>).</summary>
    public int? Port { get; set; }

    /// <summary>How to encrypt. Default <see cref="TlsMode.StartTlsRequired"/>.</summary>
    public TlsMode Tls { get; set; } = TlsMode.StartTlsRequired;

    private readonly List<string> _trustedCertificates = [];

    /// <summary>
    /// SHA-256 fingerprints (lower-case hex of the certificate's DER bytes) of server certificates trusted even when
    /// the chain does not validate — for self-signed servers. Add with <see cref="TrustCertificate"/>.
    /// </summary>
    public IReadOnlyList<string> TrustedCertificateSha256 => _trustedCertificates;

    /// <summary>Trusts the server certificate with this SHA-256 fingerprint (of its DER bytes; hex, colons and case ignored).</summary>
    /// <param name="sha256">The fingerprint, e.g. <c>3A:5F:…</c>.</param>
    /// <exception cref="FormatException">Not 64 hex digits.</exception>
    public void TrustCertificate(string sha256) => _trustedCertificates.Add(CertificatePinning.NormalizeFingerprint(sha256));

    /// <summary>A custom validation callback; when set it replaces the default check (system trust store plus pinned fingerprints).</summary>
    public RemoteCertificateValidationCallback? CertificateValidation { get; set; }

    /// <summary>The TLS versions to offer. Default TLS 1.2 and 1.3.</summary>
    public SslProtocols TlsProtocols { get; set; } = SslProtocols.Tls12 | SslProtocols.Tls13;

    /// <summary>How long one TCP connect + TLS handshake may take. Default 15 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long the whole stream negotiation (TLS, authentication, binding) may take. Default 30 s.</summary>
    public TimeSpan NegotiationTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long to wait for an IQ response when the caller gives no timeout. Default 30 s.</summary>
    public TimeSpan DefaultIqTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Limits applied to everything the server sends.</summary>
    public XmlLimits XmlLimits { get; set; } = XmlLimits.Default;

    /// <summary>Idle time after which a ping (XEP-0199) checks the link; <see cref="TimeSpan.Zero"/> disables it. Default 60 s.</summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How many received stanzas may wait for their handlers before the connection is closed as overloaded. Default 100,000.</summary>
    public int MaxPendingInboundStanzas { get; set; } = 100_000;

    /// <summary>Reconnect automatically after the link drops. Default on.</summary>
    public ReconnectPolicy Reconnect { get; set; } = new();

    internal virtual void Validate()
    {
        if (Port is < 1 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(Port), Port, "The port must be 1 to 65535.");
        }

        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ConnectTimeout, TimeSpan.Zero, nameof(ConnectTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(NegotiationTimeout, TimeSpan.Zero, nameof(NegotiationTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(DefaultIqTimeout, TimeSpan.Zero, nameof(DefaultIqTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxPendingInboundStanzas, 1, nameof(MaxPendingInboundStanzas));
    }
}

/// <summary>The settings of an <see cref="XmppClient"/>.</summary>
public sealed class XmppClientOptions : XmppConnectionOptions
{
    /// <summary>The account. A full JID asks the server for that resource.</summary>
    public required Jid Jid { get; set; }

    /// <summary>The password.</summary>
    public required string Password { get; set; }

    /// <summary>Allow SASL PLAIN on an unencrypted stream (loopback tests only). Default off.</summary>
    public bool AllowPlainWithoutTls { get; set; }

    /// <summary>Use stream management (XEP-0198) when the server offers it: acks, resumption, no lost stanzas. Default on.</summary>
    public bool StreamManagement { get; set; } = true;

    /// <summary>
    /// How long an acknowledgement request (XEP-0198 <c>&lt;r/&gt;</c>) may stay unanswered before the connection is taken for
    /// broken: it is closed and replaced by a new session (not resumed: a server that reads our stream but stops answering
    /// on it has a broken session — Prosody 0.12 after resuming a connection that was cut in the middle of a stanza), and
    /// the unacknowledged stanzas are sent again. <see cref="TimeSpan.Zero"/> disables it. Default 30 s.
    /// </summary>
    public TimeSpan AckTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The software name announced in disco and entity capabilities.</summary>
    public string SoftwareName { get; set; } = "Parley";

    internal override void Validate()
    {
        base.Validate();
        ArgumentNullException.ThrowIfNull(Jid, nameof(Jid));
        if (Jid.Local is null)
        {
            throw new ArgumentException("A client JID needs a local part (user@domain).", nameof(Jid));
        }

        ArgumentNullException.ThrowIfNull(Password, nameof(Password));
        ArgumentOutOfRangeException.ThrowIfLessThan(AckTimeout, TimeSpan.Zero, nameof(AckTimeout));
    }
}

/// <summary>When and how often to reconnect after a dropped connection: exponential backoff with jitter.</summary>
public sealed record ReconnectPolicy
{
    /// <summary>Whether to reconnect at all.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>The first delay. Default 0.5 s.</summary>
    public TimeSpan InitialDelay { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The longest delay. Default 60 s.</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How many attempts before giving up; <see langword="null"/> for no limit.</summary>
    public int? MaxAttempts { get; init; }

    /// <summary>No reconnecting.</summary>
    public static ReconnectPolicy Disabled { get; } = new() { Enabled = false };

    /// <summary>The delay before attempt <paramref name="attempt"/> (1-based): full jitter over an exponential ceiling.</summary>
    /// <param name="attempt">The attempt number.</param>
    internal TimeSpan GetDelay(int attempt)
    {
        var ceiling = Math.Min(MaxDelay.TotalMilliseconds, InitialDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt - 1, 30)));
        var jittered = (ceiling / 2) + (Random.Shared.NextDouble() * ceiling / 2);
        return TimeSpan.FromMilliseconds(jittered);
    }
}
