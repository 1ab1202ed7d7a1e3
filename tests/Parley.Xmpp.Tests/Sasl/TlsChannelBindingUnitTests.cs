using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Authentication;
using System.Security.Authentication.ExtendedProtection;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Parley.Xmpp.Sasl;

namespace Parley.Xmpp.Tests.Sasl;

public class TlsChannelBindingUnitTests
{
    // openssl req -x509 -newkey ed25519 -subj /CN=ed25519.example (Ed25519 has no separate hash: the binding is undefined).
    private const string Ed25519Certificate =
        "MIIBSjCB/aADAgECAhQo1B260p0AgTdmt7jHNAs9UARcyjAFBgMrZXAwGjEYMBYGA1UEAwwPZWQyNTUxOS5leGFtcGxlMCAXDTI2MTEyMjAxMjYyMloYDzIxMjYxMDI5MDEy"
        + "NjIyWjAaMRgwFgYDVQQDDA9lZDI1NTE5LmV4YW1wbGUwKjAFBgMrZXADIQDIUMorazl0sWAqKaIDmc1nHdqlobw41QhmYb1bgqbHraNTMFEwHQYDVR0OBBYEFLu9k8sdLX/u"
        + "2qp++p+L5ah1smZHMB8GA1UdIwQYMBaAFLu9k8sdLX/u2qp++p+L5ah1smZHMA8GA1UdEwEB/wQFMAMBAf8wBQYDK2VwA0EAlxsHZ94qbvpJjoQ/74YMNn8h05igymfImbh6"
        + "BfFcSmuWCtpwUGnVOgOd+10+IB8j5zbYysLxaHsB+u1HldPZDQ==";

