using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Parley.Xmpp.Core;

namespace Parley.Cli;

/// <summary>The options every command takes to reach the account; defined once on the root command and inherited by each command.</summary>
internal sealed class ConnectionOptions
{
    public const string JidVariable = "PARLEY_JID";

    public Option<Jid> Account { get; } = new("--jid")
    {
        Description = $"The account; a full JID keeps its resource. Default: ${JidVariable}.",
        HelpName = "user@domain[/resource]",
        CustomParser = ParseAccount,
        Recursive = true,
    };

    public PasswordSource Password { get; } = new();

    public Option<ServerAddress> Server { get; } = new("--server")
    {
        Description = "Connect here instead of the domain's SRV records.",
        HelpName = "host[:port]",
        CustomParser = ParseServer,
        Recursive = true,
    };

    public Option<string[]> TrustCertificates { get; } = new("--trust-cert")
    {
        Description = "Trust the server certificate with this SHA-256 (hex, colons optional); may be repeated.",
        HelpName = "sha256",
        Arity = ArgumentArity.OneOrMore,
        Recursive = true,
    };

    public Option<bool> DirectTls { get; } = new("--direct-tls")
    {
        Description = "TLS from the first byte (XEP-0368) instead of STARTTLS.",
        Recursive = true,
    };

    public Option<bool> Verbose { get; } = new("--verbose", "-v")
    {
        Description = "Log connection events.",
        Recursive = true,
    };

    public Option<bool> Trace { get; } = new("--trace")
    {
        Description = "Log the XML sent and received (passwords redacted).",
        Recursive = true,
    };

    public void AddTo(Command root)
    {
        root.Add(Account);
        Password.AddTo(root);
        root.Add(Server);
        root.Add(TrustCertificates);
        root.Add(DirectTls);
        root.Add(Verbose);
        root.Add(Trace);
    }

    /// <summary>The settings given on the command line, with the account and password from the environment where not given.</summary>
    /// <exception cref="UsageException">Two password sources, or a password file or standard input that holds no usable password.</exception>
    public async Task<ConnectionArguments> ReadAsync(ParseResult result, CliConsole console, CancellationToken cancellationToken)
    {
        var jid = result.GetValue(Account);
        if (jid is null && Jid.TryParse(console.Environment(JidVariable), out var fromEnvironment) && fromEnvironment.Local is not null)
        {
            jid = fromEnvironment;
        }

        var password = await Password.ReadAsync(result, console, cancellationToken).ConfigureAwait(false);
        return new ConnectionArguments(
            jid,
            password,
            result.GetValue(Server),
            result.GetValue(TrustCertificates) ?? [],
            result.GetValue(DirectTls),
            result.GetValue(Verbose),
            result.GetValue(Trace));
    }

    private static Jid? ParseAccount(ArgumentResult result)
    {
        var text = result.Tokens[0].Value;
        if (Jid.TryParse(text, out var jid) && jid.Local is not null)
        {
            return jid;
        }

        result.AddError($"--jid '{text}' is not an account address (user@domain[/resource]).");
        return null;
    }

    private static ServerAddress? ParseServer(ArgumentResult result)
    {
        // host, host:port, [v6]:port
        var value = result.Tokens[0].Value;
        string host;
        string? portText;
        if (value.StartsWith('['))
        {
            var close = value.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                result.AddError($"--server '{value}': missing ']'.");
                return null;
            }

            host = value[1..close];
            var after = value[(close + 1)..];
            if (after.Length > 0 && after[0] != ':')
            {
                result.AddError($"--server '{value}': expected ':' and a port after ']'.");
                return null;
            }

            portText = after.Length == 0 ? null : after[1..];
        }
        else
        {
            var colon = value.LastIndexOf(':');
            (host, portText) = colon < 0 ? (value, null) : (value[..colon], value[(colon + 1)..]);
        }

        if (host.Length is 0 or > 253)
        {
            result.AddError($"--server '{value}': the host must be 1 to 253 characters.");
            return null;
        }

        if (portText is null)
        {
            return new ServerAddress(host, null);
        }

        if (int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and < 65536)
        {
            return new ServerAddress(host, port);
        }

        result.AddError($"--server '{value}': '{portText}' is not a port (1-65535).");
        return null;
    }
}
