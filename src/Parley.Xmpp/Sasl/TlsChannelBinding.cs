using System.Buffers.Binary;
using System.Formats.Asn1;
using System.Net.Security;
using System.Runtime.InteropServices;
using System.Security.Authentication;
using System.Security.Authentication.ExtendedProtection;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Parley.Xmpp.Sasl;

/// <summary>Reads the channel bindings (RFC 5056) a client-side <see cref="SslStream"/> can provide for SCRAM-*-PLUS.</summary>
/// <remarks>
/// <para>What each side can do, checked on .NET 10.0.12 with OpenSSL 3 (Debian 12) against Prosody 0.12.3 and
/// ejabberd 23.01 (SCRAM logins over STARTTLS and direct TLS, TLS 1.2 and 1.3):</para>
/// <list type="bullet">
/// <item><c>tls-exporter</c> (RFC 9266, the binding meant for TLS 1.3): not obtainable. .NET 10 has no keying-material
/// exporter (API proposal dotnet/runtime#112529 is still open) and no public way to reach the OpenSSL handle.</item>
/// <item><c>tls-unique</c> (RFC 5929 §3): <c>TransportContext.GetChannelBinding(ChannelBindingKind.Unique)</c>. The handle
/// holds a 32-byte SEC_CHANNEL_BINDINGS header whose application data is <c>"tls-unique:"</c> and the first Finished
/// message (12 bytes on TLS 1.2; .NET takes the server's Finished for a resumed session, as RFC 5929 says). .NET returns
/// a value on TLS 1.3 too (the 48-byte client Finished), and ejabberd 23.01 accepts it (tried), but RFC 9266 forbids
/// tls-unique on TLS 1.3, so it is offered for TLS 1.2 only.</item>
/// <item><c>tls-server-end-point</c> (RFC 5929 §4): computed here from <see cref="SslStream.RemoteCertificate"/>, the hash of
/// the DER certificate with the hash of its signature algorithm (MD5 and SHA-1 become SHA-256). Works on every TLS version.
/// (<c>ChannelBindingKind.Endpoint</c> gives the same bytes after a <c>"tls-server-end-point:"</c> prefix; computing it
/// ourselves avoids the native layout and covers RSA-PSS.)</item>
/// </list>
/// <para>Servers. Prosody 0.12 implements tls-unique only, offers -PLUS only on TLS 1.2 ("Channel binding 'tls-unique'
/// undefined in context of TLS 1.3" in its log), announces no XEP-0440 list, and answers the <c>y</c> GS2 flag with
/// malformed-request whenever it offered -PLUS (downgrade detection). ejabberd 23.01 (xmpp 1.6.1) implements tls-unique only,
/// announces no XEP-0440 list, offers -PLUS on every TLS connection including TLS 1.3, and accepts <c>y</c> regardless.
/// Both take the client's Finished as tls-unique even for a resumed session, which would break -PLUS after a TLS 1.2
/// resumption; neither resumes TLS 1.2 sessions in these versions (no session id, no ticket), so it does not arise.
/// Net effect: SCRAM-*-PLUS with tls-unique on TLS 1.2; on TLS 1.3 no common binding, so plain SCRAM with
/// <c>y</c> (Prosody: no -PLUS offered) or <c>n</c> (ejabberd: -PLUS offered but unusable). tls-server-end-point only
/// helps with servers that announce it through XEP-0440 (not these two versions).</para>
/// </remarks>
internal static class TlsChannelBinding
{
    /// <summary>RFC 9266.</summary>
    public const string TlsExporter = "tls-exporter";

    /// <summary>RFC 5929 §3.</summary>
    public const string TlsUnique = "tls-unique";

    /// <summary>RFC 5929 §4.</summary>
    public const string TlsServerEndPoint = "tls-server-end-point";

    // SEC_CHANNEL_BINDINGS: eight 32-bit fields; cbApplicationDataLength and dwApplicationDataOffset are the last two.
    private const int SecChannelBindingsSize = 32;
    private const int MaxBindingHandleSize = 4096;

    /// <summary>The bindings available on an authenticated client stream, best first.</summary>
    /// <param name="stream">A stream after <c>AuthenticateAsClientAsync</c>.</param>
    /// <returns>tls-unique (TLS 1.2 only), then tls-server-end-point (when the certificate's signature algorithm defines a hash).</returns>
    /// <exception cref="InvalidOperationException">The stream is not authenticated.</exception>
    public static IReadOnlyList<ChannelBinding> Get(SslStream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.IsAuthenticated)
        {
            throw new InvalidOperationException("The TLS handshake has not completed.");
        }

        // tls-unique binds to this very connection, tls-server-end-point only to the server's certificate: unique first.
        // (TLS 1.0 and 1.1 would qualify for tls-unique as well; they are obsolete and not considered.)
        var bindings = new List<ChannelBinding>(2);
        if (stream.SslProtocol == SslProtocols.Tls12)
        {
            if (GetTlsUnique(stream) is { } unique)
            {
                bindings.Add(new ChannelBinding(TlsUnique, unique));
            }
        }

