using System.Security.Cryptography;
using Parley.Xmpp.Core;

namespace Parley.Xmpp.Sasl;

/// <summary>
/// Picks the strongest mechanism both sides support: SCRAM-SHA-256-PLUS, SCRAM-SHA-1-PLUS, SCRAM-SHA-256,
/// SCRAM-SHA-1, then PLAIN (only over TLS, or when the caller allows it without).
/// </summary>
internal static class SaslSelector
{
    // RFC 4422 §3.1: mechanism names are at most 20 characters. Servers offer a handful; more is hostile.
    private const int MaxMechanismNameLength = 20;
    private const int MaxOffered = 64;

    // RFC 5802 §6 / RFC 6120: without XEP-0440, -PLUS means tls-unique.
    private static readonly string[] DefaultServerBindingTypes = [TlsChannelBinding.TlsUnique];

    /// <summary>Chooses and creates the mechanism.</summary>
    /// <param name="offered">The mechanism names in the server's &lt;mechanisms/&gt;.</param>
    /// <param name="credentials">The credentials, TLS state and channel bindings.</param>
    /// <param name="allowPlainWithoutTls">Whether PLAIN may run on an unencrypted stream.</param>
    /// <returns>A fresh, unstarted mechanism.</returns>
    /// <exception cref="XmppAuthenticationException">No offered mechanism is acceptable (<c>mechanism-too-weak</c>); the message lists the offer.</exception>
    /// <exception cref="ArgumentException">The credentials are unusable (empty, or the password fails SASLprep).</exception>
    public static SaslMechanism Select(IReadOnlyCollection<string> offered, SaslCredentials credentials, bool allowPlainWithoutTls)
    {
        ArgumentNullException.ThrowIfNull(offered);
        ArgumentNullException.ThrowIfNull(credentials);

        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in offered.Take(MaxOffered))
        {
            var trimmed = name.Trim();
            if (trimmed.Length is > 0 and <= MaxMechanismNameLength)
            {
                names.Add(trimmed.ToUpperInvariant());
            }
        }

        var serverOffersPlus = names.Any(n => n.EndsWith("-PLUS", StringComparison.Ordinal));
        var binding = serverOffersPlus ? ChooseBinding(credentials) : null;

        if (binding is not null)
        {
            if (names.Contains("SCRAM-SHA-256-PLUS"))
            {
                return new ScramMechanism(HashAlgorithmName.SHA256, credentials, binding, serverOffersPlus);
            }

            if (names.Contains("SCRAM-SHA-1-PLUS"))
            {
                return new ScramMechanism(HashAlgorithmName.SHA1, credentials, binding, serverOffersPlus);
            }
        }

        if (names.Contains("SCRAM-SHA-256"))
        {
            return new ScramMechanism(HashAlgorithmName.SHA256, credentials, null, serverOffersPlus);
        }

        if (names.Contains("SCRAM-SHA-1"))
        {
            return new ScramMechanism(HashAlgorithmName.SHA1, credentials, null, serverOffersPlus);
        }

        if (names.Contains("PLAIN") && (credentials.IsEncrypted || allowPlainWithoutTls))
        {
            return new PlainMechanism(credentials, allowPlainWithoutTls);
        }

        var list = names.Count == 0 ? "nothing" : string.Join(", ", names.Order(StringComparer.Ordinal));
        var why = names.Contains("PLAIN") ? " PLAIN is refused because the stream is not encrypted." : string.Empty;
        throw new XmppAuthenticationException("mechanism-too-weak",
            $"No acceptable SASL mechanism: the server offered {list}; Parley supports SCRAM-SHA-256(-PLUS), SCRAM-SHA-1(-PLUS) and PLAIN.{why}");
    }

    /// <summary>The first binding we can produce that the server supports (its XEP-0440 list, or tls-unique without one).</summary>
    internal static ChannelBinding? ChooseBinding(SaslCredentials credentials)
    {
        var serverTypes = credentials.ServerChannelBindingTypes.Count > 0 ? credentials.ServerChannelBindingTypes : DefaultServerBindingTypes;
        return credentials.ChannelBindings.FirstOrDefault(b => serverTypes.Contains(b.Type, StringComparer.Ordinal));
    }
}
