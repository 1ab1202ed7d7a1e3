using Parley.Xmpp;
using Parley.Xmpp.Core;

namespace Parley.Cli;

/// <summary>The connection settings every command shares, read from the command line, the environment and the password source.</summary>
internal sealed record ConnectionArguments(
    Jid? Jid,
    string? Password,
    ServerAddress? Server,
    IReadOnlyList<string> TrustedCertificates,
    bool DirectTls,
    bool Verbose,
    bool Trace)
{
    /// <summary>The client options for these settings; no automatic reconnect.</summary>
    /// <exception cref="UsageException">The account or the password is missing, or a fingerprint is malformed.</exception>
    public XmppClientOptions ToClientOptions()
    {
        if (Jid is null)
        {
            throw new UsageException($"--jid is required (or set {ConnectionOptions.JidVariable}).");
        }

        if (Password is null)
        {
            throw new UsageException($"a password is required: {PasswordSource.Choices}.");
        }

        var options = new XmppClientOptions
        {
            Jid = Jid,
            Password = Password,
            Host = Server?.Host,
            Port = Server?.Port,
            Tls = DirectTls ? TlsMode.DirectTls : TlsMode.StartTlsRequired,
            Reconnect = ReconnectPolicy.Disabled,
        };
        foreach (var fingerprint in TrustedCertificates)
        {
            try
            {
                options.TrustCertificate(fingerprint);
            }
            catch (FormatException ex)
            {
                throw new UsageException($"--trust-cert: {ex.Message}");
            }
        }

        return options;
    }
}

/// <summary>A host and an optional port from <c>--server</c>.</summary>
internal sealed record ServerAddress(string Host, int? Port);

/// <summary>A command-line mistake found after parsing: printed as one line with the usage hint, exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
