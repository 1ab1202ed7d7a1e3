// TEMPORARY: compile shims for pieces being written in parallel (SASL selector, TLS channel binding, SRV).
// This file is deleted when those branches merge. Nothing here is used at run time by tests.
namespace Parley.Xmpp.Sasl
{
    internal static class SaslSelector
    {
        public static SaslMechanism Select(IReadOnlyCollection<string> offered, SaslCredentials credentials, bool allowPlainWithoutTls)
            => throw new NotImplementedException("SASL is being merged.");
    }

    internal static class TlsChannelBinding
    {
        public static IReadOnlyList<ChannelBinding> Get(System.Net.Security.SslStream stream) => [];
    }
}

namespace Parley.Xmpp.Net
{
    internal sealed class SrvLookupException(string message) : Exception(message);

    internal sealed class SrvResolver
    {
        public Task<(bool DecidedlyNotAvailable, IReadOnlyList<SrvRecord> Records)> ResolveAsync(string service, string domain, CancellationToken cancellationToken)
            => throw new SrvLookupException("SRV is being merged.");
    }
}
