using Parley.Testing;

namespace Parley.Xmpp.Tests.Client;

/// <summary>Client options for a test account on a harness server: loopback host, the server's pinned certificate.</summary>
internal static class ClientOptions
{
    public static XmppClientOptions For(XmppTestServer server, TestAccount account, string? resource = null)
    {
        var jid = account.Jid;
        var options = new XmppClientOptions
        {
            Jid = resource is null ? jid : jid.WithResource(resource),
            Password = account.Password,
            Host = server.Host,
            Port = server.ClientPort,
            Reconnect = ReconnectPolicy.Disabled,
            KeepAliveInterval = TimeSpan.Zero,
        };
        options.TrustCertificate(server.CertificateSha256);
        return options;
    }
}
