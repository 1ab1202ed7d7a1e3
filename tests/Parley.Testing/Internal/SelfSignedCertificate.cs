using System.Security.Cryptography;

namespace Parley.Testing.Internal;

/// <summary>A self-signed server certificate made with openssl: P-256 key, valid for the domain, its subdomains, localhost and 127.0.0.1.</summary>
internal sealed record SelfSignedCertificate(string CertificatePath, string KeyPath, string Sha256)
{
    /// <summary>Generates <c>cert.pem</c> and <c>key.pem</c> in <paramref name="directory"/>.</summary>
    /// <exception cref="XmppTestServerException">openssl failed.</exception>
    public static async Task<SelfSignedCertificate> CreateAsync(string directory, string domain, CancellationToken cancellationToken)
    {
        var certificatePath = Path.Combine(directory, "cert.pem");
        var keyPath = Path.Combine(directory, "key.pem");
        var spec = new LaunchSpec("openssl",
        [
            "req", "-x509", "-nodes", "-days", "3650",
            "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-keyout", keyPath, "-out", certificatePath,
            "-subj", $"/CN={domain}",
            "-addext", $"subjectAltName=DNS:{domain},DNS:*.{domain},DNS:localhost,IP:127.0.0.1",
        ]);
        await CommandRunner.RunCheckedAsync(spec, TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);

        var der = ReadDer(await File.ReadAllTextAsync(certificatePath, cancellationToken).ConfigureAwait(false));
        return new SelfSignedCertificate(certificatePath, keyPath, Convert.ToHexStringLower(SHA256.HashData(der)));
    }

    /// <summary>The DER bytes of the first CERTIFICATE block of a PEM text.</summary>
    /// <exception cref="XmppTestServerException">There is no certificate in it.</exception>
    public static byte[] ReadDer(string pem)
    {
        var remaining = pem.AsSpan();
        while (PemEncoding.TryFind(remaining, out var fields))
        {
            if (remaining[fields.Label].SequenceEqual("CERTIFICATE"))
            {
                return Convert.FromBase64String(remaining[fields.Base64Data].ToString());
            }

            remaining = remaining[fields.Location.End..];
        }

        throw new XmppTestServerException("The PEM text holds no CERTIFICATE block.");
    }
}
