using System.Globalization;
using Parley.Xmpp;
using Parley.Xmpp.Core;

namespace Parley.Cli;

/// <summary>The connection options every command shares, parsed from the command line and the environment.</summary>
internal sealed class ConnectionArguments
{
    public const string PasswordVariable = "PARLEY_PASSWORD";

    public Jid? Jid { get; private set; }

    public string? Password { get; private set; }

    public string? Host { get; private set; }

    public int? Port { get; private set; }

    public List<string> TrustedCertificates { get; } = [];

    public bool DirectTls { get; private set; }

    public bool Verbose { get; private set; }

    public bool Trace { get; private set; }

    /// <summary>Takes the connection options out of <paramref name="args"/>; returns the remaining (positional) arguments.</summary>
    /// <exception cref="UsageException">An option is malformed or lacks its value.</exception>
    public static (ConnectionArguments Options, List<string> Positional) Parse(IReadOnlyList<string> args, Func<string, string?> environment)
    {
        var options = new ConnectionArguments();
        var rest = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            string Value()
            {
                if (i + 1 >= args.Count)
                {
                    throw new UsageException($"{arg} needs a value.");
                }

                return args[++i];
            }

            switch (arg)
            {
                case "--jid":
                    var jid = Value();
                    options.Jid = Xmpp.Core.Jid.TryParse(jid, out var parsed) && parsed.Local is not null
                        ? parsed
                        : throw new UsageException($"--jid '{jid}' is not an account address (user@domain[/resource]).");
                    break;
                case "--password":
                    options.Password = Value();
                    break;
                case "--server":
                    (options.Host, options.Port) = ParseServer(Value());
                    break;
                case "--trust-cert":
                    options.TrustedCertificates.Add(Value());
                    break;
                case "--direct-tls":
                    options.DirectTls = true;
                    break;
                case "-v" or "--verbose":
                    options.Verbose = true;
                    break;
                case "--trace":
                    options.Trace = true;
                    break;
                case "--":
                    rest.AddRange(args.Skip(i + 1));
                    i = args.Count;
                    break;
                default:
                    rest.Add(arg);
                    break;
            }
        }

        options.Password ??= environment(PasswordVariable);
        options.Jid ??= Xmpp.Core.Jid.TryParse(environment("PARLEY_JID"), out var fromEnvironment) ? fromEnvironment : null;
        return (options, rest);
    }

    private static (string Host, int? Port) ParseServer(string value)
    {
        // host, host:port, [v6]:port
        if (value.StartsWith('['))
        {
            var close = value.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                throw new UsageException($"--server '{value}': missing ']'.");
            }

            var host = value[1..close];
            var portText = value[(close + 1)..].TrimStart(':');
            return (host, portText.Length == 0 ? null : ParsePort(portText, value));
        }

        var colon = value.LastIndexOf(':');
        return colon < 0 ? (value, null) : (value[..colon], ParsePort(value[(colon + 1)..], value));
    }

    private static int ParsePort(string text, string whole) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and < 65536
            ? port
            : throw new UsageException($"--server '{whole}': '{text}' is not a port (1-65535).");

    public XmppClientOptions ToClientOptions()
    {
        if (Jid is null)
        {
            throw new UsageException("--jid is required (or set PARLEY_JID).");
        }

        if (Password is null)
        {
            throw new UsageException($"--password is required (or set {PasswordVariable}).");
        }

        var options = new XmppClientOptions
        {
            Jid = Jid,
            Password = Password,
            Host = Host,
            Port = Port,
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

/// <summary>A command-line mistake: printed as one line with the usage hint, exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