        if (stream.RemoteCertificate is { } remote)
        {
            var certificate = remote as X509Certificate2;
            using var loaded = certificate is null ? X509CertificateLoader.LoadCertificate(remote.GetRawCertData()) : null;
            if (ComputeTlsServerEndPoint(certificate ?? loaded!) is { } endPoint)
            {
                bindings.Add(new ChannelBinding(TlsServerEndPoint, endPoint));
            }
        }

        return bindings;
    }

    /// <summary>The tls-server-end-point binding of a server certificate (RFC 5929 §4.1), or <see langword="null"/> when it is undefined for its signature algorithm.</summary>
    /// <param name="certificate">The server's end-entity certificate.</param>
    internal static byte[]? ComputeTlsServerEndPoint(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var hash = GetEndPointHash(certificate);
        return hash is { } name ? CryptographicOperations.HashData(name, certificate.RawData) : null;
    }

    // RFC 5929 §4.1: the hash of the signature algorithm, MD5 and SHA-1 replaced by SHA-256; undefined for
    // algorithms with no or several hashes (Ed25519, Ed448) and for hashes .NET does not have (SHA-224).
    private static HashAlgorithmName? GetEndPointHash(X509Certificate2 certificate) => certificate.SignatureAlgorithm.Value switch
    {
        "1.2.840.113549.1.1.4" or "1.2.840.113549.1.1.5" or "1.2.840.113549.1.1.11" => HashAlgorithmName.SHA256, // RSA with MD5, SHA-1, SHA-256
        "1.2.840.113549.1.1.12" => HashAlgorithmName.SHA384,
        "1.2.840.113549.1.1.13" => HashAlgorithmName.SHA512,
        "1.2.840.10045.4.1" or "1.2.840.10045.4.3.2" => HashAlgorithmName.SHA256, // ECDSA with SHA-1, SHA-256
        "1.2.840.10045.4.3.3" => HashAlgorithmName.SHA384,
        "1.2.840.10045.4.3.4" => HashAlgorithmName.SHA512,
        "1.2.840.10040.4.3" or "2.16.840.1.101.3.4.3.2" => HashAlgorithmName.SHA256, // DSA with SHA-1, SHA-256
        "1.2.840.113549.1.1.10" => GetPssHash(certificate),
        _ => null,
    };

    // RSASSA-PSS carries its hash in the parameters (RFC 4055 §3.1); absent means SHA-1, which becomes SHA-256.
    private static HashAlgorithmName? GetPssHash(X509Certificate2 certificate)
    {
        try
        {
            var certificateSequence = new AsnReader(certificate.RawData, AsnEncodingRules.DER).ReadSequence();
            certificateSequence.ReadSequence(); // tbsCertificate
            var algorithm = certificateSequence.ReadSequence(); // signatureAlgorithm
            algorithm.ReadObjectIdentifier();
            if (!algorithm.HasData)
            {
                return HashAlgorithmName.SHA256;
            }

            var parameters = algorithm.ReadSequence();
            var hashTag = new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true);
            if (!parameters.HasData || !parameters.PeekTag().HasSameClassAndValue(hashTag))
            {
                return HashAlgorithmName.SHA256;
            }

            var hashAlgorithm = parameters.ReadSequence(hashTag).ReadSequence();
            return hashAlgorithm.ReadObjectIdentifier() switch
            {
                "1.3.14.3.2.26" or "2.16.840.1.101.3.4.2.1" => HashAlgorithmName.SHA256,
                "2.16.840.1.101.3.4.2.2" => HashAlgorithmName.SHA384,
                "2.16.840.1.101.3.4.2.3" => HashAlgorithmName.SHA512,
                _ => null,
            };
        }
        catch (AsnContentException)
        {
            return null;
        }
    }

    private static byte[]? GetTlsUnique(SslStream stream)
    {
        using var binding = stream.TransportContext.GetChannelBinding(ChannelBindingKind.Unique);
        if (binding is null || binding.IsInvalid || binding.Size is <= SecChannelBindingsSize or > MaxBindingHandleSize)
        {
            return null;
        }

        var raw = new byte[binding.Size];
        var added = false;
        try
        {
            binding.DangerousAddRef(ref added);
            Marshal.Copy(binding.DangerousGetHandle(), raw, 0, raw.Length);
        }
        finally
        {
            if (added)
            {
                binding.DangerousRelease();
            }
        }

        var length = BinaryPrimitives.ReadInt32LittleEndian(raw.AsSpan(24));
        var offset = BinaryPrimitives.ReadInt32LittleEndian(raw.AsSpan(28));
        if (offset < SecChannelBindingsSize || length <= 0 || length > raw.Length - offset)
        {
            return null;
        }

        // The application data is "tls-unique:" followed by the Finished message.
        var data = raw.AsSpan(offset, length);
        var prefix = "tls-unique:"u8;
        if (data.StartsWith(prefix))
        {
            data = data[prefix.Length..];
        }

        return data.IsEmpty ? null : data.ToArray();
    }
}
