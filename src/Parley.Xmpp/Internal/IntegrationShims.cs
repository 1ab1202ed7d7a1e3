// TEMPORARY: compile shims for the SASL selector and TLS channel binding, written in parallel.
// This file is deleted when that branch merges.
namespace Parley.Xmpp.Sasl;

internal static class SaslSelector
{
    public static SaslMechanism Select(IReadOnlyCollection<string> offered, SaslCredentials credentials, bool allowPlainWithoutTls)
        => throw new NotSupportedException("SASL is being merged.");
}

internal static class TlsChannelBinding
{
    public static IReadOnlyList<ChannelBinding> Get(System.Net.Security.SslStream stream) => [];
}