    private static X509Certificate2 SelfSigned(HashAlgorithmName hash, RSASignaturePadding? padding = null)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, hash, padding ?? RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pfx), null);
    }

    [Theory]
    [InlineData("SHA256", "SHA256")]
    [InlineData("SHA384", "SHA384")]
    [InlineData("SHA512", "SHA512")]
    public void End_point_hash_follows_the_RSA_signature_hash(string signatureHash, string bindingHash)
    {
        using var certificate = SelfSigned(new HashAlgorithmName(signatureHash));

        var binding = TlsChannelBinding.ComputeTlsServerEndPoint(certificate);

        Assert.Equal(CryptographicOperations.HashData(new HashAlgorithmName(bindingHash), certificate.RawData), binding);
    }

    [Theory]
    [InlineData("1.2.840.113549.1.1.5", "SHA1")] // sha1WithRSAEncryption
    [InlineData("1.2.840.113549.1.1.4", "MD5")] // md5WithRSAEncryption
    public void End_point_hash_replaces_MD5_and_SHA1_by_SHA256(string signatureOid, string signatureHash)
    {
        // CertificateRequest refuses these hashes, so the certificate is signed by hand (RFC 5929 §4.1).
        using var key = RSA.Create(2048);
        var generator = new LegacyRsaSignatureGenerator(key, signatureOid, new HashAlgorithmName(signatureHash));
        var request = new CertificateRequest(new X500DistinguishedName("CN=legacy"), generator.PublicKey, HashAlgorithmName.SHA256);
        using var certificate = request.Create(new X500DistinguishedName("CN=legacy"), generator, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(1), [1]);
        Assert.Equal(signatureOid, certificate.SignatureAlgorithm.Value);

        Assert.Equal(SHA256.HashData(certificate.RawData), TlsChannelBinding.ComputeTlsServerEndPoint(certificate));
    }

    [Theory]
    [InlineData("SHA256")]
    [InlineData("SHA384")]
    [InlineData("SHA512")]
    public void End_point_hash_of_RSA_PSS_comes_from_its_parameters(string hash)
    {
        using var certificate = SelfSigned(new HashAlgorithmName(hash), RSASignaturePadding.Pss);
        Assert.Equal("1.2.840.113549.1.1.10", certificate.SignatureAlgorithm.Value);

        Assert.Equal(CryptographicOperations.HashData(new HashAlgorithmName(hash), certificate.RawData), TlsChannelBinding.ComputeTlsServerEndPoint(certificate));
    }

    [Fact]
    public void End_point_hash_of_ECDSA_uses_its_hash()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        using var certificate = new CertificateRequest("CN=ec", key, HashAlgorithmName.SHA384).CreateSelfSigned(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(1));

        Assert.Equal(SHA384.HashData(certificate.RawData), TlsChannelBinding.ComputeTlsServerEndPoint(certificate));
    }

    [Theory]
    [InlineData("SHA256")]
    [InlineData("SHA512")]
    public void End_point_hash_of_ECDSA_follows_its_hash(string hash)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var certificate = new CertificateRequest("CN=ec", key, new HashAlgorithmName(hash)).CreateSelfSigned(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(1));

        Assert.Equal(CryptographicOperations.HashData(new HashAlgorithmName(hash), certificate.RawData), TlsChannelBinding.ComputeTlsServerEndPoint(certificate));
        Assert.Throws<ArgumentNullException>(() => TlsChannelBinding.ComputeTlsServerEndPoint(null!));
    }

    [Fact]
    public void End_point_binding_is_undefined_for_Ed25519()
    {
        using var certificate = X509CertificateLoader.LoadCertificate(Convert.FromBase64String(Ed25519Certificate));

        Assert.Null(TlsChannelBinding.ComputeTlsServerEndPoint(certificate));
    }

    [Fact]
    public async Task TLS_1_2_gives_tls_unique_then_tls_server_end_point()
    {
        using var certificate = SelfSigned(HashAlgorithmName.SHA256);
        await using var pair = await TlsPair.ConnectAsync(certificate, SslProtocols.Tls12);

        var bindings = TlsChannelBinding.Get(pair.Client);

        Assert.Equal([TlsChannelBinding.TlsUnique, TlsChannelBinding.TlsServerEndPoint], bindings.Select(b => b.Type));
        Assert.Equal(12, bindings[0].Data.Length); // TLS 1.2 verify_data

        // The server's view of the same connection is computed from the other side's Finished message.
        Assert.Equal(ServerUnique(pair.Server), bindings[0].Data);
        Assert.Equal(SHA256.HashData(certificate.RawData), bindings[1].Data);

        // The handle is fresh on every call, so asking twice gives the same answer.
        Assert.Equal(bindings[0].Data, TlsChannelBinding.Get(pair.Client)[0].Data);
    }

    [Fact]
    public async Task TLS_1_3_gives_only_tls_server_end_point()
    {
        using var certificate = SelfSigned(HashAlgorithmName.SHA384);
        await using var pair = await TlsPair.ConnectAsync(certificate, SslProtocols.Tls13);

        var binding = Assert.Single(TlsChannelBinding.Get(pair.Client));

        Assert.Equal(TlsChannelBinding.TlsServerEndPoint, binding.Type);
        Assert.Equal(SHA384.HashData(certificate.RawData), binding.Data);
    }

    [Fact]
    public void An_unauthenticated_stream_is_refused()
    {
        using var stream = new SslStream(new MemoryStream());

        Assert.Throws<InvalidOperationException>(() => TlsChannelBinding.Get(stream));
    }

    private static byte[] ServerUnique(SslStream server)
    {
        using var binding = server.TransportContext.GetChannelBinding(ChannelBindingKind.Unique)!;
        var raw = new byte[binding.Size];
        Marshal.Copy(binding.DangerousGetHandle(), raw, 0, raw.Length);
        return raw[(32 + "tls-unique:".Length)..];
    }

    private sealed class LegacyRsaSignatureGenerator(RSA key, string oid, HashAlgorithmName hash) : X509SignatureGenerator
    {
        public new PublicKey PublicKey { get; } = CreateForRSA(key, RSASignaturePadding.Pkcs1).PublicKey;

        public override byte[] GetSignatureAlgorithmIdentifier(HashAlgorithmName hashAlgorithm)
        {
            var writer = new System.Formats.Asn1.AsnWriter(System.Formats.Asn1.AsnEncodingRules.DER);
            using (writer.PushSequence())
            {
                writer.WriteObjectIdentifier(oid);
                writer.WriteNull();
            }

            return writer.Encode();
        }

        public override byte[] SignData(byte[] data, HashAlgorithmName hashAlgorithm) => key.SignData(data, hash, RSASignaturePadding.Pkcs1);

        protected override PublicKey BuildPublicKey() => PublicKey;
    }

    private sealed class TlsPair : IAsyncDisposable
    {
        private readonly TcpClient _clientSocket;
        private readonly TcpClient _serverSocket;

        private TlsPair(TcpClient clientSocket, TcpClient serverSocket, SslStream client, SslStream server)
        {
            _clientSocket = clientSocket;
            _serverSocket = serverSocket;
            Client = client;
            Server = server;
        }

        public SslStream Client { get; }

        public SslStream Server { get; }

        public static async Task<TlsPair> ConnectAsync(X509Certificate2 certificate, SslProtocols protocol)
        {
            using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            try
            {
                var accept = listener.AcceptTcpClientAsync(cancel.Token).AsTask();
                var clientSocket = new TcpClient();
                await clientSocket.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port, cancel.Token);
                var serverSocket = await accept;
                var server = new SslStream(serverSocket.GetStream());
                var client = new SslStream(clientSocket.GetStream());
                await Task.WhenAll(
                    server.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = certificate, EnabledSslProtocols = protocol }, cancel.Token),
                    client.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                    {
                        TargetHost = "localhost",
                        EnabledSslProtocols = protocol,
                        RemoteCertificateValidationCallback = (_, presented, _, _) => presented is not null && presented.GetCertHashString() == certificate.GetCertHashString(),
                    }, cancel.Token));
                return new TlsPair(clientSocket, serverSocket, client, server);
            }
            finally
            {
                listener.Stop();
            }
        }

        public async ValueTask DisposeAsync()
        {
            await Client.DisposeAsync();
            await Server.DisposeAsync();
            _clientSocket.Dispose();
            _serverSocket.Dispose();
        }
    }
}
