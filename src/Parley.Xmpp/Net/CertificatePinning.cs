using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Parley.Xmpp.Net;

/// <summary>Certificate checks: the system trust store, plus fingerprints the user chose to trust.</summary>
internal static class CertificatePinning
{
    /// <summary>Lower-case hex SHA-256 of a certificate's DER bytes.</summary>
    public static string Sha256Of(X509Certificate certificate) => Convert.ToHexStringLower(SHA256.HashData(certificate.GetRawCertData()));

    /// <summary>Turns "AB:CD:…" or "abcd…" into lower-case hex without separators.</summary>
    /// <exception cref="FormatException">Not 64 hex digits.</exception>
    public static string NormalizeFingerprint(string fingerprint)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        var hex = fingerprint.Replace(":", string.Empty, StringComparison.Ordinal).Replace(" ", string.Empty, StringComparison.Ordinal).ToLowerInvariant();
        if (hex.Length != 64 || !hex.All(Uri.IsHexDigit))
        {
            throw new FormatException($"'{fingerprint}' is not a SHA-256 fingerprint (64 hex digits, colons optional).");
        }

        return hex;
    }

    public static bool IsTrusted(X509Certificate? certificate, SslPolicyErrors errors, IEnumerable<string> pinned)
    {
        if (certificate is null)
        {
            return false;
        }

        if (errors == SslPolicyErrors.None)
        {
            return true;
        }

        var actual = Sha256Of(certificate);
        foreach (var pin in pinned)
        {
            if (CryptographicOperations.FixedTimeEquals(System.Text.Encoding.ASCII.GetBytes(pin), System.Text.Encoding.ASCII.GetBytes(actual)))
            {
                return true;
            }
        }

        return false;
    }
}
