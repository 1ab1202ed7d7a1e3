using Parley.Xmpp.Core;
using Parley.Xmpp.Forms;

namespace Parley.Xmpp.Accounts;

/// <summary>
/// The settings of an in-band registration (XEP-0077): the server to connect to (as for a client: host/port override,
/// TLS mode, trusted fingerprints, timeouts), the account to create and any extra fields the server asks for.
/// </summary>
/// <remarks>
/// Connecting and securing the stream must finish within <see cref="XmppConnectionOptions.NegotiationTimeout"/>, each of the
/// two requests within <see cref="XmppConnectionOptions.DefaultIqTimeout"/>; <see cref="FillForm"/> runs outside those limits.
/// Reconnect, keep-alive and inbound-queue settings of the base class do not apply: registration is one short exchange.
/// </remarks>
public sealed class XmppRegistrationOptions : XmppConnectionOptions
{
    /// <summary>The longest password accepted, in characters.</summary>
    public const int MaxPasswordLength = 1024;

    /// <summary>The most extra fields accepted in <see cref="Fields"/>.</summary>
    public const int MaxExtraFields = 64;

    /// <summary>The server's domain, e.g. <c>example.org</c>.</summary>
    public required string Domain { get; set; }

    /// <summary>The username (the local part of the new JID).</summary>
    public required string Username { get; set; }

    /// <summary>The password of the new account. Never logged.</summary>
    public required string Password { get; set; }

    /// <summary>
    /// Extra values by field name (<c>email</c>, <c>nick</c>…): used for the legacy fields of the same name and for the
    /// data form's fields (<c>var</c>) when the server sends a form.
    /// </summary>
    public IDictionary<string, string> Fields { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>
    /// Called with the submission before it is sent, already filled with username, password and <see cref="Fields"/>: set
    /// what else the server asks for (a CAPTCHA answer, terms accepted…). The server's fields arrive as a data form even
    /// when it only sent legacy fields (their FORM_TYPE is <c>jabber:iq:register</c> then, every field required).
    /// </summary>
    public Func<DataForm, CancellationToken, ValueTask>? FillForm { get; set; }

    /// <summary>Send the password even when the stream is not encrypted (<see cref="TlsMode.None"/> on loopback tests). Default off.</summary>
    public bool AllowPasswordWithoutTls { get; set; }

    internal override void Validate()
    {
        base.Validate();
        ArgumentException.ThrowIfNullOrEmpty(Domain, nameof(Domain));
        ArgumentException.ThrowIfNullOrEmpty(Username, nameof(Username));
        ArgumentException.ThrowIfNullOrEmpty(Password, nameof(Password));
        if (Password.Length > MaxPasswordLength)
        {
            throw new ArgumentException($"The password is longer than {MaxPasswordLength} characters.", nameof(Password));
        }

        try
        {
            _ = Jid.Create(Username, Domain);
        }
        catch (FormatException ex)
        {
            throw new ArgumentException($"'{Username}@{Domain}' is not a valid account address: {ex.Message}", nameof(Username), ex);
        }

        if (Fields.Count > MaxExtraFields)
        {
            throw new ArgumentException($"More than {MaxExtraFields} extra fields.", nameof(Fields));
        }
    }
}
